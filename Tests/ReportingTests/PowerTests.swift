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
