import ArgumentParser
import Conformance
import Foundation
import Harness
import PacketCapture
import ReferenceProvider

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

    @Option(parsing: .unconditional, help: "Mutants run at the same time, after the reference (each runs --jobs cases at a time).")
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
        let descriptorsAtStart = openDescriptorCount()
        let (_, loaded, errors) = try suite.load()
        guard errors.isEmpty else {
            for error in errors { FileHandle.standardError.write(Data("teardown: \(error)\n".utf8)) }
            Self.exit("the suite has malformed cases; power needs all of them", code: 2)
        }
        let instances = loaded.flatMap(\.instances).filter { instance in
            cases.isEmpty || cases.contains { glob($0, instance.id) || glob($0, instance.caseID) }
        }.sorted { $0.id < $1.id }
        guard !instances.isEmpty else { Self.exit("no case matches --cases \(cases.joined(separator: " "))", code: 64) }
        do {
            _ = try CaptureAccess.ensure()
        } catch {
            Self.exit("cannot capture: \(error.message)", code: 2)
        }
        let directory = reportDir ?? "captures/runs/\(Run.stamp(Date()))-power"
        let providers: [ProviderFactory] = [.builtIn(.reference)] + selectedMistakes.map(ProviderFactory.mutant)
        let suiteDirectory = suite.directory
        let isolate = self.isolate
        let results = Results(count: providers.count)
        print("teardown power: \(instances.count) case instances against the reference and \(providers.count - 1) mutants")
        /// Runs one provider's suite; the mutants in worker processes when isolated.
        @Sendable func runProvider(_ index: Int) {
            let factory = providers[index]
            var options = RunOptions(provider: factory)
            options.jobs = jobs
            if index > 0, isolate {
                ProviderChoice(spec: factory.name, factory: factory, pluginPath: nil).prepare(
                    &options, suite: suiteDirectory, isolate: true)
            }
            options.captureDirectory = "\(directory)/\(Runner.fileName(factory.name))"
            try? FileManager.default.createDirectory(atPath: options.captureDirectory!, withIntermediateDirectories: true)
            let started = Date()
            let run = Runner.run(instances, options: options)
            results.set(index, run) { done in
                "[\(done)/\(providers.count)]" + Self.line(factory, run, seconds: Date().timeIntervalSince(started))
            }
        }
        // The reference first and alone, so that its timing is not judged under the mutants' load.
        runProvider(0)
        let queue = WorkQueue(Array(providers.indices.dropFirst()))
        let group = DispatchGroup()
        for _ in 0..<min(parallel, providers.count - 1) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while let index = queue.next() { runProvider(index) }
            }
        }
        group.wait()
        let matrix = PowerMatrix(
            reference: results.runs[0],
            mutants: zip(selectedMistakes, results.runs.dropFirst()).map { mistake, run in
                PowerMatrix.Mutant(name: mistake.rawValue, summary: mistake.summary, breaks: mistake.breaks, results: run)
            })
        print("")
        print(matrix.render(), terminator: "")
        if let json { try stableJSON(matrix.summary).write(toFile: json, atomically: true, encoding: .utf8) }
        print("captures: \(directory)")
        print("orchestrator: \(descriptorsAtStart) open descriptors at the start, \(openDescriptorCount()) at the end")
        if matrix.referenceErrors > 0 { throw ExitCode(2) }
        if !matrix.allCaughtRightly || matrix.referenceFailures > 0 { throw ExitCode(1) }
    }

    static func line(_ factory: ProviderFactory, _ run: [CaseResult], seconds: Double) -> String {
        let failing = run.filter { [.fail, .nonStrict].contains($0.verdict) }.count
        let errors = run.filter { $0.verdict == .error }.count
        return
            " \(factory.name): \(failing) instances fail\(errors > 0 ? ", \(errors) errors" : "") (\(String(format: "%.1f", seconds)) s)"
    }
}

/// The runs of every provider, filled in from the worker threads.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var runs: [[CaseResult]]
    private var done = 0

    init(count: Int) { runs = Array(repeating: [], count: count) }

    /// Records a provider's run and prints its line, which `announce` makes from the count of runs done.
    func set(_ index: Int, _ run: [CaseResult], announce: (Int) -> String) {
        lock.lock()
        defer { lock.unlock() }
        runs[index] = run
        done += 1
        print(announce(done))
    }
}
