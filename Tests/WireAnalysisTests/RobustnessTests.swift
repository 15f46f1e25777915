import Foundation
import Harness
import PacketCapture
import TestSupport
import Testing
import WireAnalysis

@Suite struct DamagedCaptures {
    let fixture = fixtureDirectory.appendingPathComponent("graceful-queued-4mib.pcap").path

    @Test func aTruncatedFileGivesTheFactsBeforeTheCutAndSaysWhere() throws {
        try withTemporaryDirectory { directory in
            let data = try Data(contentsOf: URL(fileURLWithPath: fixture))
            let path = directory.appendingPathComponent("cut.pcap").path
            try data.prefix(data.count - 50).write(to: URL(fileURLWithPath: path))
            let facts = try CaptureFile.analyze(path: path)
            let truncated = try #require(facts.truncated)
            #expect(truncated.contains("cut.pcap"))
            #expect(truncated.contains("truncated"))
            #expect(facts.connections.count == 1)
            let result = try runProgram(teardownBinary, ["inspect", path])
            #expect(result.status == 2)
            #expect(result.output.contains("#0 "), "the facts before the cut are printed")
            #expect(result.errors.contains("the capture is incomplete"))
        }
    }

    @Test func aFileThatIsNotACaptureIsAClearError() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("notes.txt").path
            try Data("these are not packets\n".utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: CaptureError.self) { try CaptureFile.analyze(path: path) }
            let result = try runProgram(teardownBinary, ["inspect", path])
            #expect(result.status == 2)
            #expect(result.errors.hasPrefix("teardown: \(path): "))
            #expect(result.output.isEmpty)
            let missing = try runProgram(teardownBinary, ["inspect", directory.appendingPathComponent("absent.pcap").path])
            #expect(missing.status == 2)
            #expect(missing.errors.contains("absent.pcap"))
        }
    }

    @Test func anUnknownLinkTypeIsNamed() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("wifi.pcap").path
            // DLT_IEEE802_11 (105): a link type Teardown does not decode.
            let writer = try CaptureWriter(path: path, linkType: .ethernet)
            try writer.close()
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            data[20] = 105
            try data.write(to: URL(fileURLWithPath: path))
            do throws(CaptureError) {
                _ = try CaptureFile.analyze(path: path)
                Issue.record("an 802.11 capture was accepted")
            } catch {
                #expect(error.kind == .linkType)
                #expect(error.message.contains("IEEE802_11"))
            }
        }
    }

    @Test func aCommandLineMistakeIsAUsageError() throws {
        let result = try runProgram(teardownBinary, ["inspect"])
        #expect(result.status == 64)
        #expect(result.errors.contains("Missing expected argument"))
    }

    /// Every fixture with bytes of its frames overwritten, deterministically: the analysis never crashes,
    /// and every packet is either a TCP segment or skipped with a reason.
    @Test(arguments: scenarios.map(\.name))
    func corruptFramesAreSkippedOrDecodedNeverACrash(_ name: String) throws {
        var generator = SplitMix(seed: 0x7EA2_D0E5)
        let path = fixtureDirectory.appendingPathComponent("\(name).pcap").path
        for round in 0..<40 {
            var analyzer: Analyzer?
            _ = try CaptureFile.read(path: path) {
                analyzer = Analyzer(linkType: $0)
            } frame: { frame, wireLength, time in
                var bytes = Array(frame)
                let cut = Int(generator.next() % UInt64(bytes.count + 1))
                if round % 4 == 0 { bytes.removeLast(bytes.count - cut) }  // a short snapshot
                for _ in 0..<(1 + round % 6) where !bytes.isEmpty {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
                bytes.withUnsafeBytes { analyzer!.add(frame: $0, wireLength: wireLength, time: time) }
            }
            let facts = analyzer!.facts()
            #expect(facts.tcpSegments + facts.skipped.reduce(0) { $0 + $1.count } == facts.packets)
            for skipped in facts.skipped { #expect(SkipReason(rawValue: skipped.reason) != nil) }
        }
    }
}
