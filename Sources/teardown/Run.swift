import ArgumentParser
import Conformance
import Foundation
import Harness
import PacketCapture

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
            "The provider under test: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")); plugin:PATH (a shared library with the C interface of teardown_provider.h, each case in a worker process); or mutant:NAME (the reference with one mistake; teardown power lists them)."
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

    @Flag(help: "Run each case in a worker process of its own (always so for plugin:PATH).")
    var isolate = false

    @Option(name: .customLong("repeat"), help: "Run the selected cases this many times; verdicts that differ are reported.")
    var repetitions = 1

    @Option(help: "Run only shard I of N (1-based, e.g. 2/4): cases split evenly and deterministically by id.")
    var shard: String?

    @Option(help: "Where the pcaps and results.json go (default: captures/runs/<time>-<provider>).")
    var reportDir: String?

    @OptionGroup var files: ReportFiles

    @Option(help: "Cases run at the same time.")
    var jobs = 4

    @Option(help: "Seconds a provider call may take before its case ends with an error naming it.")
    var watchdog = 10

    func validate() throws {
        _ = try ProviderChoice.parse(provider)
        guard repetitions >= 1 else { throw ValidationError("--repeat must be at least 1") }
        guard jobs >= 1 && jobs <= 64 else { throw ValidationError("--jobs must be between 1 and 64") }
        guard watchdog >= 1 else { throw ValidationError("--watchdog must be at least 1 second") }
        if let shard { _ = try parseShard(shard) }
    }

    func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, index >= 1, index <= count else {
            throw ValidationError("--shard must be I/N with 1 <= I <= N, such as 2/4, not '\(text)'")
        }
        return (index, count)
    }

    func run() throws {
        let known: Expectations?
        if let expectations {
            do {
                known = try Expectations.load(path: expectations)
            } catch {
                Self.exit("\(error)", code: 2)
            }
        } else {
            known = nil
        }
        let choice = try ProviderChoice.parse(provider)
        if let known, known.provider != provider && known.provider != choice.pluginPath {
            Self.exit("\(expectations!) lists the deviations of '\(known.provider)', not of '\(provider)'", code: 64)
        }
        let (statements, loaded, errors) = suite.load()
        for error in errors { FileHandle.standardError.write(Data("teardown: \(error)\n".utf8)) }
        var instances = loaded.flatMap(\.instances).filter { instance in
            (cases.isEmpty || cases.contains { glob($0, instance.id) || glob($0, instance.caseID) })
                && !exclude.contains { glob($0, instance.id) || glob($0, instance.caseID) }
        }.sorted { $0.id < $1.id }
        if let shard {
            let (index, count) = try parseShard(shard)
            instances = instances.enumerated().filter { $0.offset % count == index - 1 }.map(\.element)
        }
        guard !instances.isEmpty || !errors.isEmpty else {
            Self.exit("no case matches --cases \(cases.joined(separator: " ")) --exclude \(exclude.joined(separator: " "))", code: 64)
        }
        do {
            _ = try CaptureAccess.ensure()
        } catch {
            Self.exit("cannot capture: \(error.message)", code: 2)
        }
        let started = Date()
        let stamp = Self.stamp(started)
        let directory = reportDir ?? "captures/runs/\(stamp)-\(Runner.fileName(provider))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            Self.exit("cannot create the report directory \(directory): \(error.localizedDescription)", code: 2)
        }
        var options = RunOptions(provider: choice.factory)
        if let faults {
            do {
                options.faults = try FaultPlanLoader.load(path: faults)
                options.faultsFile = faults
            } catch {
                Self.exit("\(error)", code: 2)
            }
        }
        options.throughFaultLayer = throughFaultLayer
        options.jobs = jobs
        options.seed = seed
        options.watchdog = .seconds(watchdog)
        choice.prepare(&options, suite: suite.directory, isolate: isolate)
        let progress = Progress(total: instances.count * repetitions)
        var rounds: [[CaseResult]] = []
        for round in 0..<repetitions {
            options.captureDirectory = repetitions == 1 ? directory : "\(directory)/\(round + 1)"
            if repetitions > 1 {
                try? FileManager.default.createDirectory(atPath: options.captureDirectory!, withIntermediateDirectories: true)
            }
            rounds.append(Runner.run(instances, options: options) { _, result in progress.advance(result) })
        }
        progress.finish()
        var results = rounds.last ?? []
        results += errors.map(CaseResult.malformed)
        // An instance is unstable when its verdict differs between rounds (or it is missing from one).
        let verdicts = rounds.map { round in Dictionary(round.map { ($0.id, $0.verdict) }, uniquingKeysWith: { first, _ in first }) }
        let unstable = instances.map(\.id).filter { id in Set(verdicts.map { $0[id]?.rawValue ?? "missing" }).count > 1 }
        if repetitions > 1 {
            for (number, round) in rounds.enumerated() {
                let counts = Dictionary(grouping: round, by: \.verdict).map { "\($0.value.count) \($0.key.rawValue)" }.sorted()
                FileHandle.standardError.write(
                    Data("teardown: round \(number + 1) of \(repetitions): \(counts.joined(separator: ", "))\n".utf8))
            }
        }
        let deviations = known?.apply(to: &results) ?? []
        let report = RunReport(
            provider: provider, seed: seed, started: ISO8601DateFormatter().string(from: started),
            seconds: Date().timeIntervalSince(started),
            repeatCount: repetitions, shard: shard, captureDirectory: directory, results: results, deviations: deviations,
            unstable: unstable)
        files.write(report, statements: statements, cases: loaded, directory: directory)
        print(ConsoleReport.summary(report, statements: statements), terminator: "")
        print("report: \(directory)/report.html")
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// The progress line on a terminal; nothing when standard output is not one.
final class Progress: @unchecked Sendable {
    private let total: Int
    private var done = 0
    private var problems = 0
    private let lock = NSLock()
    private let terminal = isatty(STDOUT_FILENO) == 1

    init(total: Int) { self.total = total }

    func advance(_ result: CaseResult) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        if [.fail, .error, .nonStrict].contains(result.verdict) { problems += 1 }
        guard terminal else { return }
        let line = "[\(done)/\(total)] \(problems) not passing  \(result.verdict.rawValue) \(result.id)"
        FileHandle.standardOutput.write(Data("\r\u{1B}[2K\(line.prefix(150))".utf8))
    }

    func finish() {
        if terminal { FileHandle.standardOutput.write(Data("\r\u{1B}[2K".utf8)) }
    }
}
