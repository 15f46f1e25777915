import ArgumentParser
import Basics
import Conformance
import Foundation
import Harness
import Mutants
import PacketCapture
import ProviderCatalogue
import Reporting

struct Power: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the suite against every mutant and show which cases catch which.",
        discussion: """
            A mutant is the reference provider with exactly one realistic mistake (waking blocked threads with \
            shutdown(2), ignoring linger, releasing a handle twice...). The suite has power over a mutant when some \
            case fails it, and catches it rightly when that case checks a statement the mistake breaks. The \
            reference provider runs too and must pass everything.

            The matrix has one row per case and one column per mutant: X caught by a case of a statement the \
            mistake breaks, x caught by another case, E an error (not judged), . passed.

            Exit codes: 0 every mutant caught by a case of a statement it breaks, and the reference conformant; \
            1 otherwise; 2 harness or environment error; 64 usage error.
            """
    )

    @OptionGroup var suite: SuiteOptions

    @Option(help: "Run only the mutants whose name matches this glob (repeatable).")
    var mutants: [String] = []

    @Option(help: "Run only the cases whose id matches this glob (repeatable).")
    var cases: [String] = []

    @Option(help: "Where each provider's pcaps and results.json go (default: captures/runs/<time>-power).")
    var reportDir: String?

    @Option(help: "Write the matrix as JSON here.")
    var json: String?

    @Option(
        parsing: .unconditional,
        help: "How many mutants' worth of cases run at once, after the reference: the mutants share one pool of --parallel x --jobs.")
    var parallel = 4

    @Option(parsing: .unconditional, help: "Cases each provider runs at the same time (1 to 64).")
    var jobs = 4

    @Flag(
        inversion: .prefixedNo,
        help:
            "Run each mutant's cases in worker processes: a mistake that closes a descriptor it does not own then harms one case, not the run."
    )
    var isolate = true

    func validate() throws {
        try Limits.check("--parallel", parallel, 1...16)
        try Limits.check("--jobs", jobs, 1...64)
        guard !selectedMistakes.isEmpty else {
            throw ValidationError(
                "no mutant matches --mutants \(mutants.joined(separator: " ")); the mutants are: \(Mistake.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
    }

    var selectedMistakes: [Mistake] {
        Mistake.allCases.filter { mistake in mutants.isEmpty || mutants.contains { glob($0, mistake.rawValue) } }
    }

    func run() throws {
        let descriptorsAtStart = CurrentProcess.openDescriptorCount()
        // Checked before anything runs: a path that cannot take the matrix is told now, not after the run.
        let jsonDestination = try json.map { path throws(CommandFailure) in try ReportDestination.prepare(path, option: "--json") }
        let (_, loaded, errors) = try suite.load()
        guard errors.isEmpty else {
            for error in errors { FileHandle.standardError.write(Data("teardown: \(error)\n".utf8)) }
            throw CommandFailure("the suite has malformed cases; power needs all of them", code: 2)
        }
        let instances = Selection(cases: cases).matching(loaded.flatMap(\.instances))
        guard !instances.isEmpty else { throw CommandFailure("no case matches --cases \(cases.joined(separator: " "))", code: 64) }
        do {
            _ = try CaptureAccess.ensure()
        } catch {
            throw CommandFailure("cannot capture: \(error.message)", code: 2)
        }
        let directory = reportDir ?? "captures/runs/\(Run.stamp(Date()))-power"
        let providers: [ProviderFactory] = [.builtIn(.reference)] + selectedMistakes.map(ProviderFactory.mutant)
        print("teardown power: \(instances.count) case instances against the reference and \(providers.count - 1) mutants")
        let batches = try providers.indices.map { index in
            Runner.Batch(instances, options: try options(for: providers[index], isReference: index == 0, directory: directory))
        }
        let tally = Tally(batches: batches.map(\.instances.count), providers: providers.count)
        let started = Date()
        // The reference first and alone, so that its timing is not judged under the mutants' load; then every
        // mutant's cases over one pool of --parallel x --jobs.
        let reference = Runner.run([batches[0]], workers: jobs) { _, _, result in
            tally.add(0, result) { Self.line(providers[0], $0, seconds: Date().timeIntervalSince(started)) }
        }[0]
        let mutantsStarted = Date()
        let mutantRuns = Runner.run(Array(batches.dropFirst()), workers: parallel * jobs) { batch, _, result in
            tally.add(batch + 1, result) { Self.line(providers[batch + 1], $0, seconds: Date().timeIntervalSince(mutantsStarted)) }
        }
        let matrix = PowerMatrix(
            reference: reference,
            mutants: zip(selectedMistakes, mutantRuns).map { mistake, run in
                PowerMatrix.Mutant(name: mistake.rawValue, summary: mistake.summary, breaks: mistake.breaks, results: run)
            })
        print("")
        print(matrix.render(), terminator: "")
        if let jsonDestination { try jsonDestination.write(try stableJSON(matrix.summary)) }
        print("captures: \(directory)")
        print("orchestrator: \(descriptorsAtStart) open descriptors at the start, \(CurrentProcess.openDescriptorCount()) at the end")
        if matrix.referenceErrors > 0 { throw ExitCode(2) }
        if !matrix.allCaughtRightly || matrix.referenceFailures > 0 { throw ExitCode(1) }
    }

    /// A provider's options: a mutant in worker processes when isolated; its pcaps in a directory of its own.
    func options(for factory: ProviderFactory, isReference: Bool, directory: String) throws -> RunOptions {
        var options = RunOptions(provider: factory)
        options.jobs = jobs
        if !isReference, isolate {
            try ProviderChoice(spec: factory.name, factory: factory, pluginPath: nil).prepare(&options, isolate: true)
        }
        options.captureDirectory = "\(directory)/\(Runner.fileName(factory.name))"
        try? FileManager.default.createDirectory(atPath: options.captureDirectory!, withIntermediateDirectories: true)
        return options
    }

    static func line(_ factory: ProviderFactory, _ run: [CaseResult], seconds: Double) -> String {
        let failing = run.filter { [.fail, .nonStrict].contains($0.verdict) }.count
        let errors = run.filter { $0.verdict == .error }.count
        return
            " \(factory.name): \(failing) instances fail\(errors > 0 ? ", \(errors) errors" : "") (\(String(format: "%.1f", seconds)) s)"
    }
}

/// Each provider's results as they come from the pool; prints a provider's line when its last case is done.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [[CaseResult]]
    private let expected: [Int]
    private let providers: Int
    private var done = 0

    init(batches: [Int], providers: Int) {
        expected = batches
        results = batches.map { _ in [] }
        self.providers = providers
    }

    /// Adds one result of provider `index`; when that provider is complete, prints `line(results)` with the count of
    /// providers done.
    func add(_ index: Int, _ result: CaseResult, line: ([CaseResult]) -> String) {
        lock.lock()
        defer { lock.unlock() }
        results[index].append(result)
        guard results[index].count == expected[index] else { return }
        done += 1
        print("[\(done)/\(providers)]" + line(results[index]))
    }
}
