import Conformance
import Foundation
import TestSupport
import Testing

/// The executable model of SPEC.md against the hand-written suite: every instance in the model's domain is
/// predicted exactly as its case file writes it; the others are outside for a reason the model gives.
@Suite struct ModelAgreesWithTheSuite {
    @Test func everyCaseInTheModelsDomainIsPredictedAsWritten() throws {
        let instances = CaseLoader.loadDirectory("\(suiteDirectory)/cases", statements: statements).cases.flatMap(\.instances)
        var inside = 0
        var outside: [String: Int] = [:]
        for instance in instances {
            do {
                let prediction = try SpecModel.predict(instance)
                inside += 1
                let differences = SpecModel.differences(instance, prediction)
                #expect(differences.isEmpty, "\(instance.id): \(differences.joined(separator: "; "))")
            } catch {
                outside[instance.caseID, default: 0] += 1
            }
        }
        print(
            "model: \(inside) instances inside its domain, \(outside.values.reduce(0, +)) outside (\(outside.keys.sorted().joined(separator: ", ")))"
        )
        // The domain is the point: sharing, linger, blocking mode, unread data and the peer's state.
        #expect(inside >= 60, "only \(inside) instances are inside the model's domain")
    }
}

/// `teardown explore`'s scenarios: replayable from their seed, judged by the model, and able to catch a mistake.
@Suite struct Exploration {
    @Test func theSameSeedGivesTheSameScenariosAndAnotherSeedOthers() throws {
        func texts(_ seed: UInt64) throws -> [String] {
            var generator = ScenarioGenerator(seed: seed, duplicates: true)
            return try (1...60).map { try generator.next().caseText(id: "explore.\(seed).\($0)", statements: statements) }
        }
        let first = try texts(7)
        #expect(first == (try texts(7)))
        #expect(first != (try texts(8)))
        // Every text is a case the loader takes and the model predicts as written.
        for text in first {
            let instance = try CaseLoader.parse(text, file: "generated.yaml", statements: statements).instances[0]
            #expect(SpecModel.differences(instance, try SpecModel.predict(instance)).isEmpty, "\(text)")
        }
    }

    @Test func everyGeneratedScenarioIsACaseTheModelJudges() throws {
        for seed in UInt64(1)...4 {
            var generator = ScenarioGenerator(seed: seed, duplicates: seed % 2 == 1)
            for number in 1...500 {
                let scenario = generator.next()
                let text = try scenario.caseText(id: "explore.\(seed).\(number)", statements: statements)
                let instance = try CaseLoader.parse(text, file: "generated.yaml", statements: statements).instances[0]
                #expect(SpecModel.differences(instance, try SpecModel.predict(instance)).isEmpty, "\(scenario)")
            }
        }
    }

    @Test func theGeneratorCoversEveryPairOfValuesEarly() {
        var generator = ScenarioGenerator(seed: 1, duplicates: true)
        for _ in 0..<200 { _ = generator.next() }
        let early = generator.coverage
        for _ in 0..<800 { _ = generator.next() }
        // What 200 scenarios cover, 1,000 barely add to: the pairs are covered early.
        #expect(early >= 340)
        #expect(generator.coverage - early <= 10)
    }

    @Test(.enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? "")))
    func exploreFindsAMistakeShrinksItAndWritesACaseThatRunsAsIs() throws {
        try withTemporaryDirectory { directory in
            let out = directory.appendingPathComponent("found").path
            let explore = try runProgram(
                teardownBinary,
                ["explore", "--suite", suiteDirectory, "--provider", "mutant:always-graceful", "--count", "64", "--out", out], within: 300)
            #expect(explore.status == 1, "\(explore.output) \(explore.errors)")
            #expect(explore.output.contains("shrunk to:"))
            let cases = try FileManager.default.contentsOfDirectory(atPath: "\(out)/cases")
            #expect(cases.count == 1)
            // The case runs as is, fails the mistake and passes the reference.
            for (provider, status) in [("mutant:always-graceful", Int32(1)), ("reference", 0)] {
                let run = try runProgram(
                    teardownBinary, ["run", "--suite", out, "--provider", provider, "--report-dir", "\(directory.path)/\(provider)"],
                    within: 120)
                #expect(run.status == status, "\(provider): \(run.output)")
            }
            let clean = try runProgram(
                teardownBinary, ["explore", "--suite", suiteDirectory, "--count", "64", "--out", "\(directory.path)/none", "--quiet"],
                within: 300)
            #expect(clean.status == 0, "\(clean.output) \(clean.errors)")
        }
    }
}
