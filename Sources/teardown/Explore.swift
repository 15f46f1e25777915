import ArgumentParser
import Conformance
import Foundation

/// `teardown explore`: scenarios generated from a seed where close statements meet, each run as a case whose
/// expectations the model of SPEC.md writes; a disagreement is shrunk to a smallest scenario that still disagrees
/// and written as a case file that `teardown run --suite` runs as is.
struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate scenarios from a seed, run them against a provider, and shrink any that disagrees with the model.",
        discussion: """
            Each scenario is one connected socket with one to three handles (duplicates), a linger option (off, 0, \
            1 s, don't-linger) set before or after duplicating and changed between closes, blocking or not, data \
            sent, stuck in full buffers or none, data from the peer left unread, the peer finished or not, a receive \
            pending in another thread or an asynchronous receive on the handle closed first (and on the one closed \
            last), shutdown(send), the linger option read back (after an out-of-range value), every call on a \
            handle just closed, the last handle left to the provider's cleanup, and the handles closed in any \
            order. One scenario in four is a listener's instead: one or two listening handles closed in either \
            order, connections queued and never accepted, one accepted and used before or after the close, an \
            accept pending in another thread or asynchronously, a connect pending on a socket of its own. \
            Dimensions the provider lacks the capability for (duplicate, asynchronous, harness-handles) are left \
            out. The model of SPEC.md (SpecModel) writes what every call returns and when, how each pending \
            operation ends, how the peer's reading ends and what the wire carries. The generator covers every pair of values of two \
            dimensions early, then every combination of four of the values that decide the last close, then \
            every triple of values of three dimensions, then goes on at random; the same seed gives the same \
            scenarios.

            A scenario the provider fails disagrees with the model: it is shrunk (simpler values, fewer handles, \
            while it still fails, at the MUST level if it failed there) and written to --out as cases/explore-SEED-N.yaml beside a copy of \
            statements.yaml, so that `teardown run --suite OUT` runs it. On the reference provider every \
            disagreement is a bug in the model, the provider or SPEC.md.

            Exit codes: 0 no disagreement; 1 a disagreement (its case written); 2 harness or environment error; \
            64 usage error.
            """
    )

    @OptionGroup var suite: SuiteOptions

    @Option(help: "The provider: as for teardown run (reference, posix, plugin:PATH, exec:COMMAND, mutant:NAME).")
    var provider = "reference"

    @Option(help: "The seed of the generator: the same seed gives the same scenarios.")
    var seed: UInt64 = 1

    @Option(help: "How many scenarios to run (1 to 1000000).")
    var count = 200

    @Option(help: "Stop after this many seconds, even before --count (1 to 86400).")
    var seconds: Int?

    @Option(help: "Where shrunk disagreements go, as a suite directory (default: captures/explore).")
    var out = "captures/explore"

    @Option(parsing: .unconditional, help: "Scenarios run at the same time (1 to 64).")
    var jobs = 8

    @Flag(help: "Go on after a disagreement (default: stop at the first, once it is shrunk).")
    var keepGoing = false

    @Flag(help: "Print only the summary and the disagreements.")
    var quiet = false

    func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be 1 to 1000000, not \(count)") }
        if let seconds, !(1...86400).contains(seconds) { throw ValidationError("--seconds must be 1 to 86400, not \(seconds)") }
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be 1 to 64, not \(jobs)") }
    }

    func run() throws {
        let statements = try suite.load().statements
        let choice = try ProviderChoice.parse(provider)
        var options = RunOptions(provider: choice.factory)
        try Run.ensureCapture()
        options.jobs = jobs
        options.seed = seed
        try choice.prepare(&options)
        var generator = ScenarioGenerator(seed: seed, capabilities: options.provider.capabilities)
        let started = Date()
        let deadline = seconds.map { started.addingTimeInterval(Double($0)) }
        var ran = 0
        var errors: [String] = []
        var found: [String] = []
        let console = FileHandle.standardOutput
        while ran < count, deadline.map({ Date() < $0 }) ?? true, keepGoing || found.isEmpty {
            let batch = (0..<min(jobs * 4, count - ran)).map { _ in generator.next() }
            let instances = try batch.enumerated().map { index, scenario in
                try instance(scenario, id: "explore.\(seed).\(ran + index + 1)", statements: statements)
            }
            let results = Runner.run(instances, options: options)
            // A MUST disagreement is shrunk before a SHOULD one of the same batch.
            let failingFirst = results.indices.sorted {
                (results[$0].verdict == .fail ? 0 : 1, $0) < (results[$1].verdict == .fail ? 0 : 1, $1)
            }
            judging: for index in failingFirst {
                let result = results[index]
                switch result.verdict {
                case .fail, .nonStrict:
                    let number = ran + index + 1
                    console.write(Data("teardown explore: scenario \(number) disagrees with the model: \(batch[index])\n".utf8))
                    let shrunk = try shrink(batch[index], verdict: result.verdict, options: options, statements: statements)
                    found.append(try write(shrunk, number: number, statements: statements))
                    if !keepGoing { break judging }
                case .error:
                    errors.append("\(result.id) (\(batch[index])): \(result.messages.first ?? "")")
                default: break
                }
            }
            ran += batch.count
            if !quiet {
                let elapsed = Date().timeIntervalSince(started)
                console.write(
                    Data(
                        String(
                            format:
                                "teardown explore: %d scenarios in %.0f s, %d pairs, %d triples and %d quadruples covered, %d disagreements\n",
                            ran, elapsed, generator.coverage, generator.tripleCoverage, generator.coreCoverage, found.count
                        ).utf8))
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        console.write(
            Data(
                String(
                    format:
                        "%@: %d scenarios from seed %llu in %.1f s, %d pairs and %d triples of dimension values covered, and %d quadruples of the values deciding the last close: %d disagreements, %d errors\n",
                    provider, ran, seed, elapsed, generator.coverage, generator.tripleCoverage, generator.coreCoverage, found.count,
                    errors.count
                ).utf8))
        for error in errors.prefix(10) { console.write(Data("  error: \(error)\n".utf8)) }
        for file in found { console.write(Data("  case: \(file) (teardown run --suite \(out) --provider \(provider))\n".utf8)) }
        if !found.isEmpty { throw ExitCode(1) }
        if !errors.isEmpty { throw ExitCode(2) }
    }

    func instance(_ scenario: some ExploredScenario, id: String, statements: [Statement]) throws -> CaseInstance {
        do {
            let text = try scenario.caseText(id: id, statements: statements)
            return try CaseLoader.parse(text, file: "\(id).yaml", statements: statements).instances[0]
        } catch {
            throw CommandFailure("the generator made a scenario the model cannot judge (\(scenario)): \(error)", code: 2)
        }
    }

    /// The simplest scenario that still fails, trying each simplification in turn (at most 60 runs). A scenario that
    /// failed a MUST statement shrinks only to one that still does: never to a SHOULD-level disagreement.
    func shrink<S: ExploredScenario>(_ scenario: S, verdict: Verdict, options: RunOptions, statements: [Statement]) throws -> S {
        var current = scenario
        var runs = 0
        var progress = true
        while progress && runs < 60 {
            progress = false
            for candidate in current.simplifications {
                runs += 1
                let result = Runner.run([try instance(candidate, id: "explore.shrink", statements: statements)], options: options)[0]
                if result.verdict == .fail || (verdict == .nonStrict && result.verdict == .nonStrict) {
                    current = candidate
                    progress = true
                    break
                }
                if runs >= 60 { break }
            }
        }
        return current
    }

    /// Writes the scenario as a case of a suite directory (with the statements beside it) and prints it.
    func write(_ scenario: some ExploredScenario, number: Int, statements: [Statement]) throws -> String {
        let id = "explore.\(seed)-\(number)"
        let text = try scenario.caseText(id: id, statements: statements)
        let directory = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("cases"), withIntermediateDirectories: true)
            let statementsCopy = directory.appendingPathComponent("statements.yaml")
            if !FileManager.default.fileExists(atPath: statementsCopy.path) {
                try FileManager.default.copyItem(atPath: "\(suite.directory)/statements.yaml", toPath: statementsCopy.path)
            }
            let file = directory.appendingPathComponent("cases/explore-\(seed)-\(number).yaml")
            try Data(text.utf8).write(to: file)
            FileHandle.standardOutput.write(Data("shrunk to:\n\(text)".utf8))
            return file.path
        } catch {
            throw CommandFailure("cannot write the shrunk case into \(out): \(error.localizedDescription)", code: 2)
        }
    }
}
