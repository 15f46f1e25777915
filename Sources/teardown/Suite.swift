import ArgumentParser
import Conformance
import Foundation

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
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            url = url.deletingLastPathComponent()
            let candidate = url.appendingPathComponent("conformance")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("statements.yaml").path) { return candidate.path }
        }
        return "conformance"
    }

    /// The statements and the cases; a file that cannot be read ends the command with exit 2, malformed cases are returned.
    func load() -> (statements: [Statement], cases: [Case], errors: [CaseFileError]) {
        let statements: [Statement]
        do {
            statements = try CaseLoader.loadStatements(path: "\(directory)/statements.yaml")
        } catch {
            Teardown.exit("\(error)", code: 2)
        }
        let (cases, errors) = CaseLoader.loadDirectory("\(directory)/cases", statements: statements)
        return (statements, cases, errors)
    }
}

/// Whether `text` matches a shell glob.
func glob(_ pattern: String, _ text: String) -> Bool { fnmatch(pattern, text, 0) == 0 }
