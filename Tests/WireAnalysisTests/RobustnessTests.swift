import Basics
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

    @Test func aCorruptRecordIsNotCalledACut() throws {
        try withTemporaryDirectory { directory in
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture)))
            // The second record's captured length, after the 24-byte file header and the first record.
            let first = Int(bytes[32]) | Int(bytes[33]) << 8 | Int(bytes[34]) << 16 | Int(bytes[35]) << 24
            let second = 24 + 16 + first
            for index in 8..<12 { bytes[second + index] = 0xFF }
            let path = directory.appendingPathComponent("corrupt.pcap").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let reason = try #require(try CaptureFile.analyze(path: path).truncated)
            #expect(reason.contains("packet 2 is a corrupt record, after 1 good packets"), "\(reason)")
            #expect(!reason.contains("cut short"))
            let cut = directory.appendingPathComponent("cut.pcap").path
            try Data(contentsOf: URL(fileURLWithPath: fixture)).prefix(second + 20).write(to: URL(fileURLWithPath: cut))
            #expect(try CaptureFile.analyze(path: cut).truncated?.contains("the file is cut short inside packet 2") == true)
        }
    }

    /// mergecap -a concatenates two captures, so the second's packets come earlier in time than the first's.
    @Test(.enabled(if: tool("mergecap") != nil, "needs mergecap (Debian's wireshark-common, installed with tshark)"))
    func packetsOutOfTimeOrderPrintNegativeTimes() throws {
        try withTemporaryDirectory { directory in
            let merged = directory.appendingPathComponent("merged.pcap").path
            let concatenate = try runProgram(
                tool("mergecap")!,
                [
                    "-a", "-F", "pcap", "-w", merged, fixtureDirectory.appendingPathComponent("half-close.pcap").path,
                    fixtureDirectory.appendingPathComponent("abortive-queued.pcap").path,
                ])
            #expect(concatenate.status == 0, "\(concatenate.errors)")
            let text = try runProgram(teardownBinary, ["inspect", merged])
            #expect(text.status == 0, "\(text.errors)")
            #expect(text.output.contains("(-0.086965 s to -0.057147 s)"), "\(text.output)")
            #expect(text.output.contains(" -86.965 ms "), "\(text.output)")
            #expect(!text.output.contains(".-"))
        }
    }

    /// editcap moves every timestamp past what 64 bits of nanoseconds hold.
    @Test(.enabled(if: tool("editcap") != nil, "needs editcap (Debian's wireshark-common, installed with tshark)"))
    func timestampsBeyondSixtyFourBitsOfNanosecondsDoNotTrap() throws {
        try withTemporaryDirectory { directory in
            let huge = directory.appendingPathComponent("huge.pcapng").path
            let shift = try runProgram(
                tool("editcap")!,
                ["-F", "pcapng", "-t", "9300000000", fixtureDirectory.appendingPathComponent("half-close.pcap").path, huge])
            #expect(shift.status == 0, "\(shift.errors)")
            for arguments in [["inspect", huge], ["inspect", "--json", huge]] {
                let result = try runProgram(teardownBinary, arguments)
                #expect(result.status == 0, "\(arguments): \(result.errors)")
                #expect(result.output.contains("65537"), "the facts are still there")
            }
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
