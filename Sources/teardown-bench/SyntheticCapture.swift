import Basics
import Harness
import PacketCapture
import WireAnalysis

/// Writes a large, deterministic capture of many loopback-style TCP connections through libpcap's dumper:
/// handshakes, data and ACKs, some retransmissions, and endings by FIN, FIN on data, or RST.
struct SyntheticCapture {
    var seed: UInt64

    /// Writes at least `packets` packets to `path`; returns how many were written and how many connections.
    func write(to path: String, packets: Int) throws -> (packets: Int, connections: Int) {
        let writer = try CaptureWriter(path: path, linkType: .ethernet, snapshotLength: 96)
        var random = SplitMix(seed: seed)
        var frame = [UInt8](repeating: 0, count: 14 + 40 + 20)
        var written = 0
        var connections = 0
        var time: Int64 = 1_790_000_000 * 1_000_000_000
        while written < packets {
            let port = UInt16(32768 + connections % 28000)
            let clientISN = UInt32(truncatingIfNeeded: random.next())
            let serverISN = UInt32(truncatingIfNeeded: random.next())
            let ipv6 = connections % 10 == 9
            var clientSeq = clientISN
            var serverSeq = serverISN
            var identification: UInt16 = 0
            func emit(fromClient: Bool, flags: UInt8, length: Int, seq: UInt32? = nil) {
                identification &+= 1
                time += 1000 + Int64(random.next() % 5000)
                let segmentSeq = seq ?? (fromClient ? clientSeq : serverSeq)
                let ack = fromClient ? serverSeq : clientSeq
                let count = Self.build(
                    &frame, ipv6: ipv6, fromClient: fromClient, clientPort: port, seq: segmentSeq, ack: ack, flags: flags,
                    payload: length, identification: identification)
                frame.withUnsafeBytes {
                    writer.write(UnsafeRawBufferPointer(rebasing: $0[..<count]), wireLength: count + length, time: time)
                }
                written += 1
            }
            let syn: UInt8 = 0x02
            let ack: UInt8 = 0x10
            let fin: UInt8 = 0x01
            let rst: UInt8 = 0x04
            let psh: UInt8 = 0x08
            emit(fromClient: true, flags: syn, length: 0)
            clientSeq &+= 1
            emit(fromClient: false, flags: syn | ack, length: 0)
            serverSeq &+= 1
            emit(fromClient: true, flags: ack, length: 0)
            let segments = 20 + Int(random.next() % 160)
            for index in 0..<segments {
                let length = 1 + Int(random.next() % 65483)
                emit(fromClient: true, flags: ack | psh, length: length)
                if random.next() % 50 == 0 { emit(fromClient: true, flags: ack | psh, length: length) }  // retransmitted
                clientSeq &+= UInt32(length)
                if index % 2 == 1 { emit(fromClient: false, flags: ack, length: 0) }
            }
            switch connections % 4 {
            case 0, 1:
                emit(fromClient: true, flags: ack | fin, length: 0)
                clientSeq &+= 1
                emit(fromClient: false, flags: ack | fin, length: 0)
                serverSeq &+= 1
                emit(fromClient: true, flags: ack, length: 0)
            case 2:
                emit(fromClient: true, flags: rst | ack, length: 0)
            default:
                emit(fromClient: false, flags: ack | fin, length: 0)
                serverSeq &+= 1
                emit(fromClient: true, flags: ack | rst, length: 0)
            }
            connections += 1
        }
        try writer.close()
        return (written, connections)
    }

    /// Fills `frame` with Ethernet, IPv4 or IPv6, and TCP headers; returns the header bytes used.
    static func build(
        _ frame: inout [UInt8], ipv6: Bool, fromClient: Bool, clientPort: UInt16, seq: UInt32, ack: UInt32, flags: UInt8,
        payload: Int, identification: UInt16
    ) -> Int {
        func put16(_ value: UInt16, _ at: Int) {
            frame[at] = UInt8(value >> 8)
            frame[at + 1] = UInt8(value & 0xFF)
        }
        func put32(_ value: UInt32, _ at: Int) {
            put16(UInt16(value >> 16), at)
            put16(UInt16(value & 0xFFFF), at + 2)
        }
        for index in 0..<12 { frame[index] = 0 }
        let ip = 14
        let tcp: Int
        if ipv6 {
            put16(0x86DD, 12)
            for index in ip..<(ip + 40) { frame[index] = 0 }
            frame[ip] = 0x60
            put16(UInt16(20 + payload), ip + 4)
            frame[ip + 6] = 6
            frame[ip + 7] = 64
            frame[ip + 23] = 1  // ::1 as source
            frame[ip + 39] = 1  // ::1 as destination
            tcp = ip + 40
        } else {
            put16(0x0800, 12)
            frame[ip] = 0x45
            frame[ip + 1] = 0
            put16(UInt16(20 + 20 + payload), ip + 2)
            put16(identification, ip + 4)
            put16(0x4000, ip + 6)
            frame[ip + 8] = 64
            frame[ip + 9] = 6
            put16(0, ip + 10)
            put32(0x7F00_0001, ip + 12)
            put32(0x7F00_0001, ip + 16)
            tcp = ip + 20
        }
        put16(fromClient ? clientPort : 8080, tcp)
        put16(fromClient ? 8080 : clientPort, tcp + 2)
        put32(seq, tcp + 4)
        put32(ack, tcp + 8)
        frame[tcp + 12] = 5 << 4
        frame[tcp + 13] = flags
        put16(65535, tcp + 14)
        put32(0, tcp + 16)
        return tcp + 20
    }
}
