import ArgumentParser
import CShim
import Foundation

struct Teardown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teardown",
        abstract: "Conformance suite and fault-injection harness for socket providers: how a socket is closed.",
        discussion: """
            Exit codes: 0 success, 1 a check failed, 2 harness or environment error, 64 usage error.
            """,
        subcommands: [Run.self, Merge.self, List.self, Explain.self, Inspect.self, Doctor.self, Power.self, Explore.self, Worker.self]
    )
}

/// The entry point: standard output is line-buffered, so that a log read without a terminal holds every
/// line already decided even if the process dies; a `CommandFailure` ends the command with its message and code.
@main
enum Main {
    static func main() {
        td_line_buffer_stdout()
        // A write to a pipe whose reader has gone (a worker that crashed before reading its job, a report FIFO
        // closed early) fails with EPIPE, which is handled where it happens, instead of killing the run.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try Teardown.parseAsRoot()
            try command.run()
        } catch let failure as CommandFailure {
            td_flush_stdout()
            FileHandle.standardError.write(Data("teardown: \(failure.message)\n".utf8))
            exit(failure.code)
        } catch {
            Teardown.exit(withError: error)
        }
    }
}

/// An error that ends the command after a clear message: exit 64 for a usage error (the default), 2 for the
/// harness or the environment.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    init(_ message: String, code: Int32 = 64) {
        self.message = message
        self.code = code
    }
    var description: String { message }
}

/// JSON with sorted keys, so that the output is stable from run to run.
func stableJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
}
