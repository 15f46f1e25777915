public import Conformance
import Foundation
import WireAnalysis

/// The report of a run as one self-contained HTML file (no script, no fetch: it opens offline): the verdict,
/// a summary by statement and by case, then each case with its statements, expected against actual, and
/// its ladder. Cases that need attention come first and open; the others are folded.
public enum HTMLReport {
    /// - Parameters:
    ///   - cases: the cases that ran, so that each instance is described as `teardown explain` describes it.
    ///   - location: where the HTML file will be written, so that links to the pcaps are relative to it.
    public static func render(_ report: RunReport, statements: [Statement], cases: [Case] = [], location: String) -> String {
        var explanations: [String: String] = [:]
        for instance in cases.flatMap(\.instances) { explanations[instance.id] = Explainer.explain(instance, statements: statements) }
        let ordered = report.results.sorted { (rank($0), $0.id) < (rank($1), $1.id) }
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>Teardown: \(Markup.escape(report.provider)), \(verdictText(report))</title>
            <style>\(style)
            \(LadderSVG.style)</style></head>
            <body>
            \(LadderSVG.definitions)
            <h1>Teardown: <code>\(Markup.escape(report.provider))</code> is <span class="\(verdictClass(report))">\(verdictText(report))</span></h1>
            <p class="meta">\(report.results.count) case instances in \(String(format: "%.1f", report.seconds)) s; exit code \(report.exitCode); \
            seed <code>\(report.seed)</code> (<code>--seed \(report.seed)</code> replays it); started \(Markup.escape(report.started))\
            \(report.shard.map { "; shard \(Markup.escape($0))" } ?? "")\(report.repeatCount > 1 ? "; \(report.repeatCount) rounds" : "").</p>
            <p class="counts">\(counts(report))</p>

            """
        if !report.staleDeviations.isEmpty || !report.unstable.isEmpty {
            html += "<div class=\"warn\"><ul>"
            for stale in report.staleDeviations {
                html += "<li>Stale expectation (listed as a deviation, but the cases ran without deviating): \(Markup.escape(stale))</li>"
            }
            for id in report.unstable { html += "<li>Unstable: <code>\(Markup.escape(id))</code>'s verdict differed between rounds</li>" }
            html += "</ul></div>\n"
        }
        html += statementTable(report, statements)
        html += caseTable(ordered)
        html += "<h2>Cases</h2>\n"
        for result in ordered {
            html += section(result, statements, explanation: explanations[result.id], location: location)
        }
        return html + "</body></html>\n"
    }

    /// Errors first, then failures, non-strict results, known deviations, and the rest.
    static func rank(_ result: CaseResult) -> Int {
        if result.expectedDeviation != nil { return 3 }
        switch result.verdict {
        case .error: return 0
        case .fail: return 1
        case .nonStrict: return 2
        case .informational: return 4
        case .skipped: return 5
        case .pass: return 6
        }
    }

    static func verdictClass(_ report: RunReport) -> String {
        switch report.verdict {
        case .conformant: "v-pass"
        case .notConformant: "v-fail"
        case .notJudged: "v-error"
        }
    }

    static func verdictText(_ report: RunReport) -> String {
        switch report.verdict {
        case .conformant: "conformant"
        case .notConformant: "NOT conformant"
        case .notJudged: "not judged: harness or environment error"
        }
    }

    static func badge(_ result: CaseResult) -> String {
        let name = result.expectedDeviation != nil ? "expected \(result.verdict.rawValue)" : result.verdict.rawValue
        let style = result.expectedDeviation != nil ? "expected" : result.verdict.rawValue
        return "<span class=\"badge b-\(style)\">\(name)</span>"
    }

    static func counts(_ report: RunReport) -> String {
        let counts = report.verdictCounts
        var parts = Verdict.allCases.compactMap { verdict -> String? in
            counts[verdict] == 0 ? nil : "<span class=\"badge b-\(verdict.rawValue)\">\(counts[verdict]) \(verdict.rawValue)</span>"
        }
        if counts.expected > 0 { parts.append("<span class=\"badge b-expected\">\(counts.expected) expected deviations</span>") }
        return parts.joined(separator: " ")
    }

    static func statementTable(_ report: RunReport, _ statements: [Statement]) -> String {
        var html = "<h2>By statement</h2>\n<table class=\"summary\"><tr><th>statement</th><th>level</th><th>text</th><th>cases</th>"
        html += StatementTally.columnNames.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for tally in report.tally(statements) {
            let bad = tally.counts[.fail] + tally.counts[.error] + tally.counts[.nonStrict] > 0
            html +=
                "<tr class=\"\(bad ? "bad" : "")\"><td><code>\(tally.statement.id)</code></td><td>\(tally.statement.level.rawValue)</td>"
            html += "<td class=\"text\">\(Markup.escape(tally.statement.text))</td><td class=\"n\">\(tally.cases)</td>"
            html +=
                zip(StatementTally.columnNames, tally.columns).map { name, n in
                    n == 0 ? "<td></td>" : "<td class=\"n c-\(name)\">\(n)</td>"
                }.joined() + "</tr>\n"
        }
        return html + "</table>\n"
    }

    /// The instances that need attention in a table; the others in a folded one.
    static func caseTable(_ ordered: [CaseResult]) -> String {
        func table(_ results: [CaseResult]) -> String {
            var html = "<table class=\"summary\"><tr><th>case instance</th><th>verdict</th><th>statements</th><th>time</th></tr>\n"
            for result in results {
                html += "<tr><td><a href=\"#\(anchor(result))\"><code>\(Markup.escape(result.id))</code></a></td><td>\(badge(result))</td>"
                html +=
                    "<td>\(result.statements.joined(separator: ", "))</td><td class=\"n\">\(String(format: "%.2f", result.seconds)) s</td></tr>\n"
            }
            return html + "</table>\n"
        }
        let attention = ordered.filter(\.needsAttention)
        let others = ordered.filter { !$0.needsAttention }
        var html = "<h2>By case</h2>\n"
        html +=
            attention.isEmpty
            ? "<p class=\"held\">No case failed, deviated or could not be judged.</p>\n"
            : "<p>\(attention.count == 1 ? "1 instance needs" : "\(attention.count) instances need") attention:</p>\n" + table(attention)
        if !others.isEmpty {
            html +=
                "<details><summary>\(others.count) other instances (pass, informational, skipped)</summary>\n\(table(others))</details>\n"
        }
        return html
    }

    static func anchor(_ result: CaseResult) -> String { "case-" + Runner.fileName(result.id) }

    static func section(_ result: CaseResult, _ statements: [Statement], explanation: String?, location: String) -> String {
        var html = "<section class=\"case\" id=\"\(anchor(result))\"><details\(result.needsAttention ? " open" : "")>"
        html += "<summary>\(badge(result)) <code>\(Markup.escape(result.id))</code> \(Markup.escape(result.title))</summary>\n"
        html += "<ul class=\"statements\">"
        for id in result.statements {
            let statement = statements.first { $0.id == id }
            html +=
                "<li><b>\(id)</b> (\(statement?.level.rawValue.uppercased() ?? "?")): \(Markup.escape(statement?.text ?? "not in this suite's statements"))</li>"
        }
        html += "</ul>\n"
        if let note = result.expectedDeviation {
            html += "<p class=\"note\">Known deviation of this provider: \(Markup.escape(note))</p>\n"
        }
        html += findings(result)
        if let faults = result.faults, !faults.isEmpty {
            html +=
                "<p><b>Faults injected</b></p><ol class=\"faults\">" + faults.map { "<li>\(Markup.escape($0))</li>" }.joined() + "</ol>\n"
        }
        if let pcap = result.pcap {
            html += "<p>Capture: <a href=\"\(Markup.escape(relativePath(pcap, from: location)))\">\(Markup.escape(pcap))</a> "
            html += "(<code>teardown inspect</code>, tshark or Wireshark read it)</p>\n"
        }
        if let ladder = result.ladder {
            html += "<div class=\"ladder-box\">\(LadderSVG.render(ladder))</div>\n"
        }
        if let explanation {
            html += "<details class=\"explain\"><summary>What the case does</summary><pre>\(Markup.escape(explanation))</pre></details>\n"
        }
        return html + "</details></section>\n"
    }

    /// Expected against actual: each finding that says what was expected and what was seen is split in two.
    static func findings(_ result: CaseResult) -> String {
        if result.messages.isEmpty {
            return result.verdict == .pass ? "<p class=\"held\">Every expectation held.</p>\n" : ""
        }
        if result.verdict == .skipped || result.verdict == .error {
            let title = result.verdict == .skipped ? "Why it was skipped" : "What went wrong (neither a pass nor a fail)"
            return "<p><b>\(title)</b></p><ul class=\"messages\">" + result.messages.map { "<li>\(Markup.escape($0))</li>" }.joined()
                + "</ul>\n"
        }
        var html = "<table class=\"findings\"><tr><th>expected</th><th>actual</th></tr>\n"
        for message in result.messages {
            if let (expected, actual) = split(message) {
                html += "<tr><td>\(Markup.escape(expected))</td><td class=\"actual\">\(Markup.escape(actual))</td></tr>\n"
            } else {
                html += "<tr><td colspan=\"2\" class=\"actual\">\(Markup.escape(message))</td></tr>\n"
            }
        }
        return html + "</table>\n"
    }

    /// "line 12: close expected success; got wouldBlock" -> ("line 12: close expected success", "got wouldBlock").
    static func split(_ message: String) -> (String, String)? {
        guard let expected = message.range(of: "expected"),
            let separator = message.range(of: "; ", range: expected.upperBound..<message.endIndex)
        else { return nil }
        return (String(message[..<separator.lowerBound]), String(message[separator.upperBound...]))
    }

    /// `path` as a link from the directory of the file at `location`.
    static func relativePath(_ path: String, from location: String) -> String {
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        let base = URL(fileURLWithPath: location).standardizedFileURL.deletingLastPathComponent().pathComponents
        var common = 0
        while common < min(target.count, base.count) && target[common] == base[common] { common += 1 }
        let up = Array(repeating: "..", count: base.count - common)
        return (up + target[common...]).joined(separator: "/")
    }

    static let style = """
        body { font: 14px/1.4 "DejaVu Sans", system-ui, sans-serif; margin: 24px; color: #222; max-width: 1340px; }
        h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ccc; }
        code { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 13px; }
        .meta { color: #555; }
        .v-pass { color: #2e7d32; } .v-fail { color: #c62828; } .v-error { color: #6a1b9a; }
        .badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 12px; font-weight: bold; color: #fff; }
        .b-pass { background: #2e7d32; } .b-fail { background: #c62828; } .b-non-strict { background: #ef6c00; }
        .b-informational { background: #546e7a; } .b-skipped { background: #9e9e9e; } .b-error { background: #6a1b9a; }
        .b-expected { background: #8d6e63; }
        table { border-collapse: collapse; margin: 8px 0; }
        th, td { border: 1px solid #ddd; padding: 3px 7px; vertical-align: top; text-align: left; }
        th { background: #f3f3f3; }
        td.n { text-align: right; } td.text { max-width: 560px; font-size: 13px; }
        td.c-fail { background: #ffcdd2; } td.c-error { background: #e1bee7; } td.c-non-strict { background: #ffe0b2; }
        td.c-expected { background: #d7ccc8; } td.c-pass { color: #2e7d32; }
        tr.bad td:first-child { border-left: 4px solid #c62828; }
        section.case { margin: 10px 0; border: 1px solid #ddd; border-radius: 4px; padding: 4px 10px; }
        section.case > details > summary { cursor: pointer; font-size: 15px; padding: 4px 0; }
        ul.statements { margin: 6px 0; padding-left: 20px; font-size: 13px; }
        table.findings td { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; max-width: 640px; }
        table.findings td.actual { background: #fff3f3; }
        .held { color: #2e7d32; } .note { background: #efebe9; padding: 4px 8px; }
        .warn { background: #fff8e1; border: 1px solid #ffcc80; padding: 4px 10px; }
        .ladder-box { overflow-x: auto; margin: 8px 0; }
        details.explain pre { background: #f7f7f7; padding: 8px; font-size: 12px; white-space: pre-wrap; }
        """
}
