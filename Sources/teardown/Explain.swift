import ArgumentParser
import Conformance
import Foundation
import Harness
import PacketCapture
import Reporting
import WireAnalysis

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a statement of SPEC.md, or a case: the statement, the steps, and what is expected and why.",
        discussion: """
            ID is a statement id of SPEC.md (CLOSE-2, linger-6): its text, its section's context and the cases that \
            check it. Or a case id (the first instance is shown), or an instance id with its matrix values, as \
            teardown list --instances prints them.
            """
    )

    @OptionGroup var suite: SuiteOptions

    @Argument(help: "A statement id (CLOSE-2), a case id, or an instance id.")
    var id: String

    @Option(help: "Draw the ladder of this instance as it ran in an earlier run: that run's results.json (or --json file).")
    var results: String?

    @Flag(
        name: .customLong("run"), help: "Run the instance now, then draw its ladder and give its verdict (exit codes as teardown run's).")
    var runNow = false

    @Option(help: "With --run, the provider under test (as for teardown run).")
    var provider = "reference"

    func validate() throws {
        _ = try ProviderChoice.parse(provider)
        if runNow && results != nil { throw ValidationError("--run and --results each draw a ladder; give one of them") }
    }

    func run() throws {
        let (statements, cases, errors) = try suite.load()
        if let statement = statements.first(where: { $0.id.caseInsensitiveCompare(id) == .orderedSame }) {
            guard !runNow, results == nil else { throw CommandFailure("--run and --results take a case, not a statement") }
            let path = suite.specificationPath
            let specification: Specification
            do {
                specification = try Specification.load(path: path)
            } catch {
                throw CommandFailure("\(error)", code: 2)
            }
            guard let entry = specification.entry(statement.id) else {
                throw CommandFailure("\(statement.id) is in statements.yaml but not in \(path)", code: 2)
            }
            print(specification.explain(entry, cases: cases, file: "SPEC.md"), terminator: "")
            return
        }
        let all = cases.flatMap(\.instances)
        guard let instance = all.first(where: { $0.id == id }) ?? all.first(where: { $0.caseID == id }) else {
            for error in errors { FileHandle.standardError.write(Data("teardown: \(error)\n".utf8)) }
            let close = cases.map(\.id).filter { $0.contains(id) || id.contains($0) }
            throw CommandFailure(
                "no case '\(id)'" + (close.isEmpty ? "; teardown list shows them" : "; did you mean \(close.joined(separator: ", "))?"),
                code: 64)
        }
        let siblings = all.filter { $0.caseID == instance.caseID }.count
        print(Explainer.explain(instance, statements: statements), terminator: "")
        if siblings > 1 {
            print(
                id == instance.caseID
                    ? "\nThe first of the \(siblings) instances of this case's matrix; teardown list --instances names them all."
                    : "\nOne of the \(siblings) instances of \(instance.caseID).")
        }
        if let results {
            let report = try readReport(results)
            guard let result = report.results.first(where: { $0.id == instance.id }) else {
                throw CommandFailure("\(results) has no result for \(instance.id)", code: 64)
            }
            print("\nAs it ran against \(report.provider) (seed \(report.seed)):")
            print(Explainer.outcome(result), terminator: "")
        } else if runNow {
            try runAndDraw(instance)
        }
    }

    func runAndDraw(_ instance: CaseInstance) throws {
        do {
            _ = try CaptureAccess.ensure()
        } catch {
            throw CommandFailure("cannot capture: \(error.message)", code: 2)
        }
        let directory = "captures/runs/explain-\(Run.stamp(Date()))-\(Runner.fileName(provider))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("cannot create \(directory): \(error.localizedDescription)", code: 2)
        }
        let choice = try ProviderChoice.parse(provider)
        var options = RunOptions(provider: choice.factory)
        options.captureDirectory = directory
        try choice.prepare(&options)
        let result = Runner.run([instance], options: options)[0]
        print("\nAs it ran now against \(provider):")
        print(Explainer.outcome(result), terminator: "")
        let code = RunVerdict.of(results: [result], stale: [], unstable: []).exitCode
        if code != 0 { throw ExitCode(code) }
    }
}
