/// How a captured frame begins: the link-layer header types Teardown decodes.
///
/// The raw values are libpcap's `DLT_` numbers as `pcap_datalink` returns them on Linux.
public enum LinkType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    case null = 0
    /// Ethernet, which is also what Linux's `lo` reports.
    case ethernet = 1
    /// An IPv4 or IPv6 packet with no link-layer header.
    case raw = 12
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    case loop = 108
    /// Linux "cooked" capture, version 1 (the `any` interface, older libpcap).
    case linuxSLL = 113
    /// IPv4 only, no link-layer header.
    case ipv4 = 228
    /// IPv6 only, no link-layer header.
    case ipv6 = 229
    /// Linux "cooked" capture, version 2 (the `any` interface, libpcap 1.10 and later).
    case linuxSLL2 = 276

    /// Creates the link type of a libpcap `DLT_` value, accepting the file-format numbers of RAW too.
    public init?(dataLink: Int32) {
        switch dataLink {
        case 14, 101: self = .raw  // DLT_RAW on the BSDs, LINKTYPE_RAW in files
        default: self.init(rawValue: dataLink)
        }
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .ethernet: "EN10MB"
        case .raw: "RAW"
        case .loop: "LOOP"
        case .linuxSLL: "LINUX_SLL"
        case .ipv4: "IPV4"
        case .ipv6: "IPV6"
        case .linuxSLL2: "LINUX_SLL2"
        }
    }
}

/// The TCP header flags Teardown reads.
public struct TCPFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
}

/// One TCP segment as it was captured, with its payload length taken from the IP header,
/// so that a capture with a short snapshot length still says how many bytes were sent.
public struct TCPSegment: Sendable {
    public var source: Endpoint
    public var destination: Endpoint
    public var sequence: UInt32
    public var acknowledgement: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    public var payloadLength: Int
    /// The IPv4 identification field (zero for IPv6): tells a duplicate capture from a retransmission.
    public var ipIdentification: UInt16

    public init(
        source: Endpoint, destination: Endpoint, sequence: UInt32, acknowledgement: UInt32, flags: TCPFlags,
        window: UInt16 = 65535, payloadLength: Int, ipIdentification: UInt16 = 0
    ) {
        self.source = source
        self.destination = destination
        self.sequence = sequence
        self.acknowledgement = acknowledgement
        self.flags = flags
        self.window = window
        self.payloadLength = payloadLength
        self.ipIdentification = ipIdentification
    }
}

/// Why a captured frame was not used as a TCP segment.
public enum SkipReason: String, Sendable, Codable, CaseIterable, Comparable {
    case truncatedLinkHeader = "truncated link-layer header"
    case notIP = "not IPv4 or IPv6"
    case truncatedIPHeader = "truncated IP header"
    case badIPHeader = "malformed IP header"
    case fragment = "IP fragment"
    case notTCP = "not TCP"
    case truncatedTCPHeader = "truncated TCP header"
    case badTCPHeader = "malformed TCP header"

    public static func < (lhs: SkipReason, rhs: SkipReason) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The result of decoding one frame.
public enum Decoded: Sendable {
    case tcp(TCPSegment)
    case skipped(SkipReason)
}

/// Decodes link-layer, IPv4/IPv6 and TCP headers straight from captured bytes, without copying them.
public enum PacketDecoder {
    /// Decodes one frame.
    ///
    /// - Parameters:
    ///   - frame: the captured bytes (possibly fewer than were on the wire).
    ///   - linkType: how the frame begins.
    ///   - wireLength: the frame's length on the wire, used when an IPv4 total length is 0 (segmentation offload).
    public static func decode(_ frame: UnsafeRawBufferPointer, linkType: LinkType, wireLength: Int) -> Decoded {
        var offset = 0
        var etherType: UInt16 = 0
        switch linkType {
        case .ethernet:
            guard frame.count >= 14 else { return .skipped(.truncatedLinkHeader) }
            etherType = frame.u16(12)
            offset = 14
            while etherType == 0x8100 || etherType == 0x88A8 {  // VLAN tags
                guard frame.count >= offset + 4 else { return .skipped(.truncatedLinkHeader) }
                etherType = frame.u16(offset + 2)
                offset += 4
            }
        case .linuxSLL:
            guard frame.count >= 16 else { return .skipped(.truncatedLinkHeader) }
            etherType = frame.u16(14)
            offset = 16
        case .linuxSLL2:
            guard frame.count >= 20 else { return .skipped(.truncatedLinkHeader) }
            etherType = frame.u16(0)
            offset = 20
        case .null, .loop:
            guard frame.count >= 4 else { return .skipped(.truncatedLinkHeader) }
            // The family is in the capturing host's byte order for NULL: accept either.
            let big = frame.u32(0)
            let family = big > 0xFFFF ? big.byteSwapped : big
            switch family {
            case 2: etherType = 0x0800
            case 10, 24, 28, 30: etherType = 0x86DD  // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin
            default: return .skipped(.notIP)
            }
            offset = 4
        case .raw, .ipv4, .ipv6:
            guard frame.count >= 1 else { return .skipped(.truncatedIPHeader) }
            switch frame[0] >> 4 {
            case 4: etherType = 0x0800
            case 6: etherType = 0x86DD
            default: return .skipped(.notIP)
            }
        }
        switch etherType {
        case 0x0800: return decodeIPv4(frame, at: offset, wireLength: wireLength)
        case 0x86DD: return decodeIPv6(frame, at: offset)
        default: return .skipped(.notIP)
        }
    }

