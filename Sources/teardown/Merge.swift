import ArgumentParser
import Conformance
import Foundation

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
        let reports = files.map(readReport)
        let merged: RunReport
        do {
            merged = try RunReport.merge(reports)
        } catch {
            Self.exit("\(error)", code: 2)
        }
        let (statements, cases, _) = suite.load()
        reportFiles.write(merged, statements: statements, cases: cases, directory: nil)
        print(ConsoleReport.summary(merged, statements: statements), terminator: "")
        if merged.exitCode != 0 { throw ExitCode(merged.exitCode) }
    }
}
