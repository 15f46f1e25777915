import ArgumentParser
import Foundation

@main
struct Teardown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teardown",
        abstract: "Conformance suite and fault-injection harness for socket providers: how a socket is closed.",
        discussion: """
            Exit codes: 0 success, 1 a check failed, 2 harness or environment error, 64 usage error.
            """,
        subcommands: [Run.self, Merge.self, List.self, Explain.self, Inspect.self, Doctor.self, Power.self, Worker.self]
    )
}

/// An error that ends the command with exit code 2 (harness or environment) after a clear message.
struct EnvironmentFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension ParsableCommand {
    /// Prints `message` on standard error as "teardown: message" and exits with `code`.
    static func exit(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("teardown: \(message)\n".utf8))
        Foundation.exit(code)
    }
}

/// JSON with sorted keys, so that the output is stable from run to run.
func stableJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
}
