/// What one direction of a connection has sent so far, in relative sequence numbers.
struct DirectionState {
    let from: Endpoint
    let to: Endpoint
    /// The raw sequence number that is relative 0 (the SYN, or one before the first byte seen).
    private(set) var base: UInt32?
    private var lastRaw: UInt32 = 0
    private var lastRelative: Int64 = 0

    var synSequence: UInt32?
    var segments = 0
    var retransmissions = 0
    var duplicates = 0
    /// Exclusive end of the in-order data: bytes 1..<nextInOrder were all seen.
    var nextInOrder: Int64 = 1
    /// Data seen beyond a gap, sorted and disjoint, each starting after nextInOrder.
    var beyondGap = DisjointRanges()
    /// Exclusive end of the highest data seen.
    var highestEnd: Int64 = 1
    /// The other side's highest ACK, relative to this direction's numbers.
    var acknowledged: Int64?
    var firstData: Int64?
    var lastData: Int64?
    var fin: FinFacts?
    var finTime: Int64 = 0
    var resets: [ResetFacts] = []
    var resetTimes: [Int64] = []
    var dataAfterFin: Int64 = 0
    var conflictingFin: Int64?
    private var lastSignature: (UInt32, UInt32, UInt8, Int, UInt16, UInt16)?

    init(from: Endpoint, to: Endpoint) {
        self.from = from
        self.to = to
    }

    /// The relative number of `raw`, unwrapping across 2^32 around the highest number seen.
    func relative(_ raw: UInt32) -> Int64 {
        lastRelative + Int64(Int32(bitPattern: raw &- lastRaw))
    }

    mutating func establishBase(_ raw: UInt32) {
        base = raw
        lastRaw = raw
        lastRelative = 0
    }

    mutating func advance(_ raw: UInt32) -> Int64 {
        let value = relative(raw)
        if value > lastRelative { (lastRaw, lastRelative) = (raw, value) }
        return value
    }

    /// Whether the segment is an exact copy of the previous one in this direction (captured twice).
    mutating func isDuplicate(_ segment: TCPSegment) -> Bool {
        let signature = (
            segment.sequence, segment.acknowledgement, segment.flags.rawValue, segment.payloadLength, segment.window,
            segment.ipIdentification
        )
        defer { lastSignature = signature }
        guard let last = lastSignature else { return false }
        return last == signature
    }

    /// Records data bytes [start, end); returns how many of them had not been seen before.
    mutating func record(_ start: Int64, _ end: Int64) -> Int64 {
        guard end > start else { return 0 }
        var before: Int64
        if start <= nextInOrder {
            before = max(0, min(end, nextInOrder) - start)
            nextInOrder = max(nextInOrder, end)
            // Ranges beyond the old gap that the in-order data now reaches join it; what of them lay inside
            // [start, end) was seen before.
            while let first = beyondGap.removeFirst(startingAtOrBelow: nextInOrder) {
                before += max(0, min(end, first.upperBound) - max(start, first.lowerBound))
                nextInOrder = max(nextInOrder, first.upperBound)
            }
        } else {
            before = beyondGap.insert(start..<end)
        }
        highestEnd = max(highestEnd, end)
        return (end - start) - before
    }

    /// Data bytes sent and not acknowledged by the other side.
    var unacknowledged: Int64 { max(0, highestEnd - max(acknowledged ?? 1, 1)) }

    var bytesSent: Int64 { highestEnd - 1 }
    var bytesInOrder: Int64 { nextInOrder - 1 }
}

/// A connection being followed: its two directions, indexed 0 for the client's.
struct ConnectionState {
    /// The client's direction and the server's: stored apart, so that a segment updates its own in place.
    var client: DirectionState
    var server: DirectionState
    var directions: [DirectionState] { [client, server] }
    var handshakeSyn = false
    var handshakeSynAck = false
    /// Whether the roles come from a SYN or SYN-ACK rather than from who spoke first.
    var rolesKnown: Bool
    var firstPacket: Int
    var lastPacket: Int
    var start: Int64
    var end: Int64
    var closeEvents: [(packet: Int, time: Int64, side: Int, kind: CloseEvent.Kind, sequence: Int64)] = []

    init(first segment: TCPSegment, packet: Int, time: Int64) {
        // A lone SYN-ACK means its sender is the server.
        let fromServer = segment.flags.contains(.syn) && segment.flags.contains(.ack)
        let client = fromServer ? segment.destination : segment.source
        let server = fromServer ? segment.source : segment.destination
        self.client = DirectionState(from: client, to: server)
        self.server = DirectionState(from: server, to: client)
        rolesKnown = segment.flags.contains(.syn)
        firstPacket = packet
        lastPacket = packet
        start = time
        end = time
    }

    var isFinished: Bool {
        !closeEvents.isEmpty && (closeEvents.contains { $0.kind == .rst } || (client.fin != nil && server.fin != nil))
    }

