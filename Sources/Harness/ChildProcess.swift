public import Foundation

/// Runs a program to its end with a deadline: both of its outputs are drained while it runs (so a large
/// output never blocks it), and it is killed if it outlives the deadline.
public enum ChildProcess {
    /// How a program ended and what it printed.
    public struct Outcome: Sendable {
        /// The exit status, when it exited.
        public var status: Int32 = 0
        /// The signal that ended it, when one did (never set for a kill at the deadline).
        public var signal: Int32?
        /// Whether it was killed at the deadline.
        public var timedOut = false
        /// Whether it could not be started at all (then `errors` says why).
        public var notStarted = false
        public var output = Data()
        public var errors = Data()

        /// The end of what it wrote to standard error, or "no message".
        public var errorText: String {
            let text = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? "no message" : String(text.suffix(600))
        }
    }

    /// Runs `path` with `arguments`; `input`, when given, is its standard input (else it reads nothing).
    public static func run(_ path: String, _ arguments: [String], input: Data? = nil, within limit: Duration) -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let inputPipe = input.map { _ in Pipe() }
        process.standardInput = inputPipe ?? FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        var outcome = Outcome()
        do {
            try process.run()
        } catch {
            outcome.status = 127
            outcome.notStarted = true
            outcome.errors = Data("cannot start \(path): \(error)".utf8)
            return outcome
        }
        if let inputPipe, let input { feed(inputPipe, input) }
        let collected = Collected()
        let readers = DispatchGroup()
        for (pipe, isOutput) in [(output, true), (errors, false)] {
            readers.enter()
            Thread.detachNewThread {
                let reading = pipe.fileHandleForReading
                collected.set(reading.readDataToEndOfFile(), output: isOutput)
                // Foundation keeps a pipe's read end open as long as the Pipe lives, which the Process may
                // outlast: closed here, or a long run leaks two descriptors a child.
                try? reading.close()
                readers.leave()
            }
        }
        let (seconds, attoseconds) = limit.components
        let deadline = DispatchTime.now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        if finished.wait(timeout: deadline) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
            outcome.timedOut = true
        }
        // The pipes close when the process ends, unless a child of its own still holds them.
        _ = readers.wait(timeout: .now() + .seconds(10))
        outcome.output = collected.output
        outcome.errors = collected.errors
        if process.terminationReason == .uncaughtSignal && !outcome.timedOut {
            outcome.signal = process.terminationStatus
        } else {
            outcome.status = process.terminationStatus
        }
        return outcome
    }

    /// Writes `input` into the child's standard input from a thread of its own, so that a child that reads slowly
    /// (or not at all) cannot block this one; a child gone early makes the write fail (the command line ignores SIGPIPE).
    private static func feed(_ pipe: Pipe, _ input: Data) {
        Thread.detachNewThread {
            let writing = pipe.fileHandleForWriting
            try? writing.write(contentsOf: input)
            try? writing.close()
        }
        try? pipe.fileHandleForReading.close()
    }

    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data: [Bool: Data] = [:]

        func set(_ value: Data, output: Bool) {
            lock.lock()
            data[output] = value
            lock.unlock()
        }

        var output: Data { value(true) }
        var errors: Data { value(false) }

        private func value(_ output: Bool) -> Data {
            lock.lock()
            defer { lock.unlock() }
            return data[output] ?? Data()
        }
    }
}
