import Conformance
import Foundation
import Reporting
import TestSupport
import Testing

@Suite struct Power {
    func mutant(_ name: String, breaks: [String], _ results: [CaseResult]) -> PowerMatrix.Mutant {
        PowerMatrix.Mutant(name: name, summary: "s", breaks: breaks, results: results)
    }

    func checking(_ id: String, _ verdict: Verdict, _ statements: [String]) -> CaseResult {
        var result = result(id, verdict)
        result.statements = statements
        return result
    }

    @Test("A mutant counts as caught rightly only by a failing case of a statement it breaks")
    func caughtRightly() {
        let reference = [checking("a", .pass, ["LINGER-2"]), checking("b", .pass, ["SHARE-4"])]
        let byItsStatement = mutant("m1", breaks: ["LINGER-2"], [checking("a", .fail, ["LINGER-2"]), checking("b", .pass, ["SHARE-4"])])
        let byAnother = mutant("m2", breaks: ["LINGER-2"], [checking("a", .pass, ["LINGER-2"]), checking("b", .fail, ["SHARE-4"])])
        let onlyAnError = mutant("m3", breaks: ["SHARE-4"], [checking("a", .pass, ["LINGER-2"]), checking("b", .error, ["SHARE-4"])])
        let matrix = PowerMatrix(reference: reference, mutants: [byItsStatement, byAnother, onlyAnError])
        #expect(!matrix.allCaughtRightly)
        #expect(PowerMatrix(reference: reference, mutants: [byItsStatement]).allCaughtRightly)
        let text = matrix.render()
        #expect(text.contains("\na       .  X  .  .\n"), "\(text)")
        #expect(text.contains("\nb       .  .  x  E\n"), "\(text)")
        #expect(text.contains("1 m1: caught by a (1 instances fail)"))
        #expect(text.contains("2 m2: caught, but by no case of LINGER-2"))
        #expect(text.contains("3 m3: NOT CAUGHT"))
        #expect(text.contains("1 of 3 mutants caught by a case of a statement they break"))
        #expect(matrix.summary.mutants.map(\.caughtRightlyBy) == [["a"], [], []])
    }

    @Test("A mistake caught only by a SHOULD case is counted, and shown, as caught at that level")
    func caughtAtTheShouldLevel() {
        let reference = [checking("a", .pass, ["CLOSE-3"])]
        let stale = mutant("stale", breaks: ["CLOSE-3"], [checking("a", .nonStrict, ["CLOSE-3"])])
        let matrix = PowerMatrix(reference: reference, mutants: [stale])
        #expect(matrix.allCaughtRightly)
        let text = matrix.render()
        #expect(text.contains("\na       .  S\n"), "\(text)")
        #expect(text.contains("1 stale: caught at the SHOULD level by a (0 instances fail, 1 non-strict)"), "\(text)")
    }

    @Test("Cases not run because the mutant was already caught show as -, and are counted apart")
    func notRunOnceCaught() {
        let reference = [checking("a", .pass, ["LINGER-3"]), checking("b", .pass, ["SHARE-4"])]
        var notRun = checking("b", .skipped, ["SHARE-4"])
        notRun.messages = ["not run: the mutant was already caught by a (--full runs every case)"]
        var lacking = checking("b", .skipped, ["SHARE-4"])
        lacking.messages = ["the plugin provider lacks: duplicate"]
        let stopped = mutant("m1", breaks: ["LINGER-3"], [checking("a", .fail, ["LINGER-3"]), notRun])
        let unable = mutant("m2", breaks: ["LINGER-3"], [checking("a", .fail, ["LINGER-3"]), lacking])
        let text = PowerMatrix(reference: reference, mutants: [stopped, unable]).render()
        #expect(text.contains("\nb       .  -  .\n"), "\(text)")
        #expect(text.contains("1 m1: caught by a (1 instances fail, 1 not run)"), "\(text)")
        #expect(text.contains("2 m2: caught by a (1 instances fail)"), "\(text)")
    }

    @Test("teardown power stops a mutant at its first right catch, and --full runs every case")
    func powerStopsAtTheFirstRightCatch() throws {
        let suite = repositoryRoot.appendingPathComponent("conformance").path
        try withTemporaryDirectory { directory in
            // One case at a time: the mutant's first case of LINGER-3 fails it, and the graceful cases then never run.
            let arguments = [
                "power", "--suite", suite, "--mutants", "always-graceful", "--cases", "linger.abortive[payload=64KiB*",
                "--cases", "linger.graceful[payload=64KiB*", "--jobs", "1", "--parallel", "1",
            ]
            let quick = try runProgram(teardownBinary, arguments + ["--report-dir", directory.path + "/quick"], within: 300)
            #expect(quick.status == 0, "\(quick.output) \(quick.errors)")
            #expect(quick.output.contains("always-graceful: caught by linger.abortive (1 instances fail, 15 not run)"), "\(quick.output)")
            #expect(quick.output.contains("\nlinger.graceful    .  -\n"), "\(quick.output)")
            // The worker whose case failed has ended with the run.
            let descriptors = quick.output.split(separator: "\n").first { $0.hasPrefix("orchestrator: ") }.map {
                $0.split(separator: " ").compactMap { Int($0) }
            }
            #expect(descriptors?.count == 2 && descriptors?.first == descriptors?.last, "\(quick.output)")
            let full = try runProgram(teardownBinary, arguments + ["--full", "--report-dir", directory.path + "/full"], within: 300)
            #expect(full.status == 0, "\(full.output) \(full.errors)")
            #expect(full.output.contains("always-graceful: caught by linger.abortive (8 instances fail)"), "\(full.output)")
            #expect(!full.output.contains("not run)"), "\(full.output)")
        }
    }

    @Test("teardown power catches the linger mutants with the linger cases, and fails when the cases cannot catch a mutant")
    func powerCommand() throws {
        let suite = repositoryRoot.appendingPathComponent("conformance").path
        try withTemporaryDirectory { directory in
            let caught = try runProgram(
                teardownBinary,
                [
                    "power", "--suite", suite, "--mutants", "always-*", "--cases", "linger.abortive[payload=64KiB*",
                    "--cases", "linger.graceful[payload=64KiB*", "--report-dir", directory.path, "--json", directory.path + "/power.json",
                ], within: 300)
            #expect(caught.status == 0, "\(caught.output) \(caught.errors)")
            #expect(caught.output.contains("always-graceful: caught by linger.abortive"), "\(caught.output)")
            #expect(caught.output.contains("always-abortive: caught by linger.graceful"), "\(caught.output)")
            #expect(caught.output.contains("2 of 2 mutants caught"))
            let json = try String(contentsOfFile: directory.path + "/power.json", encoding: .utf8)
            #expect(json.contains("\"format\" : \"teardown-power/1\""))
            // The stale-handle mutant does nothing wrong in a linger case: power says so and fails.
            let missed = try runProgram(
                teardownBinary,
                [
                    "power", "--suite", suite, "--mutants", "accepts-stale-handle", "--cases", "linger.graceful[payload=0,*",
                    "--report-dir", directory.path + "/2",
                ], within: 300)
            #expect(missed.status == 1, "\(missed.output) \(missed.errors)")
            #expect(missed.output.contains("accepts-stale-handle: NOT CAUGHT"), "\(missed.output)")
        }
    }
}
