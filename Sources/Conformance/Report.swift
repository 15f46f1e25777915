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
        exitCode = RunReport.exitCode(results: results, stale: staleDeviations, unstable: unstable)
    }

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

    /// 2 for any harness or environment error (or unstable verdicts), else 1 for an unexpected failure
    /// or a listed deviation that did not occur, else 0.
    public static func exitCode(results: [CaseResult], stale: [String], unstable: [String]) -> Int32 {
        if results.contains(where: { $0.verdict == .error && $0.expectedDeviation == nil }) || !unstable.isEmpty { return 2 }
        if results.contains(where: \.isUnexpectedFailure) || !stale.isEmpty { return 1 }
        return 0
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

/// The end-of-run text: a table by statement, then every failure with expected and actual and its pcap.
public enum ConsoleReport {
    public static func summary(_ report: RunReport, statements: [Statement]) -> String {
        var lines: [String] = []
        let header = ["statement", "level", "cases", "pass", "fail", "expected", "non-strict", "info", "skipped", "error"]
        let rows = report.tally(statements).map { tally in
            [tally.statement.id, tally.statement.level.rawValue, String(tally.cases)] + tally.columns.map { $0 == 0 ? "" : String($0) }
        }
        let widths = header.indices.map { column in ([header[column]] + rows.map { $0[column] }).map(\.count).max()! }
        func format(_ row: [String]) -> String {
            row.enumerated().map { index, cell in
                index == 0
                    ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }
        lines.append(format(header))
        for row in rows { lines.append(format(row)) }
        lines.append("")
        let problems = report.results.filter(\.needsAttention)
        for result in problems {
            let label =
                result.expectedDeviation != nil
                ? "EXPECTED \(result.verdict.rawValue.uppercased())" : result.verdict.rawValue.uppercased()
            lines.append("\(label) \(result.id) (\(result.statements.joined(separator: ", ")))")
            if let note = result.expectedDeviation { lines.append("    known deviation: \(note)") }
            for message in result.messages.prefix(6) { lines.append("    \(message)") }
            if result.messages.count > 6 { lines.append("    ... and \(result.messages.count - 6) more") }
            if let pcap = result.pcap { lines.append("    pcap: \(pcap)") }
        }
        for stale in report.staleDeviations { lines.append("STALE EXPECTATION \(stale)") }
        for id in report.unstable { lines.append("UNSTABLE \(id): its verdict differed between repetitions") }
        let counts = report.verdictCounts
        let expected = counts.expected
        var totals = Verdict.allCases.compactMap { verdict -> String? in
            counts[verdict] > 0 ? "\(counts[verdict]) \(verdict.rawValue)" : nil
        }
        if expected > 0 { totals.append("\(expected) expected deviation\(expected == 1 ? "" : "s")") }
        let verdictText = report.exitCode == 0 ? "conformant" : report.exitCode == 1 ? "NOT conformant" : "harness or environment ERROR"
        lines.append("")
        lines.append(
            "\(report.provider): \(report.results.count) case instances in \(String(format: "%.1f", report.seconds)) s: "
                + totals.joined(separator: ", ") + " -> \(verdictText) (exit \(report.exitCode)), seed \(report.seed)")
        if let directory = report.captureDirectory { lines.append("captures: \(directory)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// JUnit XML: one testcase per case instance.
public enum JUnitReport {
    public static func render(_ report: RunReport) -> String {
        let results = report.results
        let failures = results.filter { $0.isUnexpectedFailure || ($0.verdict == .nonStrict && $0.expectedDeviation == nil) }.count
        let errors = results.filter { $0.verdict == .error && $0.expectedDeviation == nil }.count
        let skipped = results.filter { $0.verdict == .skipped || $0.expectedDeviation != nil }.count
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml +=
            "<testsuites name=\"teardown\" tests=\"\(results.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(String(format: "%.3f", report.seconds))\">\n"
        xml +=
            "  <testsuite name=\"teardown.\(Markup.escape(report.provider))\" tests=\"\(results.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(String(format: "%.3f", report.seconds))\">\n"
        xml +=
            "    <properties>\n      <property name=\"provider\" value=\"\(Markup.escape(report.provider))\"/>\n      <property name=\"seed\" value=\"\(report.seed)\"/>\n    </properties>\n"
        for result in results {
            xml +=
                "    <testcase classname=\"\(Markup.escape(result.caseID))\" name=\"\(Markup.escape(result.id))\" time=\"\(String(format: "%.3f", result.seconds))\">\n"
            xml +=
                "      <properties>\n        <property name=\"statements\" value=\"\(Markup.escape(result.statements.joined(separator: " ")))\"/>\n"
            xml += "        <property name=\"seed\" value=\"\(report.seed)\"/>\n"
            if let pcap = result.pcap { xml += "        <property name=\"pcap\" value=\"\(Markup.escape(pcap))\"/>\n" }
            xml += "      </properties>\n"
            let text = Markup.escape(result.messages.joined(separator: "\n"))
            let first = Markup.escape(result.messages.first ?? "")
            if let note = result.expectedDeviation {
                xml += "      <skipped message=\"expected deviation: \(Markup.escape(note))\">\(text)</skipped>\n"
            } else {
                switch result.verdict {
                case .fail, .nonStrict:
                    xml += "      <failure type=\"\(result.verdict.rawValue)\" message=\"\(first)\">\(text)</failure>\n"
                case .error:
                    xml += "      <error type=\"error\" message=\"\(first)\">\(text)</error>\n"
                case .skipped:
                    xml += "      <skipped message=\"\(first)\"/>\n"
                case .pass, .informational:
                    if !result.messages.isEmpty { xml += "      <system-out>\(text)</system-out>\n" }
                }
            }
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }
}

/// Escaping for text and attribute values in XML, HTML and SVG: &, <, > and ", and control
/// characters (other than newline and tab) left out, as XML cannot carry them.
enum Markup {
    static func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "\n", "\t": result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 { continue }
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
