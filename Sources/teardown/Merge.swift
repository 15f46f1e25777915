import ArgumentParser
import Conformance
import Foundation

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the JSON results of the shards of a run into one report and one exit code.",
        discussion: """
            Each FILE is a results.json (or --json output) of `teardown run --shard I/N` with the same provider and seed. \
            The merged report holds every shard's results; a listed deviation counts as stale only if it occurred in no \
            shard. Prints the summary; --json and --junit write the merged report.

            Exit codes: as teardown run (0 conformant, 1 not, 2 error), or 2 when the files cannot be read or are of \
            different runs.
            """
    )

    @OptionGroup var suite: SuiteOptions

    @Argument(help: "The shards' JSON results.")
    var files: [String]

    @Option(help: "Write the merged results as JSON here.")
    var json: String?

    @Option(help: "Write the merged results as JUnit XML here.")
    var junit: String?

    @Option(help: "Write the merged report as one self-contained HTML file here (ladders from the shards' results).")
    var html: String?

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name the shards' JSON results to merge") }
    }

    func run() throws {
        var reports: [RunReport] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { Self.exit("cannot read \(file)", code: 2) }
            do {
                reports.append(try JSONDecoder().decode(RunReport.self, from: data))
            } catch {
                Self.exit("\(file) is not the JSON results of teardown run: \(error)", code: 2)
            }
        }
        let merged: RunReport
        do {
            merged = try RunReport.merge(reports)
        } catch {
            Self.exit("\(error)", code: 2)
        }
        if let json { try stableJSON(merged).write(toFile: json, atomically: true, encoding: .utf8) }
        if let junit { try JUnitReport.render(merged).write(toFile: junit, atomically: true, encoding: .utf8) }
        let (statements, cases, _) = suite.load()
        if let html {
            try HTMLReport.render(merged, statements: statements, explanations: explanations(cases, statements), location: html)
                .write(toFile: html, atomically: true, encoding: .utf8)
        }
        print(ConsoleReport.summary(merged, statements: statements), terminator: "")
        if merged.exitCode != 0 { throw ExitCode(merged.exitCode) }
    }
}
