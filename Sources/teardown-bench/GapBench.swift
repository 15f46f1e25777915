import ArgumentParser
import Foundation
import PacketCapture
import WireAnalysis

/// One connection whose data arrives with many holes in its sequence space, against one of the same size
/// without any: the bookkeeping of data beyond a gap must stay O(log n) a segment.
struct GapBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaps",
        abstract: "Time teardown inspect on one connection with many sequence gaps, against one of the same size without.",
        discussion: """
            Writes three captures of one connection with --segments data segments of 100 bytes each: contiguous; \
            with a 100-byte hole after each segment (in sequence order); and the same holes with the segments in \
            reverse order. Target: 100,000 gaps analysed in under 1 s, and within a few times the time without gaps.
            """
    )

    @Option(help: "Data segments in the connection (1 to 10,000,000).")
    var segments = 100_000

    @Option(help: "Runs of each; the best time is kept.")
    var runs = 3

    @Option(help: "The teardown binary to time.")
    var teardown = "teardown"

    func validate() throws {
        guard (1...10_000_000).contains(segments), (1...100).contains(runs) else {
            throw ValidationError("--segments must be from 1 to 10000000 and --runs from 1 to 100")
        }
    }

    func run() throws {
        var best: [String: Double] = [:]
        for layout in GappyCapture.Layout.allCases {
            let path = "/tmp/teardown-bench-gaps-\(layout.rawValue).pcap"
            try GappyCapture(layout: layout, segments: segments).write(to: path)
            let facts = try CaptureFile.analyze(path: path)
            let client = facts.connections.first?.directions.first
            let seconds = (0..<runs).map { _ in (try? timed([teardown, "inspect", "--no-ladder", path])) ?? .infinity }.min()!
            best[layout.rawValue] = seconds
            print(
                layout.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(
                        format: " best %7.3f s of %d  (%d segments, %lld bytes sent, %lld in order)", seconds, runs, segments,
                        client?.bytesSent ?? 0, client?.bytesInOrder ?? 0))
        }
        let plain = best["contiguous"]!
        for layout in ["gaps", "reversed"] {
            let ratio = best[layout]! / plain
            print(
                String(
                    format: "%@ / contiguous: %.2fx  (%d gaps in %.3f s; target: under 1 s)", layout, ratio, segments, best[layout]!))
        }
    }
}

/// Writes one connection's capture: a handshake, then 100-byte data segments laid out as `layout` says.
struct GappyCapture {
    enum Layout: String, CaseIterable {
        case contiguous, gaps, reversed
    }

    var layout: Layout
    var segments: Int

    func write(to path: String) throws {
        let writer = try CaptureWriter(path: path, linkType: .ethernet, snapshotLength: 96)
        var frame = [UInt8](repeating: 0, count: 14 + 40 + 20)
        var time: Int64 = 1_790_000_000 * 1_000_000_000
        var identification: UInt16 = 0
        let clientISN: UInt32 = 1000
        let serverISN: UInt32 = 5000
        func emit(fromClient: Bool, flags: UInt8, length: Int, seq: UInt32, ack: UInt32) {
            identification &+= 1
            time += 1000
            let count = SyntheticCapture.build(
                &frame, ipv6: false, fromClient: fromClient, clientPort: 40000, seq: seq, ack: ack, flags: flags, payload: length,
                identification: identification)
            frame.withUnsafeBytes { writer.write(UnsafeRawBufferPointer(rebasing: $0[..<count]), wireLength: count + length, time: time) }
        }
        emit(fromClient: true, flags: 0x02, length: 0, seq: clientISN, ack: 0)
        emit(fromClient: false, flags: 0x12, length: 0, seq: serverISN, ack: clientISN &+ 1)
        emit(fromClient: true, flags: 0x10, length: 0, seq: clientISN &+ 1, ack: serverISN &+ 1)
        let stride = layout == .contiguous ? 100 : 200
        let order = layout == .reversed ? Array((0..<segments).reversed()) : Array(0..<segments)
        for index in order {
            let seq = clientISN &+ 1 &+ UInt32(truncatingIfNeeded: index * stride)
            emit(fromClient: true, flags: 0x18, length: 100, seq: seq, ack: serverISN &+ 1)
        }
        try writer.close()
    }
}
