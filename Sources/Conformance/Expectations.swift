import Foundation
import Yams

/// How a listed deviation fared in a run: the results its glob matched, and how many of them deviated.
public struct DeviationUse: Sendable, Codable, Equatable {
    public var cases: String
    public var note: String
    public var location: String
    public var matched: Int
    public var occurred: Int

    /// Its cases ran, and none deviated: the list is no longer exact.
    public var isStale: Bool { matched > 0 && occurred == 0 }

    public var description: String { "\(cases) (\(location)): \(note)" }
}

/// A provider's known deviations: results the run reports as expected instead of failing on them.
public struct Expectations: Sendable {
    public struct Deviation: Sendable {
        /// A glob over instance ids (`pend.receive*`).
        public var cases: String
        public var verdict: Verdict
        public var note: String
        public var location: SourceLocation
    }

    public var provider: String
    public var deviations: [Deviation]

    public init(provider: String, deviations: [Deviation] = []) {
        self.provider = provider
        self.deviations = deviations
    }

    /// Loads an expectations file.
    public static func load(path: String) throws(CaseFileError) -> Expectations {
        let reader = NodeReader(file: path)
        let root = try reader.document("the expectations", expecting: "provider and deviations")
        let fields = Dictionary(
            try reader.mapping(root, what: "an expectations file", allowed: ["provider", "deviations"]), uniquingKeysWith: { a, _ in a })
        guard let providerNode = fields["provider"] else { throw reader.fail(root, "the expectations file has no 'provider'") }
        var expectations = Expectations(provider: try reader.string(providerNode, "the provider"))
        var items: [Node] = []
        if let list = fields["deviations"] {
            guard let sequence = list.sequence else {
                throw reader.fail(list, "expected deviations as a list of {cases, note} entries (an empty list is [])")
            }
            items = Array(sequence)
        }
        for item in items {
            let entry = Dictionary(
                try reader.mapping(item, what: "a deviation", allowed: ["cases", "verdict", "note"]), uniquingKeysWith: { a, _ in a })
            guard let cases = entry["cases"], let note = entry["note"] else {
                throw reader.fail(item, "a deviation needs 'cases' (a glob over case ids) and 'note' (why)")
            }
            var verdict = Verdict.fail
            if let node = entry["verdict"] {
                let text = try reader.string(node, "the verdict")
                guard let parsed = Verdict(rawValue: text), [.fail, .nonStrict, .error].contains(parsed) else {
                    throw reader.fail(node, "expected the verdict as fail, non-strict or error, not '\(text)'")
                }
                verdict = parsed
            }
            expectations.deviations.append(
                Deviation(
                    cases: try reader.string(cases, "the cases"), verdict: verdict, note: try reader.string(note, "the note"),
                    location: reader.location(item)))
        }
        return expectations
    }

    /// Marks the results that match a deviation; returns, for each deviation, how many results it matched and how
    /// many of those deviated (a deviation that matched some and saw none deviate is stale).
    public func apply(to results: inout [CaseResult]) -> [DeviationUse] {
        deviations.map { deviation in
            var use = DeviationUse(
                cases: deviation.cases, note: deviation.note, location: deviation.location.description, matched: 0, occurred: 0)
            for index in results.indices where Self.glob(deviation.cases, matches: results[index].id) {
                use.matched += 1
                if results[index].verdict == deviation.verdict {
                    results[index].expectedDeviation = deviation.note
                    use.occurred += 1
                }
            }
            return use
        }
    }

    /// The deviations whose glob matches none of `ids` (the whole suite's instance ids): a typo, or a case
    /// that was renamed, which would otherwise be silently ignored.
    public func unmatched(by ids: [String]) -> [Deviation] {
        deviations.filter { deviation in !ids.contains { Self.glob(deviation.cases, matches: $0) } }
    }

    static func glob(_ pattern: String, matches text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }
}
