/// The teardown facts of one capture: the stable JSON form of `teardown inspect --json`.
///
/// The field names and meanings are documented in `docs/inspect-json.md`; a change that is not
/// an addition raises `format`.
public struct CaptureFacts: Codable, Sendable, Equatable {
    public static let currentFormat = "teardown-inspect/1"

    public var format = CaptureFacts.currentFormat
    /// The capture's link-layer header type (libpcap's name: EN10MB, LINUX_SLL2, ...).
    public var linkType: String
    /// Packets read from the capture.
    public var packets: Int
    /// Packets decoded as TCP segments.
    public var tcpSegments: Int
    /// Packets that were not used, grouped by reason.
    public var skipped: [SkippedPackets]
    /// The time of the first packet, in seconds since the Unix epoch; every other time is relative to it.
    public var captureStart: Double
    /// Set when the capture ended early (a truncated file): the facts cover the packets before it.
    public var truncated: String?
    public var connections: [ConnectionFacts]

    public init(
        linkType: String, packets: Int, tcpSegments: Int, skipped: [SkippedPackets], captureStart: Double, truncated: String? = nil,
        connections: [ConnectionFacts]
    ) {
        self.linkType = linkType
        self.packets = packets
        self.tcpSegments = tcpSegments
        self.skipped = skipped
        self.captureStart = captureStart
        self.truncated = truncated
        self.connections = connections
    }
}

/// Packets skipped for one reason.
public struct SkippedPackets: Codable, Sendable, Equatable {
    public var reason: String
    public var count: Int
    /// The 1-based number of the first such packet in the capture.
    public var firstPacket: Int
}

/// One TCP connection: a 4-tuple from its handshake (or its first segment) to its last segment.
public struct ConnectionFacts: Codable, Sendable, Equatable {
    /// 0-based, in the order the connections' first segments appear.
    public var index: Int
    public var family: Endpoint.Family
    /// The endpoint that sent the SYN; when no handshake was captured, the first segment's sender.
    public var client: String
    public var server: String
    /// Whether the capture holds the SYN and the SYN-ACK. Without them "client" and "server" are guesses
    /// and sequence numbers are relative to the first segment seen (its first byte is 1).
    public var handshake: Bool
    public var firstPacket: Int
    public var lastPacket: Int
    public var start: Double
    public var end: Double
    /// Whichever of FIN and RST appeared first in either direction; nil while the connection is open.
    public var firstClose: CloseEvent?
    /// Two entries: the client's direction (client to server), then the server's.
    public var directions: [DirectionFacts]
    public var anomalies: [Anomaly]

    /// The facts of the direction sent by `side` ("client" or "server").
    public func direction(_ side: Side) -> DirectionFacts { directions[side == .client ? 0 : 1] }
}

/// Which end of a connection.
public enum Side: String, Codable, Sendable, CustomStringConvertible {
    case client, server

    public var other: Side { self == .client ? .server : .client }
    public var description: String { rawValue }
}

/// The first FIN or RST of a connection.
public struct CloseEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case fin = "FIN", rst = "RST" }

    public var by: Side
    public var kind: Kind
    /// Its relative sequence number (the sender's first data byte is 1).
    public var sequence: Int64
    /// The data bytes the closing side sent in the whole capture.
    public var bytesSent: Int64
    public var packet: Int
    public var time: Double
}

/// What one side sent.
public struct DirectionFacts: Codable, Sendable, Equatable {
    public var side: Side
    public var from: String
    public var to: String
    /// Segments captured in this direction, duplicates excluded.
    public var segments: Int
    /// The highest data sequence number seen: data bytes 1...bytesSent were sent, some perhaps more than once.
    public var bytesSent: Int64
    /// Bytes seen in order without a gap from byte 1: what the receiver could have delivered.
    public var bytesInOrder: Int64
    /// Data bytes the other side acknowledged (its highest ACK, less the SYN and FIN it covers).
    public var bytesAcknowledged: Int64
    /// Segments that re-sent data, a SYN or a FIN already sent; their bytes are counted once.
    public var retransmissions: Int
    /// Segments captured twice (identical headers, same IP identification).
    public var duplicates: Int
    public var firstData: Double?
    public var lastData: Double?
    public var fin: FinFacts?
    public var resets: [ResetFacts]
    /// Data bytes at or past the FIN's sequence number, sent after the FIN: data the FIN should have followed.
    public var dataAfterFin: Int64
}

/// A side's FIN.
public struct FinFacts: Codable, Sendable, Equatable {
    /// Its relative sequence number: bytesSent + 1 when it follows every data byte.
    public var sequence: Int64
    /// Whether it sits right after the last data byte sent and every byte before it was seen.
    public var followsAllData: Bool
    /// Whether it rode on a segment that also carried data (FIN+PSH on loopback).
    public var onData: Bool
    /// Further segments carrying the same FIN.
    public var retransmissions: Int
    public var packet: Int
    public var time: Double
    /// Whether the other side acknowledged it.
    public var acknowledged: Bool

    public init(
        sequence: Int64, followsAllData: Bool, onData: Bool, retransmissions: Int, packet: Int, time: Double, acknowledged: Bool = false
    ) {
        self.sequence = sequence
        self.followsAllData = followsAllData
        self.onData = onData
        self.retransmissions = retransmissions
        self.packet = packet
        self.time = time
        self.acknowledged = acknowledged
    }
}

/// An RST a side sent.
public struct ResetFacts: Codable, Sendable, Equatable {
    public var sequence: Int64
    /// Whether the ACK flag was set; `acknowledgement` is then relative to the other side's numbers.
    public var ack: Bool
    public var acknowledgement: Int64?
    /// Whether this side had sent a FIN before the RST.
    public var afterOwnFin: Bool
    /// Whether the other side had sent a FIN before the RST.
    public var afterPeerFin: Bool
    /// Data this side had sent and the other had not acknowledged when the RST went out.
    public var unacknowledgedBytes: Int64
    /// Data the other side had sent and this side had not acknowledged.
    public var peerUnacknowledgedBytes: Int64
    public var packet: Int
    public var time: Double
}

/// Something unusual about a connection's ending.
public struct Anomaly: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Neither SYN nor SYN-ACK, or only one of them, is in the capture.
        case noHandshake
        /// A side sent new data after its FIN.
        case dataAfterFin
        /// A side's FIN is not after all the data it sent.
        case finBeforeAllData
        /// Bytes before a side's FIN never appeared in the capture.
        case gapBeforeFin
        /// An RST went out while data was unacknowledged in either direction.
        case resetWithDataInFlight
        /// A second FIN at a different sequence number.
        case conflictingFin
    }

    public var kind: Kind
    public var side: Side?
    public var detail: String

    public init(kind: Kind, side: Side?, detail: String) {
        self.kind = kind
        self.side = side
        self.detail = detail
    }
}
