import Basics
import CShim
import Conformance
import Foundation
import Harness

/// Worker processes kept between cases: a worker whose case passed (or was skipped) takes the next case of the
/// same provider, so that a run pays for a process start only where a case went wrong. A worker whose case
/// failed, errored, crashed or hung is never reused: whatever the provider left behind (a thread still inside a
/// call, a descriptor it should have closed) dies with it, and the next case gets a fresh process.
final class WorkerPool: @unchecked Sendable {
    private let provider: String
    private let limit: Duration
    private let lock = NSLock()
    private var idle: [ServingWorker] = []

    init(provider: String, limit: Duration) {
        self.provider = provider
        self.limit = limit
    }

    /// The idle workers end with the pool: each is told (its standard input closes) and waited for, briefly, so
    /// that no worker outlives the run that started it.
    deinit {
        for worker in idle { worker.finish() }
        for worker in idle { worker.waitUntilEnded(within: .seconds(5)) }
    }

    /// Runs `job` in an idle worker, or a new one; what became of it is the case's result.
    func run(_ job: WorkerJob) -> CaseResult {
        let started = Date()
        let instance = job.instance
        guard let input = try? JSONEncoder().encode(job) else {
            return Runner.failed(instance, "the instance cannot be encoded for a worker process", seconds: 0)
        }
        var worker = lock.withLock { idle.popLast() }
        if worker == nil { worker = ServingWorker.start(provider: provider) }
        // Once more: a passing shortage of processes or memory.
        if worker == nil { worker = ServingWorker.start(provider: provider) }
        guard let worker else {
            return Runner.failed(instance, "the worker process could not be started", seconds: 0)
        }
        let answer = worker.run(input, within: limit)
        let seconds = Date().timeIntervalSince(started)
        switch answer {
        case .result(let line):
            guard let result = try? JSONDecoder().decode(CaseResult.self, from: line) else {
                worker.kill()
                return Runner.failed(instance, "the worker answered with something that is not a result", seconds: seconds)
            }
            if result.verdict == .pass || result.verdict == .skipped {
                lock.withLock { idle.append(worker) }
            } else {
                worker.finish()
            }
            return result
        case .timedOut:
            worker.kill()
            return Runner.failed(
                instance, "the worker running the provider did not finish within \(limit); it was killed", seconds: seconds)
        case .ended(let signal, let status, let errors):
            if let signal { return WorkerProcess.crashed(instance, signal: signal, errors: errors, seconds: seconds) }
            let text = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return Runner.failed(
                instance, "the worker failed (exit \(status)): \(text.isEmpty ? "no message" : String(text.suffix(600)))", seconds: seconds)
        }
    }
}

/// One `teardown worker --serve` process: jobs go in on its standard input, one JSON line each; each result comes
/// back as one line on its standard output. Its standard error (findings as they are made, a crash report) is kept
/// from the start of the current job.
final class ServingWorker: @unchecked Sendable {
    enum Answer {
        case result(Data)
        case timedOut
        /// The process ended before answering: the signal that ended it, or its exit status; its last words.
        case ended(signal: Int32?, status: Int32, errors: Data)
    }

    private let process: Process
    private let input: FileHandle
    private let condition = NSCondition()
    private var lines: [Data] = []
    private var pendingOutput = Data()
    private var errors = Data()
    private var outputClosed = false
    private var errorsClosed = false
    private var exited = false

    /// Marks the start of a job in the worker's standard error.
    static let jobMarker = "teardown-worker: job\n"

    private init(process: Process, input: FileHandle) {
        self.process = process
        self.input = input
    }

    static func start(provider: String) -> ServingWorker? {
        // Pipes made close-on-exec, so that no other worker started meanwhile inherits this one's ends: a worker
        // whose standard input another process also holds would never see it close.
        guard let input = pipe(), let output = pipe(), let errors = pipe() else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: WorkerProcess.executable)
        process.arguments = ["worker", "--serve", "--provider", provider]
        process.standardInput = FileHandle(fileDescriptor: input.read, closeOnDealloc: true)
        process.standardOutput = FileHandle(fileDescriptor: output.write, closeOnDealloc: true)
        process.standardError = FileHandle(fileDescriptor: errors.write, closeOnDealloc: true)
        let worker = ServingWorker(process: process, input: FileHandle(fileDescriptor: input.write, closeOnDealloc: true))
        // Weakly: a worker that is done with is freed (with its pipes) though its process is still ending.
        process.terminationHandler = { [weak worker] _ in worker?.update { $0.exited = true } }
        defer {
            // The child's ends are the child's: this process keeps only its own.
            for end in [process.standardInput, process.standardOutput, process.standardError] { try? (end as? FileHandle)?.close() }
        }
        do {
            try process.run()
        } catch {
            Glibc.close(input.write)
            Glibc.close(output.read)
            Glibc.close(errors.read)
            return nil
        }
        worker.read(FileHandle(fileDescriptor: output.read, closeOnDealloc: false), isOutput: true)
        worker.read(FileHandle(fileDescriptor: errors.read, closeOnDealloc: false), isOutput: false)
        return worker
    }

    /// A pipe whose two ends are closed on exec.
    private static func pipe() -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [-1, -1]
        guard td_pipe_cloexec(&ends) == 0 else { return nil }
        return (ends[0], ends[1])
    }

    private func update(_ body: (ServingWorker) -> Void) {
        condition.lock()
        body(self)
        condition.broadcast()
        condition.unlock()
    }

    /// Drains one of the worker's outputs from a thread of its own, until the worker closes it.
    private func read(_ handle: FileHandle, isOutput: Bool) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                update { worker in
                    guard isOutput else { return worker.errors.append(chunk) }
                    worker.pendingOutput.append(chunk)
                    while let newline = worker.pendingOutput.firstIndex(of: UInt8(ascii: "\n")) {
                        worker.lines.append(worker.pendingOutput[worker.pendingOutput.startIndex..<newline])
                        worker.pendingOutput = Data(worker.pendingOutput[(newline + 1)...])
                    }
                }
            }
            try? handle.close()
            update { worker in
                if isOutput { worker.outputClosed = true } else { worker.errorsClosed = true }
            }
        }
    }

    /// Sends one job and waits for its result, at most `limit`.
    func run(_ job: Data, within limit: Duration) -> Answer {
        condition.lock()
        errors = Data()
        lines = []
        condition.unlock()
        do {
            try input.write(contentsOf: job + Data("\n".utf8))
        } catch {
            // The worker is gone: what it said is read below.
        }
        let deadline = Deadline(after: limit)
        condition.lock()
        defer { condition.unlock() }
        guard condition.wait(until: deadline, for: { !lines.isEmpty || outputClosed }) else { return .timedOut }
        if let line = lines.first { return .result(line) }
        // No answer and no more output: the process has ended, or is ending; its standard error is read to the end.
        let settled = Deadline(after: .seconds(10))
        _ = condition.wait(until: settled) { exited && errorsClosed }
        let said = errors.range(of: Data(Self.jobMarker.utf8)).map { Data(errors[$0.upperBound...]) } ?? errors
        let signal = exited && process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
        return .ended(signal: signal, status: exited ? process.terminationStatus : -1, errors: said)
    }

    /// Ends an idle worker: it exits when its standard input closes.
    func finish() {
        try? input.close()
    }

    /// Waits until the process has exited and its outputs are read to the end, at most `limit`.
    func waitUntilEnded(within limit: Duration) {
        condition.lock()
        _ = condition.wait(until: Deadline(after: limit)) { exited && outputClosed && errorsClosed }
        condition.unlock()
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        try? input.close()
    }
}
