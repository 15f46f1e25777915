import ArgumentParser
import Basics
import CShim
import Conformance
import Foundation
import Harness
import PacketCapture
import ProviderCatalogue
import Reporting

/// Progress as cases finish. On a terminal, one line rewritten in place; otherwise (a CI log) one line per
/// finished case with the running count and how many are not passing; nothing with --quiet.
final class Progress: @unchecked Sendable {
    private let total: Int
    private var done = 0
    private var problems = 0
    private let lock = NSLock()
    private let console: Console
    private let quiet: Bool
    private let terminal: Bool

    init(total: Int, console: Console, quiet: Bool) {
        self.total = total
        self.console = console
        self.quiet = quiet
        terminal = console.isTerminal
    }

    func advance(_ result: CaseResult) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        if [.fail, .error, .nonStrict].contains(result.verdict) { problems += 1 }
        guard !quiet else { return }
        let count = "[\(done)/\(total)]"
        let notPassing = problems == 0 ? "" : " (\(problems) not passing)"
        if terminal {
            console.write("\r\u{1B}[2K" + "\(count)\(notPassing)  \(result.verdict.rawValue) \(result.id)".prefix(150))
        } else {
            let seconds = String(format: "%.1f", result.seconds)
            console.write("\(count) \(result.verdict.rawValue) \(result.id) (\(seconds) s)\(notPassing)\n")
        }
    }

    func finish() {
        if terminal && !quiet { console.write("\r\u{1B}[2K") }
    }
}

/// Where the console's words go: standard output, or standard error when a report is written to standard output.
struct Console: Sendable {
    let toStandardError: Bool

    var isTerminal: Bool { isatty(toStandardError ? STDERR_FILENO : STDOUT_FILENO) == 1 }

    func write(_ text: String) {
        if toStandardError {
            FileHandle.standardError.write(Data(text.utf8))
        } else {
            print(text, terminator: "")
            td_flush_stdout()
        }
    }
}

/// The bounds of the numbers the command line takes.
enum Limits {
    static let repetitions = 10_000
    static let shards = 100_000
    static let watchdogSeconds = 3_600

    /// - Throws: `ValidationError` naming the option and its range when `value` is outside it.
    static func check(_ option: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound), not \(value)")
        }
    }
}
