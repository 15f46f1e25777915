import Foundation

/// A whole run: what was run against which provider, and every result.
public struct RunReport: Sendable, Codable {
    public var format = "teardown-run/1"
    public var provider: String
    public var seed: UInt64
    public var started: String
    public var seconds: Double
    public var repeatCount: Int
    public var shard: String?
    public var captureDirectory: String?
    public var results: [CaseResult]
    /// Deviations the expectations file lists whose cases ran without deviating.
    public var staleDeviations: [String]
    /// Every deviation of the expectations file, with how many results it matched and how many deviated.
    public var deviations: [DeviationUse]
    /// Instances whose verdicts differed between repetitions.
    public var unstable: [String]
    public var exitCode: Int32

    public init(
        provider: String, seed: UInt64, started: String, seconds: Double, repeatCount: Int, shard: String?, captureDirectory: String?,
        results: [CaseResult], deviations: [DeviationUse], unstable: [String]
    ) {
        self.provider = provider
        self.seed = seed
        self.started = started
        self.seconds = seconds
        self.repeatCount = repeatCount
        self.shard = shard
        self.captureDirectory = captureDirectory
        self.results = results
        self.deviations = deviations
        staleDeviations = deviations.filter(\.isStale).map(\.description)
        self.unstable = unstable
        exitCode = RunVerdict.of(results: results, stale: staleDeviations, unstable: unstable).exitCode
    }

    /// How the run came out; what every report says, in its own words.
    public var verdict: RunVerdict { RunVerdict(rawValue: exitCode) ?? .notJudged }

    /// Combines the reports of the shards of one run into the report of the whole: their results, their
    /// deviations' counts added up (a deviation is stale only if it occurred in no shard), and one exit code.
    public static func merge(_ reports: [RunReport]) throws(MergeError) -> RunReport {
        guard let first = reports.first else { throw MergeError("no reports to merge") }
        try checkShards(reports)
        for report in reports where report.provider != first.provider || report.seed != first.seed {
            throw MergeError(
                "the reports are of different runs: provider \(report.provider) seed \(report.seed) against \(first.provider) seed \(first.seed)"
            )
        }
        var results: [CaseResult] = []
        var seen: Set<String> = []
        for report in reports {
            for result in report.results {
                guard seen.insert(result.id).inserted else { throw MergeError("\(result.id) is in more than one report") }
                results.append(result)
            }
        }
        var deviations: [DeviationUse] = []
        for report in reports {
            for use in report.deviations {
                if let index = deviations.firstIndex(where: { $0.cases == use.cases && $0.note == use.note }) {
                    deviations[index].matched += use.matched
                    deviations[index].occurred += use.occurred
                } else {
                    deviations.append(use)
                }
            }
        }
        return RunReport(
            provider: first.provider, seed: first.seed, started: reports.map(\.started).min() ?? first.started,
            seconds: reports.map(\.seconds).max() ?? 0, repeatCount: first.repeatCount, shard: nil, captureDirectory: nil,
            results: results.sorted { $0.id < $1.id }, deviations: deviations, unstable: Array(Set(reports.flatMap(\.unstable))).sorted())
    }

    /// The reports must be the shards of one run, each once and none missing: a merge of part of a run
    /// would call the run conformant on the cases it never saw.
    static func checkShards(_ reports: [RunReport]) throws(MergeError) {
        if reports.count == 1 && reports[0].shard == nil { return }
        var count: Int?
        var seen: Set<Int> = []
        for report in reports {
            guard let shard = report.shard, let parsed = parseShard(shard) else {
                throw MergeError("a report of a whole run (no --shard) cannot be merged with others; merge takes the shards of one run")
            }
            if let count, count != parsed.count {
                throw MergeError("the reports are shards of different splits: \(count) shards and \(parsed.count) shards")
            }
            count = parsed.count
            guard seen.insert(parsed.index).inserted else { throw MergeError("shard \(shard) is given twice") }
        }
        if let count {
            let missing = (1...count).filter { !seen.contains($0) }
            guard missing.isEmpty else {
                let names = missing.prefix(10).map { "\($0)/\(count)" }.joined(separator: ", ")
                throw MergeError(
                    "the shards are incomplete: \(missing.count) of \(count) missing (\(names)\(missing.count > 10 ? ", ..." : ""))")
            }
        }
    }

    /// "I/N" as numbers (1 <= I <= N), or nil when it is not of that form.
    public static func parseShard(_ text: String) -> (index: Int, count: Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (1...count).contains(index) else {
            return nil
        }
        return (index, count)
    }

    /// How the whole run came out, as the summaries count it.
    public var verdictCounts: VerdictCounts { VerdictCounts(results) }
}

/// How results came out, as every summary counts them: a known deviation counts under `expected` instead of its
/// verdict, except a pass, which counts under both.
public struct VerdictCounts: Sendable {
    private var byVerdict: [Verdict: Int] = [:]
    public private(set) var expected = 0

    public init(_ results: [CaseResult]) {
        for result in results {
            if result.expectedDeviation != nil { expected += 1 }
            if result.expectedDeviation == nil || result.verdict == .pass { byVerdict[result.verdict, default: 0] += 1 }
        }
    }

    public subscript(_ verdict: Verdict) -> Int { byVerdict[verdict] ?? 0 }
}

/// How the results that check one statement came out.
public struct StatementTally: Sendable {
    public var statement: Statement
    public var cases: Int
    public var counts: VerdictCounts

    /// The counts in the order the summaries print them: pass, fail, expected, non-strict, informational, skipped, error.
    public var columns: [Int] {
        [counts[.pass], counts[.fail], counts.expected] + [Verdict.nonStrict, .informational, .skipped, .error].map { counts[$0] }
    }

    public static let columnNames = ["pass", "fail", "expected", "non-strict", "info", "skipped", "error"]
}

extension RunReport {
    /// For each statement some result checks, how those results came out.
    public func tally(_ statements: [Statement]) -> [StatementTally] {
        statements.compactMap { statement in
            let mine = results.filter { $0.statements.contains(statement.id) }
            guard !mine.isEmpty else { return nil }
            return StatementTally(statement: statement, cases: mine.count, counts: VerdictCounts(mine))
        }
    }
}

/// Why reports could not be merged.
public struct MergeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How a whole run came out, with its exit code: the one judgement that the console, JSON, JUnit and HTML
/// reports and the command line's exit all read.
public enum RunVerdict: Int32, Sendable, CaseIterable {
    /// Every case as required, or a deviation the expectations file lists.
    case conformant = 0
    /// An unexpected failure, or a listed deviation that did not occur.
    case notConformant = 1
    /// A harness or environment error (or verdicts that differed between repetitions): the provider is not judged.
    case notJudged = 2

    public var exitCode: Int32 { rawValue }

    /// Not judged on any harness or environment error (or unstable verdicts); else not conformant on an unexpected
    /// failure or a listed deviation that did not occur; else conformant.
    public static func of(results: [CaseResult], stale: [String], unstable: [String]) -> RunVerdict {
        if results.contains(where: { $0.verdict == .error && $0.expectedDeviation == nil }) || !unstable.isEmpty { return .notJudged }
        if results.contains(where: \.isUnexpectedFailure) || !stale.isEmpty { return .notConformant }
        return .conformant
    }
}
