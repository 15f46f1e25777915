import ArgumentParser
import Basics
import Conformance
import Foundation
import Reporting

/// Where the suite lives and what it holds, shared by run, list and explain.
struct SuiteOptions: ParsableArguments {
    @Option(
        help:
            "The suite directory: statements.yaml, cases/ and expectations/ (default: ./conformance, else the one beside the binary's checkout)."
    )
    var suite: String?

    var directory: String {
        if let suite { return suite }
        if FileManager.default.fileExists(atPath: "conformance/statements.yaml") { return "conformance" }
        // .build/<config>/teardown -> the checkout's conformance/
        let exe = CurrentProcess.executablePath()
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            url = url.deletingLastPathComponent()
            let candidate = url.appendingPathComponent("conformance")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("statements.yaml").path) { return candidate.path }
        }
        return "conformance"
    }

    /// SPEC.md: beside the suite directory, at the root of the checkout.
    var specificationPath: String {
        URL(fileURLWithPath: directory).standardizedFileURL.deletingLastPathComponent().appendingPathComponent("SPEC.md").path
    }

    /// The statements and the cases; malformed cases are returned.
    /// - Throws: `CommandFailure` (exit 2) when the statements cannot be read.
    func load() throws(CommandFailure) -> (statements: [Statement], cases: [Case], errors: [CaseFileError]) {
        let statements: [Statement]
        do {
            statements = try CaseLoader.loadStatements(path: "\(directory)/statements.yaml")
        } catch {
            throw CommandFailure("\(error)", code: 2)
        }
        let (cases, errors) = CaseLoader.loadDirectory("\(directory)/cases", statements: statements)
        return (statements, cases, errors)
    }
}
