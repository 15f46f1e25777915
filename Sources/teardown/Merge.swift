import ArgumentParser
import Conformance
import Foundation
import Reporting

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the JSON results of the shards of a run into one report and one exit code.",
        discussion: """
            Each FILE is a results.json (or --json output) of `teardown run --shard I/N` with the same provider and seed. \
            The merged report holds every shard's results; a listed deviation counts as stale only if it occurred in no \
            shard. Prints the summary; --json, --junit and --html write the merged report.

            Exit codes: as teardown run (0 conformant, 1 not, 2 error), or 2 when the files cannot be read or are of \
            different runs.
            """
    )

    @OptionGroup var suite: SuiteOptions

    @Argument(help: "The shards' JSON results.")
    var files: [String]

    @OptionGroup var reportFiles: ReportFiles

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name the shards' JSON results to merge") }
    }

    func run() throws {
        let destinations = try reportFiles.prepare()
        var reports: [RunReport] = []
        for file in files { reports.append(try readReport(file)) }
        let merged: RunReport
        do {
            merged = try RunReport.merge(reports)
        } catch {
            throw CommandFailure("\(error)", code: 2)
        }
        let (statements, cases, _) = try suite.load()
        try destinations.write(merged, statements: statements, cases: cases, directory: nil)
        Console(toStandardError: destinations.usesStandardOutput).write(ConsoleReport.summary(merged, statements: statements))
        if merged.exitCode != 0 { throw ExitCode(merged.exitCode) }
    }
}