    static func decodeIPv4(_ frame: UnsafeRawBufferPointer, at start: Int, wireLength: Int) -> Decoded {
        guard frame.count >= start + 20 else { return .skipped(.truncatedIPHeader) }
        let versionAndLength = frame[start]
        let headerLength = Int(versionAndLength & 0x0F) * 4
        guard versionAndLength >> 4 == 4, headerLength >= 20 else { return .skipped(.badIPHeader) }
        var totalLength = Int(frame.u16(start + 2))
        if totalLength == 0 { totalLength = wireLength - start }  // segmentation offload leaves it 0
        guard totalLength >= headerLength else { return .skipped(.badIPHeader) }
        let fragment = frame.u16(start + 6)
        guard fragment & 0x3FFF == 0 else { return .skipped(.fragment) }  // more-fragments flag or an offset
        guard frame[start + 9] == 6 else { return .skipped(.notTCP) }
        guard frame.count >= start + headerLength else { return .skipped(.truncatedIPHeader) }
        var source = Endpoint(family: .ipv4, port: 0)
        var destination = Endpoint(family: .ipv4, port: 0)
        source.high = 0
        source.low = UInt64(frame.u32(start + 12))
        destination.high = 0
        destination.low = UInt64(frame.u32(start + 16))
        return decodeTCP(
            frame, at: start + headerLength, length: totalLength - headerLength, source: source, destination: destination,
            identification: frame.u16(start + 4))
    }

    static func decodeIPv6(_ frame: UnsafeRawBufferPointer, at start: Int) -> Decoded {
        guard frame.count >= start + 40 else { return .skipped(.truncatedIPHeader) }
        guard frame[start] >> 4 == 6 else { return .skipped(.badIPHeader) }
        var remaining = Int(frame.u16(start + 4))
        var next = frame[start + 6]
        var offset = start + 40
        // Walk the extension headers that may precede TCP.
        while true {
            switch next {
            case 6:
                var source = Endpoint(family: .ipv6, port: 0)
                var destination = Endpoint(family: .ipv6, port: 0)
                source.high = frame.u64(start + 8)
                source.low = frame.u64(start + 16)
                destination.high = frame.u64(start + 24)
                destination.low = frame.u64(start + 32)
                return decodeTCP(frame, at: offset, length: remaining, source: source, destination: destination, identification: 0)
            case 0, 43, 60:  // hop-by-hop, routing, destination options
                guard frame.count >= offset + 8 else { return .skipped(.truncatedIPHeader) }
                let length = (Int(frame[offset + 1]) + 1) * 8
                guard remaining >= length else { return .skipped(.badIPHeader) }
                next = frame[offset]
                offset += length
                remaining -= length
            case 44:
                return .skipped(.fragment)
            default:
                return .skipped(.notTCP)
            }
        }
    }

    static func decodeTCP(
        _ frame: UnsafeRawBufferPointer, at start: Int, length: Int, source: Endpoint, destination: Endpoint, identification: UInt16
    ) -> Decoded {
        guard frame.count >= start + 20 else { return .skipped(.truncatedTCPHeader) }
        let headerLength = Int(frame[start + 12] >> 4) * 4
        guard headerLength >= 20, length >= headerLength else { return .skipped(.badTCPHeader) }
        var source = source
        var destination = destination
        source.port = frame.u16(start)
        destination.port = frame.u16(start + 2)
        return .tcp(
            TCPSegment(
                source: source, destination: destination, sequence: frame.u32(start + 4), acknowledgement: frame.u32(start + 8),
                flags: TCPFlags(rawValue: frame[start + 13] & 0x1F), window: frame.u16(start + 14),
                payloadLength: length - headerLength, ipIdentification: identification))
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always) func u16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) func u32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always) func u64(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