    /// Follows one segment; returns what it was in relative terms, or nil for an exact duplicate.
    @discardableResult
    mutating func add(_ segment: TCPSegment, packet: Int, time: Int64) -> SegmentNote? {
        let index = segment.source == client.from ? 0 : 1
        lastPacket = packet
        end = time
        return index == 0
            ? Self.follow(
                segment, packet: packet, time: time, index: 0, this: &client, peer: &server, handshakeSyn: &handshakeSyn,
                handshakeSynAck: &handshakeSynAck, closeEvents: &closeEvents)
            : Self.follow(
                segment, packet: packet, time: time, index: 1, this: &server, peer: &client, handshakeSyn: &handshakeSyn,
                handshakeSynAck: &handshakeSynAck, closeEvents: &closeEvents)
    }

    /// Follows one segment of direction `index` (`this`), the other being `peer`: both updated in place.
    private static func follow(
        _ segment: TCPSegment, packet: Int, time: Int64, index: Int, this: inout DirectionState, peer: inout DirectionState,
        handshakeSyn: inout Bool, handshakeSynAck: inout Bool,
        closeEvents: inout [(packet: Int, time: Int64, side: Int, kind: CloseEvent.Kind, sequence: Int64)]
    ) -> SegmentNote? {
        if this.isDuplicate(segment) {
            this.duplicates += 1
            return nil
        }
        this.segments += 1
        let flags = segment.flags
        if this.base == nil {
            this.establishBase(flags.contains(.syn) ? segment.sequence : segment.sequence &- 1)
        }
        var retransmitted = false
        if flags.contains(.syn) {
            if flags.contains(.ack) { handshakeSynAck = true } else { handshakeSyn = true }
            if this.synSequence == segment.sequence { retransmitted = true }
            this.synSequence = segment.sequence
        }
        let sequence = this.advance(segment.sequence)
        let dataStart = sequence + (flags.contains(.syn) ? 1 : 0)
        let dataEnd = dataStart + Int64(segment.payloadLength)
        var acknowledges: Int64?
        if flags.contains(.ack), peer.base != nil {
            let acknowledgement = peer.relative(segment.acknowledgement)
            acknowledges = acknowledgement
            peer.acknowledged = max(peer.acknowledged ?? acknowledgement, acknowledgement)
        }
        if segment.payloadLength > 0 {
            if dataStart < this.highestEnd { retransmitted = true }
            let fresh = this.record(dataStart, dataEnd)
            if let fin = this.fin {
                // Filling a gap below the FIN is a late copy of earlier data; bytes at or past the FIN are new data.
                this.dataAfterFin += min(fresh, max(0, dataEnd - max(dataStart, fin.sequence)))
            }
            this.firstData = this.firstData ?? time
            this.lastData = time
        }
        if flags.contains(.fin) {
            if let fin = this.fin {
                if fin.sequence == dataEnd {
                    this.fin!.retransmissions += 1
                    retransmitted = true
                } else {
                    this.conflictingFin = this.conflictingFin ?? dataEnd
                }
            } else {
                this.fin = FinFacts(
                    sequence: dataEnd, followsAllData: false, onData: segment.payloadLength > 0, retransmissions: 0, packet: packet,
                    time: 0)
                this.finTime = time
                closeEvents.append((packet, time, index, .fin, dataEnd))
            }
        }
        if flags.contains(.rst) {
            let acknowledgement = flags.contains(.ack) && peer.base != nil ? peer.relative(segment.acknowledgement) : nil
            this.resets.append(
                ResetFacts(
                    sequence: sequence, ack: flags.contains(.ack), acknowledgement: acknowledgement, afterOwnFin: this.fin != nil,
                    afterPeerFin: peer.fin != nil, unacknowledgedBytes: this.unacknowledged,
                    peerUnacknowledgedBytes: peer.unacknowledged, packet: packet, time: 0))
            this.resetTimes.append(time)
            closeEvents.append((packet, time, index, .rst, sequence))
        }
        if retransmitted { this.retransmissions += 1 }
        return SegmentNote(
            side: index, time: time, flags: flags, sequence: sequence, dataStart: dataStart, dataEnd: dataEnd,
            acknowledges: acknowledges, retransmitted: retransmitted)
    }
}

/// One segment of a connection in relative terms, as the ladder draws it.
public struct SegmentNote: Sendable {
    /// 0 from the client, 1 from the server.
    public var side: Int
    /// Nanoseconds since the Unix epoch.
    public var time: Int64
    public var flags: TCPFlags
    public var sequence: Int64
    /// The payload's relative sequence range (empty for a segment without data).
    public var dataStart: Int64
    public var dataEnd: Int64
    /// The other side's relative sequence number this segment acknowledges.
    public var acknowledges: Int64?
    public var retransmitted: Bool
}
