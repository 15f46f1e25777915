import Conformance
import Foundation
import PacketCapture
import TestSupport
import Testing

@Suite(.enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? ""))) struct Running {
    @Test func theReferenceProviderPassesWithTheWireAsEvidence() throws {
        try withTemporaryDirectory { directory in
            let (output, report) = try runSuite(["--cases", "linger.graceful[payload=4MiB,blocking=false,*ipv4*"], in: directory)
            #expect(output.status == 0, "\(output.output)\(output.errors)")
            let results = try #require(report?.results)
            #expect(results.count == 2)
            #expect(results.allSatisfy { $0.verdict == .pass })
            #expect(output.output.contains("-> conformant (exit 0)"))
            // The pcap is there, and the wire shows the FIN after every byte.
            let pcap = try #require(results.first?.pcap)
            let facts = try CaptureFile.analyze(path: pcap)
            let subject = facts.connections.first?.directions.first { $0.bytesSent == 4 << 20 }
            #expect(subject?.fin?.sequence == Int64(4_194_305))
        }
    }

    @Test func posixFailsWhereLinuxDiffersAndPassesWithItsExpectations() throws {
        try withTemporaryDirectory { directory in
            let cases = ["--provider", "posix", "--cases", "linger.nonblocking.then-drained", "--cases", "linger.new-socket*"]
            let (failing, report) = try runSuite(cases, in: directory)
            #expect(failing.status == 1, "\(failing.output)\(failing.errors)")
            #expect(report?.results.filter { $0.verdict == .fail }.map(\.id) == ["linger.nonblocking.then-drained"])
            #expect(failing.output.contains("FAIL linger.nonblocking.then-drained (LINGER-6)"))
            #expect(failing.output.contains("close expected wouldBlock; got success"))
            #expect(failing.output.contains("pcap: "))
            let expectations = "\(suiteDirectory)/expectations/posix.yaml"
            let (passing, known) = try runSuite(cases + ["--expectations", expectations], in: directory)
            #expect(passing.status == 0, "\(passing.output)\(passing.errors)")
            #expect(known?.results.first { $0.verdict == .fail }?.expectedDeviation?.contains("LINGER-6") == true)
            #expect(passing.output.contains("EXPECTED FAIL linger.nonblocking.then-drained"))
        }
    }

    @Test func aMalformedCaseIsAnErrorWithItsLineAndTheOthersStillRun() throws {
        try withTemporaryDirectory { directory in
            let suite = directory.appendingPathComponent("suite")
            try FileManager.default.createDirectory(at: suite.appendingPathComponent("cases"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: "\(suiteDirectory)/statements.yaml", toPath: suite.appendingPathComponent("statements.yaml").path)
            try FileManager.default.copyItem(
                atPath: "\(suiteDirectory)/cases/linger-new-socket.yaml", toPath: suite.appendingPathComponent("cases/good.yaml").path)
            try "id: broken.case\ntitle: t\nstatements: [CLOSE-1]\nsteps:\n  - close: s\n    within: tomorrow\n".write(
                to: suite.appendingPathComponent("cases/broken.yaml"), atomically: true, encoding: .utf8)
            let output = try runProgram(
                teardownBinary,
                ["run", "--suite", suite.path, "--report-dir", directory.appendingPathComponent("run").path], within: 60)
            #expect(output.status == 2)
            #expect(output.errors.contains("broken.yaml:6: expected within (at-once or a duration)"))
            #expect(output.output.contains("2 pass"), "the good case's two instances still ran: \(output.output)")
        }
    }

    @Test func shardsSplitTheCasesWithoutOverlap() throws {
        try withTemporaryDirectory { directory in
            var seen: [[String]] = []
            for shard in ["1/2", "2/2"] {
                let (output, report) = try runSuite(
                    ["--cases", "linger.new-socket*", "--cases", "pend.accept*", "--shard", shard], in: directory)
                #expect(output.status == 0, "\(output.output)\(output.errors)")
                seen.append(report?.results.map(\.id) ?? [])
            }
            #expect(seen.allSatisfy { $0.count == 2 })
            #expect(Set(seen[0]).isDisjoint(with: seen[1]))
            #expect(Set(seen.flatMap { $0 }).count == 4)
        }
    }
}

@Suite struct Usage {
    @Test(arguments: [
        (["run", "--provider", "telepathic"], "unknown provider"),
        (["run", "--shard", "5/4"], "--shard must be I/N"),
        (["run", "--repeat", "0"], "--repeat must be between 1 and 10000, not 0"),
        (["explain", "no.such.case"], "no case 'no.such.case'"),
    ])
    func mistakesAreUsageErrors(_ arguments: [String], _ words: String) throws {
        let output = try runProgram(teardownBinary, arguments + ["--suite", suiteDirectory])
        #expect(output.status == 64, "\(output.errors)")
        #expect(output.errors.contains(words), "\(output.errors)")
    }

    @Test func listShowsEveryCaseAndThatEveryStatementIsCovered() throws {
        let output = try runProgram(teardownBinary, ["list", "--suite", suiteDirectory])
        #expect(output.status == 0)
        #expect(output.output.contains("pend.receive"))
        #expect(output.output.contains("42 of 42 statements covered"))
    }

    @Test func explainTellsTheStatementTheStepsAndTheExpectations() throws {
        let output = try runProgram(teardownBinary, ["explain", "pend.receive", "--suite", suiteDirectory])
        #expect(output.status == 0)
        #expect(output.output.contains("PEND-1 (MUST): A blocking receive"))
        #expect(output.output.contains("wait until the call on thread reader is pending inside the provider"))
        #expect(output.output.contains("on the wire the subject sends FIN at N+1"))
    }
}

@Suite(.enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? ""))) struct Sharding {
    @Test func fourShardsMergedEqualOneUnshardedRun() throws {
        try withTemporaryDirectory { directory in
            let selection = [
                "--provider", "posix", "--expectations", "\(suiteDirectory)/expectations/posix.yaml", "--cases", "linger.new-socket*",
                "--cases", "close.*", "--cases", "linger.out-of-range", "--cases", "shut.errors", "--cases",
                "linger.nonblocking.then-drained",
            ]
            let (whole, report) = try runSuite(selection, in: directory.appendingPathComponent("whole"))
            var files: [String] = []
            for shard in 1...4 {
                let place = directory.appendingPathComponent("shard\(shard)")
                _ = try runSuite(selection + ["--shard", "\(shard)/4"], in: place)
                files.append(place.appendingPathComponent("results.json").path)
            }
            let mergedPath = directory.appendingPathComponent("merged.json").path
            let junitPath = directory.appendingPathComponent("merged.xml").path
            let merged = try runProgram(
                teardownBinary, ["merge", "--suite", suiteDirectory, "--json", mergedPath, "--junit", junitPath] + files)
            #expect(merged.status == whole.status, "\(merged.output)\(merged.errors)")
            let combined = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: URL(fileURLWithPath: mergedPath)))
            let byID = { (results: [CaseResult]) in
                Dictionary(uniqueKeysWithValues: results.map { ($0.id, "\($0.verdict.rawValue) \($0.expectedDeviation ?? "")") })
            }
            #expect(byID(combined.results) == byID(report?.results ?? []))
            #expect(combined.staleDeviations == report?.staleDeviations)
            #expect(combined.exitCode == report?.exitCode)
            #expect(FileManager.default.fileExists(atPath: junitPath))
        }
    }
}
