import Conformance
import Foundation
import Harness
import Mutants
import ProviderCatalogue
import TestSupport
import Testing

/// The built-in providers against the whole suite, each for the verdicts it is known for: the reference passes
/// every case; posix deviates exactly where its expectations file (the one list of its deviations) says Linux
/// differs from SPEC.md, and nowhere else. That each case can fail at all is `teardown power`'s to show.
@Suite(.enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? ""))) struct BuiltInProviders {
    @Test func theReferencePassesEveryCase() throws {
        try withTemporaryDirectory { directory in
            let (output, report) = try runSuite(["--provider", "reference"], in: directory, within: 300)
            #expect(output.status == 0, "\(output.output)\(output.errors)")
            let results = try #require(report?.results)
            let instances = CaseLoader.loadDirectory("\(suiteDirectory)/cases", statements: statements).cases.flatMap(\.instances)
            #expect(results.count == instances.count)
            let notPassing = results.filter { $0.verdict != .pass && $0.verdict != .informational }
            #expect(notPassing.isEmpty, "\(notPassing.map { "\($0.id): \($0.verdict) \($0.messages)" })")
        }
    }

    @Test func posixDeviatesExactlyAsItsExpectationsFileSays() throws {
        try withTemporaryDirectory { directory in
            let expectations = "\(suiteDirectory)/expectations/posix.yaml"
            let (output, report) = try runSuite(["--provider", "posix", "--expectations", expectations], in: directory, within: 600)
            // Exit 0: every listed deviation happened, and nothing else failed.
            #expect(output.status == 0, "\(output.output)\(output.errors)")
            let results = try #require(report?.results)
            let unexpected = results.filter { [.fail, .nonStrict, .error].contains($0.verdict) && $0.expectedDeviation == nil }
            #expect(unexpected.isEmpty, "\(unexpected.map { "\($0.id): \($0.verdict) \($0.messages)" })")
            let known = try Expectations.load(path: expectations)
            for deviation in known.deviations {
                #expect(
                    results.contains { $0.expectedDeviation != nil && glob(deviation.cases, $0.id) },
                    "posix no longer deviates in \(deviation.cases): the expectations file lists a deviation that did not occur")
            }
        }
    }

    @Test func everyProviderNameResolvesAndAnUnknownOneSaysWhatTheNamesAre() throws {
        for name in ProviderKind.allCases.map(\.rawValue) + Mistake.allCases.map({ "mutant:\($0.rawValue)" }) {
            #expect(try ProviderFactory.named(name).name == name)
        }
        #expect(throws: ProviderNameError.self) { try ProviderFactory.named("mutant:nope") }
        do {
            _ = try ProviderFactory.named("nope")
        } catch {
            #expect("\(error)".contains("reference, posix"))
        }
    }
}
