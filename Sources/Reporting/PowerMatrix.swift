public import Conformance
import Foundation

/// Which cases catch which mutants: the suite's power, as `teardown power` prints it.
public struct PowerMatrix: Sendable {
    public struct Mutant: Sendable {
        public var name: String
        public var summary: String
        /// The statements its mistake breaks.
        public var breaks: [String]
        public var results: [CaseResult]

        public init(name: String, summary: String, breaks: [String], results: [CaseResult]) {
            self.name = name
            self.summary = summary
            self.breaks = breaks
            self.results = results
        }

        /// The results that caught the mistake: a failure of a MUST or SHOULD statement.
        var caught: [CaseResult] { results.filter { $0.verdict == .fail || $0.verdict == .nonStrict } }

        /// The results that caught it by checking a statement it breaks.
        var caughtRightly: [CaseResult] { caught.filter { !Set($0.statements).isDisjoint(with: breaks) } }
    }

    /// A correct provider that mutants are made from: it must pass every case.
    public struct Baseline: Sendable {
        /// Its name, and the short name of its column.
        public var name: String
        public var column: String
        public var results: [CaseResult]

        public init(name: String, column: String, results: [CaseResult]) {
            self.name = name
            self.column = column
            self.results = results
        }

        var failures: [CaseResult] { results.filter { $0.verdict == .fail || $0.verdict == .nonStrict } }
        var errors: Int { results.filter { $0.verdict == .error }.count }
    }

    /// The reference provider first, then the other providers mutants are made from (the example in C).
    public var baselines: [Baseline]
    public var mutants: [Mutant]

    public init(reference: [CaseResult], mutants: [Mutant], otherBaselines: [Baseline] = []) {
        self.baselines = [Baseline(name: "reference", column: "ref", results: reference)] + otherBaselines
        self.mutants = mutants
    }

    public var reference: [CaseResult] { baselines[0].results }
    /// Failures of the baselines, which must pass everything.
    public var referenceFailures: Int { baselines.map(\.failures.count).reduce(0, +) }
    public var referenceErrors: Int { baselines.map(\.errors).reduce(0, +) }
    public var allCaughtRightly: Bool { mutants.allSatisfy { !$0.caughtRightly.isEmpty } }

    /// The mark of one case against one mutant: X caught by a case of a broken statement (S: only at the SHOULD
    /// level, non-strict), x caught by another, E error, . passed.
    func mark(_ caseID: String, _ mutant: Mutant) -> Character {
        let mine = mutant.results.filter { $0.caseID == caseID }
        let rightly = mutant.caughtRightly.filter { $0.caseID == caseID }
        if rightly.contains(where: { $0.verdict == .fail }) { return "X" }
        if !rightly.isEmpty { return "S" }
        if mutant.caught.contains(where: { $0.caseID == caseID }) { return "x" }
        if mine.contains(where: { $0.verdict == .error }) { return "E" }
        // Some instances not run, and none of the others caught it: what they would have shown is unknown.
        if mine.contains(where: \.notRun) { return "-" }
        return "."
    }

    public func render() -> String {
        let caseIDs = Array(Set(baselines.flatMap { $0.results.map(\.caseID) } + mutants.flatMap { $0.results.map(\.caseID) })).sorted()
        let width = max(4, caseIDs.map(\.count).max() ?? 4)
        var lines = ["Mutants:"]
        for (index, mutant) in mutants.enumerated() {
            lines.append(
                "  \(pad(String(index + 1), 3, right: true)) \(mutant.name): \(mutant.summary) (breaks \(mutant.breaks.joined(separator: ", ")))"
            )
        }
        lines.append("")
        let numbers = mutants.indices.map { pad(String($0 + 1), 3, right: true) }.joined()
        lines.append(pad("case", width) + baselines.map { pad($0.column, 5, right: true) }.joined() + numbers)
        for caseID in caseIDs {
            let baselineMarks = baselines.map { baseline in
                baseline.failures.contains { $0.caseID == caseID } ? "    F" : "    ."
            }
            let marks = mutants.map { "  \(mark(caseID, $0))" }.joined()
            lines.append(pad(caseID, width) + baselineMarks.joined() + marks)
        }
        lines.append("")
        lines.append(
            "X caught by a case of a statement the mistake breaks (S: at the SHOULD level only, non-strict); x caught by another case; E error; . passed; - not run (already caught)"
        )
        lines.append("")
        for (index, mutant) in mutants.enumerated() {
            let rightly = Set(mutant.caughtRightly.map(\.caseID)).sorted()
            let onlyShould = !rightly.isEmpty && !mutant.caughtRightly.contains { $0.verdict == .fail }
            let verdict =
                rightly.isEmpty
                ? (mutant.caught.isEmpty ? "NOT CAUGHT" : "caught, but by no case of \(mutant.breaks.joined(separator: ", "))")
                : "caught \(onlyShould ? "at the SHOULD level " : "")by \(rightly.joined(separator: ", "))"
            let nonStrict = mutant.caught.filter { $0.verdict == .nonStrict }.count
            let notRun = mutant.results.filter(\.notRun).count
            let counts =
                (nonStrict == 0
                    ? "\(mutant.caught.count) instances fail"
                    : "\(mutant.caught.count - nonStrict) instances fail, \(nonStrict) non-strict")
                + (notRun > 0 ? ", \(notRun) not run" : "")
            lines.append("  \(index + 1) \(mutant.name): \(verdict) (\(counts))")
        }
        let caught = mutants.filter { !$0.caughtRightly.isEmpty }.count
        lines.append("")
        let baselineWords = baselines.map { baseline in
            "\(baseline.name): \(baseline.results.count - baseline.failures.count - baseline.errors) of \(baseline.results.count) instances without a failure"
                + (baseline.errors > 0 ? ", \(baseline.errors) errors" : "")
        }
        lines.append(
            "\(caught) of \(mutants.count) mutants caught by a case of a statement they break; \(baselineWords.joined(separator: "; "))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The matrix for tools: per mutant, the cases that caught it.
    public var summary: PowerSummary {
        PowerSummary(
            referenceFailures: baselines.flatMap { baseline in
                baseline.failures.map { baseline.name == "reference" ? $0.id : "\(baseline.name): \($0.id)" }
            },
            mutants: mutants.map { mutant in
                PowerSummary.Entry(
                    name: mutant.name, breaks: mutant.breaks, caughtBy: Set(mutant.caught.map(\.caseID)).sorted(),
                    caughtRightlyBy: Set(mutant.caughtRightly.map(\.caseID)).sorted())
            })
    }

    func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let space = String(repeating: " ", count: width - text.count)
        return right ? space + text : text + space
    }
}

/// `teardown power --json`: format `teardown-power/1`.
public struct PowerSummary: Sendable, Codable {
    public struct Entry: Sendable, Codable {
        public var name: String
        public var breaks: [String]
        public var caughtBy: [String]
        public var caughtRightlyBy: [String]
    }

    public var format = "teardown-power/1"
    public var referenceFailures: [String]
    public var mutants: [Entry]
}

extension CaseResult {
    /// Skipped because its batch had stopped (a mutant already caught), not for a capability it lacks.
    var notRun: Bool { verdict == .skipped && messages.first?.hasPrefix(Runner.notRun) == true }
}
