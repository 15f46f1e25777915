import Foundation
import Yams

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
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CaseFileError(SourceLocation(file: path, line: 0), "cannot read the expectations: \(error.localizedDescription)")
        }
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw CaseFileError(SourceLocation(file: path, line: 1), "the file is empty; expected provider and deviations")
            }
            root = composed
        } catch let error as CaseFileError {
            throw error
        } catch {
            throw CaseLoader.yamlError(error, file: path)
        }
        let fields = Dictionary(
            try reader.mapping(root, what: "an expectations file", allowed: ["provider", "deviations"]), uniquingKeysWith: { a, _ in a })
        guard let providerNode = fields["provider"] else { throw reader.fail(root, "the expectations file has no 'provider'") }
        var expectations = Expectations(provider: try reader.string(providerNode, "the provider"))
        for item in fields["deviations"]?.sequence ?? [] {
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

    /// Marks the results that match a deviation; returns the deviations whose cases ran without deviating.
    public func apply(to results: inout [CaseResult]) -> [Deviation] {
        var stale: [Deviation] = []
        for deviation in deviations {
            var matched = false
            var occurred = false
            for index in results.indices where Self.glob(deviation.cases, matches: results[index].id) {
                matched = true
                if results[index].verdict == deviation.verdict {
                    results[index].expectedDeviation = deviation.note
                    occurred = true
                }
            }
            if matched && !occurred { stale.append(deviation) }
        }
        return stale
    }

    static func glob(_ pattern: String, matches text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }
}
