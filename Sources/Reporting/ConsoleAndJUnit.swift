public import Conformance
import Foundation

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
        let verdictText =
            switch report.verdict {
            case .conformant: "conformant"
            case .notConformant: "NOT conformant"
            case .notJudged: "harness or environment ERROR"
            }
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
