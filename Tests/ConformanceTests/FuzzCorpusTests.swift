import Foundation
import TestSupport
import Testing

/// The fuzz targets' seed corpus, and every input a fuzzer found crashing (copied into it), replayed through the
/// same code the fuzzer drives: a crash found once stays a failing test until it is fixed.
@Suite struct FuzzCorpus {
    static let replay = URL(fileURLWithPath: teardownBinary).deletingLastPathComponent().appendingPathComponent("teardown-fuzz").path

    @Test(arguments: ["capture", "scenario", "faults", "expectations"])
    func everyInputOfTheCorpusIsReadWithoutACrash(_ target: String) throws {
        let corpus = repositoryRoot.appendingPathComponent("Tests/Fuzz/corpus/\(target)").path
        let inputs = try FileManager.default.contentsOfDirectory(atPath: corpus).count
        #expect(inputs >= 3, "the \(target) corpus has its seeds")
        // The suite's own cases are seeds of the scenario target too.
        let extra = target == "scenario" ? [suiteDirectory + "/cases"] : []
        let total = try extra.reduce(inputs) { $0 + (try FileManager.default.contentsOfDirectory(atPath: $1).count) }
        let run = try runProgram(Self.replay, [target, corpus] + extra, within: 120)
        #expect(run.status == 0, "\(run.output)\(run.errors)")
        #expect(run.output.contains("teardown-fuzz: \(target): \(total) inputs, no crash"), "\(run.output)")
    }
}
