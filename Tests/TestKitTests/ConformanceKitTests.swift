import Conformance
import Foundation
import Mutants
import ReferenceProvider
import TeardownTestKit
import TestSupport
import Testing

/// The test kit judges: a provider that keeps the statements passes an instance, one that breaks them fails it with
/// the findings, and the kit's own troubles (an unknown instance, an unreadable expectations file) never pass.
@Suite(.enabled(if: ConformanceKit.captureDenied == nil, Comment(rawValue: ConformanceKit.captureDenied ?? "")))
struct ConformanceKitJudges {
    let instance = "linger.abortive[payload=64KiB,blocking=true,role=client,family=ipv4]"

    @Test func theSuiteIsTeardownsOwn() {
        let instances = CaseLoader.loadDirectory("\(suiteDirectory)/cases", statements: statements).cases.flatMap(\.instances)
        #expect(ConformanceKit.instanceIDs() == instances.map(\.id))
        #expect(ConformanceKit.instanceIDs().contains(instance))
    }

    @Test func aConformingProviderPassesAndAMistakeFails() throws {
        try withTemporaryDirectory { directory in
            let good = ConformanceKit(name: "good", reports: directory.path) { ReferenceProvider(upcalls: $0) }
            let passed = good.run(instance)
            #expect(ConformanceKit.problem(in: passed) == nil, "\(passed.messages)")
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("\(Runner.fileName(instance)).pcap").path))
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("\(Runner.fileName(instance)).json").path))

            let bad = ConformanceKit(name: "bad", reports: directory.path) { Mistake.alwaysGraceful.make(upcalls: $0) }
            let failed = bad.run(instance)
            let problem = try #require(ConformanceKit.problem(in: failed))
            #expect(problem.contains("fail"), "\(problem)")
            #expect(problem.contains("RST"), "\(problem)")
        }
    }

    @Test func aListedDeviationIsExpectedAndAnUnreadableListFails() throws {
        try withTemporaryDirectory { directory in
            let list = directory.appendingPathComponent("known.yaml")
            try """
            provider: bad
            deviations:
              - cases: linger.abortive*
                note: closes gracefully whatever the linger option says (LINGER-3)
            """.write(to: list, atomically: true, encoding: .utf8)
            let known = ConformanceKit(name: "bad", expectations: list.path, reports: directory.path) {
                Mistake.alwaysGraceful.make(upcalls: $0)
            }
            let result = known.run(instance)
            #expect(result.expectedDeviation != nil)
            #expect(ConformanceKit.problem(in: result) == nil)

            let unreadable = ConformanceKit(name: "x", expectations: "/nonexistent.yaml", reports: directory.path) {
                ReferenceProvider(upcalls: $0)
            }
            #expect(ConformanceKit.problem(in: unreadable.run(instance)) != nil)
            let good = ConformanceKit(name: "good", reports: directory.path) { ReferenceProvider(upcalls: $0) }
            #expect(ConformanceKit.problem(in: good.run("no.such.case")) != nil)
        }
    }
}
