import ArgumentParser
import Basics
import CShim
import Conformance
import Foundation
import Harness
import PacketCapture
import ProviderCatalogue
import Reporting

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the conformance suite against a provider.",
        discussion: """
            Each case runs against a fresh instance of the provider, with the harness's own peer (plain kernel \
            sockets) at the other end, its traffic captured on the loopback (captures/runs/<run>/<case>.pcap), \
            and its handles, descriptors and threads audited. Cases run concurrently on distinct ports.

            Verdicts: pass; fail (a MUST statement violated); non-strict (a SHOULD statement); informational; \
            skipped (a capability the provider lacks); error (the harness or the environment failed: capture, \
            watchdog, peer). With --expectations, listed deviations are reported as expected.

            Exit codes: 0 conformant; 1 not conformant (an unexpected failure, or a listed deviation that did \
            not occur); 2 harness or environment error; 64 usage error.
            """
    )

    @OptionGroup var suite: SuiteOptions

    @Option(
        help:
            "The provider under test: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")); plugin:PATH (a shared library with the C interface of teardown_provider.h, each case in a worker process); exec:'COMMAND' (a provider in a process of its own speaking docs/provider-protocol.md on its standard input and output); or mutant:NAME (the reference with one mistake; teardown power lists them)."
    )
    var provider = "reference"

    @Option(help: "Run only the cases whose id matches this glob (repeatable).")
    var cases: [String] = []

    @Option(help: "Leave out the cases whose id matches this glob (repeatable).")
    var exclude: [String] = []

    @Option(help: "A file of known deviations for this provider (conformance/expectations/<provider>.yaml).")
    var expectations: String?

    @Option(help: "The seed, printed in every report; the same seed replays a run: the same faults on the same calls.")
    var seed: UInt64 = 1

    @Option(help: "A fault plan applied to every case, besides the case's own (see conformance/README.md, Fault plans).")
    var faults: String?

    @Flag(help: "Run every case through the fault layer, even with no plan (it must then change nothing).")
    var throughFaultLayer = false

    @Flag(help: "Run each case in a worker process of its own (always so for plugin:PATH and exec:COMMAND).")
    var isolate = false

    @Option(
        name: .customLong("repeat"), parsing: .unconditional,
        help: "Run the selected cases this many times (1 to \(Limits.repetitions)); verdicts that differ are reported.")
    var repetitions = 1

    @Option(
        help:
            "Run only shard I of N (1-based, e.g. 2/4; N up to \(Limits.shards)): cases split evenly and deterministically by id. A shard that gets no case is an empty, passing run."
    )
    var shard: String?

    @Option(help: "Where the pcaps and results.json go (default: captures/runs/<time>-<provider>).")
    var reportDir: String?

    @OptionGroup var files: ReportFiles

    @Option(parsing: .unconditional, help: "Cases run at the same time, each on ports of its own (1 to 64).")
    var jobs = 8

    @Option(
        parsing: .unconditional,
        help: "Seconds a provider call may take before its case ends with an error naming it (1 to \(Limits.watchdogSeconds)).")
    var watchdog = 10

    @Flag(help: "No progress lines; only the summary.")
    var quiet = false

    func validate() throws {
        _ = try ProviderChoice.parse(provider)
        try Limits.check("--repeat", repetitions, 1...Limits.repetitions)
        try Limits.check("--jobs", jobs, 1...64)
        try Limits.check("--watchdog", watchdog, 1...Limits.watchdogSeconds)
        if let shard { _ = try parseShard(shard) }
    }

    func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        guard let shard = RunReport.parseShard(text), shard.count <= Limits.shards else {
            throw ValidationError("--shard must be I/N with 1 <= I <= N <= \(Limits.shards), such as 2/4, not '\(text)'")
        }
        return shard
    }

    func run() throws {
        let reports = try files.prepare()
        let console = Console(toStandardError: reports.usesStandardOutput)
        let choice = try ProviderChoice.parse(provider)
        let known = try loadExpectations()
        let (statements, loaded, errors) = try suite.load()
        for error in errors { FileHandle.standardError.write(Data("teardown: \(error)\n".utf8)) }
        if let known, let unmatched = known.unmatched(by: loaded.flatMap(\.instances).map(\.id)).first {
            throw CommandFailure(
                "\(unmatched.location): the deviation's cases '\(unmatched.cases)' match no case of the suite (a glob over instance ids, such as pend.receive*)",
                code: 2)
        }
        let selection = Selection(cases: cases, exclude: exclude, shard: try shard.map(parseShard))
        let matched = selection.matching(loaded.flatMap(\.instances))
        let instances = selection.shard(of: matched)
        guard !matched.isEmpty || !errors.isEmpty else {
            throw CommandFailure("no case matches --cases \(cases.joined(separator: " ")) --exclude \(exclude.joined(separator: " "))")
        }
        var options = try makeOptions(choice)
        let reportedName = try choice.prepare(&options, isolate: isolate)
        // A provider's process is named by the name it gives itself rather than by its command line.
        let directory = try makeReportDirectory(named: choice.processCommand != nil ? reportedName ?? provider : provider)
        if let known, let expectations {
            try choice.check(known, from: expectations, reportedName: reportedName)
        }
        var run = SuiteRun(instances: instances, options: options, provider: provider, directory: directory)
        run.repetitions = repetitions
        run.malformed = errors
        run.expectations = known
        run.shardText = shard
        let progress = Progress(total: instances.count * repetitions, console: console, quiet: quiet)
        var roundLines: [String] = []
        let report = run.run(progress: progress.advance) { number, round in
            let counts = Dictionary(grouping: round, by: \.verdict).map { "\($0.value.count) \($0.key.rawValue)" }.sorted()
            roundLines.append("teardown: round \(number) of \(repetitions): \(counts.joined(separator: ", "))\n")
        }
        progress.finish()
        if repetitions > 1 { FileHandle.standardError.write(Data(roundLines.joined().utf8)) }
        try reports.write(report, statements: statements, cases: loaded, directory: directory)
        console.write(ConsoleReport.summary(report, statements: statements))
        console.write("report: \(directory)/report.html\n")
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// The expectations file, when one is given.
    /// - Throws: `CommandFailure` (exit 2) when it cannot be read.
    func loadExpectations() throws(CommandFailure) -> Expectations? {
        guard let expectations else { return nil }
        do {
            return try Expectations.load(path: expectations)
        } catch {
            throw CommandFailure("\(error)", code: 2)
        }
    }

    /// The run's options from the command line, with its fault plan loaded; checks that capture works.
    func makeOptions(_ choice: ProviderChoice) throws(CommandFailure) -> RunOptions {
        var options = RunOptions(provider: choice.factory)
        if let faults {
            do {
                options.faults = try FaultPlanLoader.load(path: faults)
            } catch {
                throw CommandFailure("\(error)", code: 2)
            }
        }
        try Self.ensureCapture()
        options.throughFaultLayer = throughFaultLayer
        options.jobs = jobs
        options.seed = seed
        options.watchdog = .seconds(watchdog)
        return options
    }

    /// Makes sure this process can capture on `lo` (re-executing in a namespace of its own when it may).
    /// - Throws: `CommandFailure` (exit 2) saying what to do when it cannot.
    static func ensureCapture() throws(CommandFailure) {
        do {
            _ = try CaptureAccess.ensure()
        } catch {
            throw CommandFailure("cannot capture: \(error.message)", code: 2)
        }
    }

    /// --report-dir, or captures/runs/<time>-<provider>; created.
    func makeReportDirectory(named name: String) throws(CommandFailure) -> String {
        let directory = reportDir ?? "captures/runs/\(Self.stamp(Date()))-\(Runner.fileName(name))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("cannot create the report directory \(directory): \(describe(error))", code: 2)
        }
        return directory
    }

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
