import ArgumentParser
import Conformance
import Foundation

/// The report files `teardown run` and `teardown merge` write besides their console summary.
struct ReportFiles: ParsableArguments {
    @Option(help: "Write the results as JSON here (format teardown-run/1).")
    var json: String?

    @Option(help: "Write JUnit XML here.")
    var junit: String?

    @Option(help: "Write the HTML report here (teardown run always writes report.html into its report directory too).")
    var html: String?

    /// Writes the files asked for and, when there is a report directory, its results.json and report.html.
    func write(_ report: RunReport, statements: [Statement], cases: [Case], directory: String?) {
        let jsonText: String
        do {
            jsonText = try stableJSON(report)
        } catch {
            Teardown.exit("cannot encode the results: \(error)", code: 2)
        }
        for path in (directory.map { ["\($0)/results.json"] } ?? []) + (json.map { [$0] } ?? []) { writeFile(jsonText, to: path) }
        if let junit { writeFile(JUnitReport.render(report), to: junit) }
        let htmlPaths = (directory.map { ["\($0)/report.html"] } ?? []) + (html.map { [$0] } ?? [])
        guard !htmlPaths.isEmpty else { return }
        let described = explanations(cases, statements)
        for path in htmlPaths {
            writeFile(HTMLReport.render(report, statements: statements, explanations: described, location: path), to: path)
        }
    }
}

/// Writes `text` to `path`, or ends the command with exit 2 saying why not.
func writeFile(_ text: String, to path: String) {
    do {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    } catch {
        Teardown.exit("cannot write \(path): \(error.localizedDescription)", code: 2)
    }
}

/// The results of a run from its results.json (or --json file), or the end of the command with exit 2 saying why not.
func readReport(_ path: String) -> RunReport {
    guard let data = FileManager.default.contents(atPath: path) else { Teardown.exit("cannot read \(path)", code: 2) }
    do {
        return try JSONDecoder().decode(RunReport.self, from: data)
    } catch {
        Teardown.exit("\(path) is not the JSON results of teardown run: \(error)", code: 2)
    }
}
