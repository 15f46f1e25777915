import Conformance
import Foundation
import ProviderInterface
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
        // The domain is the point: sharing, linger, blocking mode, unread data, pending calls and operations,
        // shutdown, listeners and the peer's state.
        #expect(inside >= 110, "only \(inside) instances are inside the model's domain")
        for covered in [
            "pend.receive", "pend.async-accept", "pend.connect", "share.async-other-handle", "listen.queued-reset",
            "listen.accepted-unaffected", "shut.close-after", "linger.out-of-range", "linger.dont-linger-keeps-timeout",
            "close.stale-handle",
            "handle.cleanup",
        ] {
            #expect(outside[covered] == nil, "\(covered) is outside the model's domain")
        }
    }

    @Test func theModelPredictsWhatAListenerAndItsPendingCallsSee() throws {
        let text = """
            id: model.listener
            title: t
            statements: [CLOSE-1]
            requires: [duplicate, asynchronous]
            setup:
              kind: listening
            steps:
              - duplicate: l
                as: l2
              - peer-connect: pa
              - accept: l
                as: a
              - start-accept: op
                handle: l2
              - close: l2
              - peer-connect: q1
              - close: l
              - send: 100
                handle: a
              - close: a
              - wait: {completed: op}
            """
        let instance = try CaseLoader.parse(text, file: "model.yaml", statements: statements).instances[0]
        let prediction = try SpecModel.predict(instance)
        // The operation is aborted by its own handle's close; the queued peer is reset by the last listener's close;
        // the accepted connection outlives the listener.
        #expect(prediction.operations == ["op": .error(.operationAborted)])
        #expect(prediction.others["q1"]?.ending == .reset)
        #expect(prediction.others["q1"]?.rst == .present)
        let accepted = prediction.others["pa"]
        #expect(accepted?.read == .accepted && accepted?.accepted == 100 && accepted?.ending == .endOfStream)
        #expect(accepted?.fin == .afterAccepted && accepted?.rst == WireExpectation.Reset.none)
        #expect(prediction.statements.isSuperset(of: ["PEND-5", "SHARE-5", "LISTEN-1", "LISTEN-2"]))
    }
}

private let everything: ProviderCapabilities = [.duplicate, .asynchronousOperations, .harnessHandles]

/// `teardown explore`'s scenarios: replayable from their seed, judged by the model, and able to catch a mistake.
@Suite struct Exploration {
    @Test func theSameSeedGivesTheSameScenariosAndAnotherSeedOthers() throws {
        func texts(_ seed: UInt64) throws -> [String] {
            var generator = ScenarioGenerator(seed: seed, capabilities: everything)
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
            var generator = ScenarioGenerator(seed: seed, capabilities: seed % 2 == 1 ? everything : [])
            for number in 1...500 {
                let scenario = generator.next()
                do {
                    let text = try scenario.caseText(id: "explore.\(seed).\(number)", statements: statements)
                    let instance = try CaseLoader.parse(text, file: "generated.yaml", statements: statements).instances[0]
                    #expect(SpecModel.differences(instance, try SpecModel.predict(instance)).isEmpty, "\(scenario)")
                } catch {
                    Issue.record("\(scenario): \(error)")
                }
            }
        }
    }

    @Test func theGeneratorCoversEveryPairEarlyThenTheLastClosesQuadruplesAndEveryTriple() {
        var generator = ScenarioGenerator(seed: 1, capabilities: everything)
        for _ in 0..<200 { _ = generator.next() }
        let early = generator.coverage
        for _ in 0..<400 { _ = generator.next() }
        let triples = generator.tripleCoverage
        let quadruples = generator.coreCoverage
        for _ in 0..<1_400 { _ = generator.next() }
        #expect(quadruples >= 600)
        #expect(generator.coreCoverage - quadruples <= quadruples / 50, "\(quadruples) then \(generator.coreCoverage)")
        // What 200 scenarios cover, 2,000 barely add to: the pairs are covered early; the triples by 600.
        #expect(early >= 1_000)
        #expect(generator.coverage - early <= 10)
        #expect(triples >= 12_000)
        #expect(generator.tripleCoverage - triples <= triples / 50, "\(triples) then \(generator.tripleCoverage)")
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
