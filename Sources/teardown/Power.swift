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

            With --c-mutants, the mutants of the example provider in C run too (c:NAME, each a patch of \
            Examples/c-provider/example_provider.c, in Examples/c-provider/mistakes), and so does the unpatched \
            example, which must pass everything.

            The matrix has one row per case and one column per mutant: X caught by a case of a statement the \
            mistake breaks (S at the SHOULD level only), x caught by another case, E an error (not judged), . passed, \
            - not run. A mutant's cases of the statements it breaks run first; once one of them fails it, its cases \
            not yet started are not run (--full runs them all, for the whole matrix).

            Exit codes: 0 every mutant caught by a case of a statement it breaks, and the reference conformant; \
            1 otherwise; 2 harness or environment error; 64 usage error.
            """
    )

    @OptionGroup var suite: SuiteOptions

    @Option(help: "Run only the mutants whose name matches this glob (repeatable; the C mutants are named c:NAME).")
    var mutants: [String] = []

    @Option(help: "Run only the cases whose id matches this glob (repeatable).")
    var cases: [String] = []

    @Option(help: "Where each provider's pcaps and results.json go (default: captures/runs/<time>-power).")
    var reportDir: String?

    @Option(help: "Write the matrix as JSON here.")
    var json: String?

    @Option(
        name: .customLong("c-mutants"),
        help: ArgumentHelp(
            "A directory of mutants of the example provider in C: libNAME.so built from NAME.patch, side by side (make c-mutants builds them in .build/c-mutants).",
            discussion: "Each runs as a plugin, in worker processes; the unpatched example (--example) runs too and must pass everything.",
            valueName: "directory"))
    var cMutants: String?

    @Option(help: "The unpatched example provider the C mutants are made from.")
    var example = "Examples/c-provider/libexample.so"

    @Option(
        parsing: .unconditional,
        help: "How many mutants' worth of cases run at once, after the reference: the mutants share one pool of --parallel x --jobs.")
    var parallel = 2

    @Option(parsing: .unconditional, help: "Cases each provider runs at the same time (1 to 64).")
    var jobs = 8

    @Flag(
        help: ArgumentHelp(
            "Run every case against every mutant, for the whole matrix.",
            discussion:
                "By default a mutant's cases of the statements it breaks run first, and once one of them fails it (at the MUST level, or at the SHOULD level for a mistake that breaks only SHOULD statements) its other cases are not run (- in the matrix)."
        ))
    var full = false

    @Flag(
        inversion: .prefixedNo,
        help:
            "Run each mutant's cases in worker processes: a mistake that closes a descriptor it does not own then harms one case, not the run."
    )
    var isolate = true

    func validate() throws {
        try Limits.check("--parallel", parallel, 1...16)
        try Limits.check("--jobs", jobs, 1...64)
    }

    /// A provider power runs: a mutant, or a correct provider mutants are made from.
    struct Subject {
        let name: String
        let summary: String
        let breaks: [String]
        let choice: ProviderChoice
    }

    func selected(_ name: String) -> Bool { mutants.isEmpty || mutants.contains { glob($0, name) } }

    /// The mutants to run: the reference's (Swift), then the example provider's (C) when --c-mutants is given.
    func subjects() throws -> [Subject] {
        var subjects = Mistake.allCases.filter { selected($0.rawValue) }.map { mistake in
            Subject(
                name: mistake.rawValue, summary: mistake.summary, breaks: mistake.breaks,
                choice: ProviderChoice(spec: "mutant:\(mistake.rawValue)", factory: .mutant(mistake), pluginPath: nil))
        }
        if let cMutants {
            subjects += try CMutant.all(in: cMutants).filter { selected($0.name) }.map { mutant in
                Subject(
                    name: mutant.name, summary: mutant.summary, breaks: mutant.breaks,
                    choice: try ProviderChoice.parse("plugin:\(mutant.library)"))
            }
        }
        guard !subjects.isEmpty else {
            throw CommandFailure(
                "no mutant matches --mutants \(mutants.joined(separator: " ")); the mutants are: \(Mistake.allCases.map(\.rawValue).joined(separator: ", "))"
                    + (cMutants == nil ? "" : ", and c:NAME for each patch in \(cMutants!)"), code: 64)
        }
        return subjects
    }

    func run() throws {
        let descriptorsAtStart = CurrentProcess.openDescriptorCount()
        // Checked before anything runs: a path that cannot take the matrix is told now, not after the run.
        let jsonDestination = try json.map { path throws(CommandFailure) in try ReportDestination.prepare(path, option: "--json") }
        let subjects = try subjects()
        let (statements, loaded, errors) = try suite.load()
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
        // The reference, then (with C mutants) the unpatched example, then the mutants.
        var baselines = [Subject(name: "reference", summary: "", breaks: [], choice: try ProviderChoice.parse("reference"))]
        if cMutants != nil {
            guard FileManager.default.fileExists(atPath: example) else {
                throw CommandFailure(
                    "\(example): no such file; the C mutants need the unpatched example beside them (make examples)", code: 64)
            }
            baselines.append(Subject(name: "example", summary: "", breaks: [], choice: try ProviderChoice.parse("plugin:\(example)")))
        }
        let providers = baselines + subjects
        print(
            "teardown power: \(instances.count) case instances against \(baselines.map(\.name).joined(separator: " and ")) and \(subjects.count) mutants"
        )
        let levels = Dictionary(statements.map { ($0.id, $0.level) }, uniquingKeysWith: { first, _ in first })
        let (reference, others) = try runAll(providers, instances, directory: directory, levels: levels, baselines: baselines.count)
        let otherBaselines = others.prefix(baselines.count - 1)
        let matrix = PowerMatrix(
            reference: reference,
            mutants: zip(subjects, others.dropFirst(baselines.count - 1)).map { subject, run in
                PowerMatrix.Mutant(name: subject.name, summary: subject.summary, breaks: subject.breaks, results: run)
            },
            otherBaselines: zip(baselines.dropFirst(), otherBaselines).map { baseline, run in
                PowerMatrix.Baseline(name: baseline.name, column: "ex", results: run)
            })
        print("")
        print(matrix.render(), terminator: "")
        if let jsonDestination { try jsonDestination.write(try stableJSON(matrix.summary)) }
        print("captures: \(directory)")
        print("orchestrator: \(descriptorsAtStart) open descriptors at the start, \(CurrentProcess.openDescriptorCount()) at the end")
        if matrix.referenceErrors > 0 { throw ExitCode(2) }
        if !matrix.allCaughtRightly || matrix.referenceFailures > 0 { throw ExitCode(1) }
    }

    /// Runs every provider's cases: the reference first and alone, so that its timing is not judged under the
    /// mutants' load; then every other provider's cases over one pool of --parallel x --jobs. The worker processes
    /// end with this function.
    func runAll(_ providers: [Subject], _ instances: [CaseInstance], directory: String, levels: [String: Level], baselines: Int) throws
        -> ([CaseResult], [[CaseResult]])
    {
        let batches = try providers.indices.map { index in
            let options = try options(for: providers[index], isReference: index == 0, directory: directory)
            guard index >= baselines && !full else { return Runner.Batch(instances, options: options) }
            return Self.untilCaught(instances, options: options, breaks: providers[index].breaks, levels: levels)
        }
        let tally = Tally(batches: batches.map(\.instances.count), providers: providers.count)
        let started = Date()
        let reference = Runner.run([batches[0]], workers: jobs) { _, _, result in
            tally.add(0, result) { Self.line(providers[0].name, $0, seconds: Date().timeIntervalSince(started)) }
        }[0]
        let othersStarted = Date()
        let others = Runner.run(Array(batches.dropFirst()), workers: parallel * jobs) { batch, _, result in
            tally.add(batch + 1, result) { Self.line(providers[batch + 1].name, $0, seconds: Date().timeIntervalSince(othersStarted)) }
        }
        return (reference, others)
    }

    /// A mutant's batch that stops at its first right catch: the cases of the statements its mistake breaks start
    /// first, and a failure of one of them at the MUST level (at the SHOULD level when the mistake breaks only SHOULD
    /// statements) skips the cases not yet started.
    static func untilCaught(_ instances: [CaseInstance], options: RunOptions, breaks: [String], levels: [String: Level])
        -> Runner.Batch
    {
        let broken = Set(breaks)
        let onlyShould = breaks.allSatisfy { levels[$0] == .should }
        let order =
            instances.indices.filter { !broken.isDisjoint(with: instances[$0].statements) }
            + instances.indices.filter { broken.isDisjoint(with: instances[$0].statements) }
        return Runner.Batch(instances, options: options, order: order) { result in
            guard !broken.isDisjoint(with: result.statements) else { return nil }
            guard result.verdict == .fail || (onlyShould && result.verdict == .nonStrict) else { return nil }
            return "the mutant was already caught by \(result.id) (--full runs every case)"
        }
    }

    /// A provider's options: a mutant in worker processes when isolated (a plugin always); its pcaps in a
    /// directory of its own.
    func options(for subject: Subject, isReference: Bool, directory: String) throws -> RunOptions {
        var options = RunOptions(provider: subject.choice.factory)
        options.jobs = jobs
        if !isReference { try subject.choice.prepare(&options, isolate: isolate) }
        options.captureDirectory = "\(directory)/\(Runner.fileName(subject.choice.pluginPath == nil ? subject.choice.spec : subject.name))"
        try? FileManager.default.createDirectory(atPath: options.captureDirectory!, withIntermediateDirectories: true)
        return options
    }

    static func line(_ name: String, _ run: [CaseResult], seconds: Double) -> String {
        let failing = run.filter { [.fail, .nonStrict].contains($0.verdict) }.count
        let errors = run.filter { $0.verdict == .error }.count
        return " \(name): \(failing) instances fail\(errors > 0 ? ", \(errors) errors" : "") (\(String(format: "%.1f", seconds)) s)"
    }
}

/// A mutant of the example provider in C: `NAME.patch` (a header of `summary:` and `breaks:` lines, then the
/// diff against example_provider.c) and the library built from it, `libNAME.so`, side by side.
struct CMutant {
    let name: String
    let summary: String
    let breaks: [String]
    let library: String

    /// Every mutant in `directory`, by name.
    static func all(in directory: String) throws(CommandFailure) -> [CMutant] {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw CommandFailure("--c-mutants \(directory): not a readable directory (make c-mutants builds .build/c-mutants)", code: 64)
        }
        let patches = files.filter { $0.hasSuffix(".patch") }.sorted()
        guard !patches.isEmpty else { throw CommandFailure("--c-mutants \(directory): no NAME.patch in it", code: 64) }
        return try patches.map { file throws(CommandFailure) in
            let base = String(file.dropLast(".patch".count))
            let path = "\(directory)/\(file)"
            let library = "\(directory)/lib\(base).so"
            guard FileManager.default.fileExists(atPath: library) else {
                throw CommandFailure("\(path): no lib\(base).so beside it; build it with make c-mutants", code: 64)
            }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CommandFailure("\(path): not readable as UTF-8", code: 64)
            }
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(while: { !$0.isEmpty }) {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            guard let summary = fields["summary"], !summary.isEmpty, let breaks = fields["breaks"], !breaks.isEmpty else {
                throw CommandFailure("\(path): line 1: expected a 'summary:' and a 'breaks:' line before the diff", code: 64)
            }
            return CMutant(
                name: "c:\(base)", summary: summary,
                breaks: breaks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }, library: library)
        }
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
