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
    /// Workers told to end (their case went wrong): waited for with the idle ones, so that none is left running.
    private var ending: [ServingWorker] = []

    init(provider: String, limit: Duration) {
        self.provider = provider
        self.limit = limit
    }

    /// The idle workers end with the pool: each is told (its standard input closes) and waited for, briefly, so
    /// that no worker outlives the run that started it.
    deinit {
        for worker in idle { worker.finish() }
        for worker in idle + ending { worker.waitUntilEnded(within: .seconds(5)) }
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
                lock.withLock { ending.append(worker) }
                return Runner.failed(instance, "the worker answered with something that is not a result", seconds: seconds)
            }
            if result.verdict == .pass || result.verdict == .skipped {
                lock.withLock { idle.append(worker) }
            } else {
                worker.finish()
                lock.withLock { ending.append(worker) }
            }
            return result
        case .timedOut:
            worker.kill()
            lock.withLock { ending.append(worker) }
            return Runner.failed(
                instance, "the worker running the provider did not finish within \(limit); it was killed", seconds: seconds)
        case .ended(let signal, let status, let errors):
            if let signal { return WorkerProcess.crashed(instance, signal: signal, errors: errors, seconds: seconds) }
            if status == ProviderDeath.exitStatus, let death = ProviderDeath.find(in: errors) {
                return WorkerProcess.providerDied(instance, death, errors: errors, seconds: seconds)
            }
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

    private let pid: pid_t
    private let input: FileHandle
    private let condition = NSCondition()
    private var lines: [Data] = []
    private var pendingOutput = Data()
    private var errors = Data()
    private var outputClosed = false
    private var errorsClosed = false
    /// How the process ended, once it has: the signal that ended it, or its exit status.
    private var ending: (signal: Int32?, status: Int32)?

    /// Marks the start of a job in the worker's standard error.
    static let jobMarker = "teardown-worker: job\n"

    private init(pid: pid_t, input: FileHandle) {
        self.pid = pid
        self.input = input
    }

    /// Starts a worker. Its pipes are close-on-exec here and it inherits no other descriptor of this process:
    /// a worker must hold neither another worker's pipe (it would never see its input close) nor a socket of a case
    /// run here (the connection would outlive the case). Spawned with posix_spawn, not Foundation's Process, which
    /// is not safe to start from many threads at once.
    static func start(provider: String) -> ServingWorker? {
        guard let input = CurrentProcess.pipe(), let output = CurrentProcess.pipe(), let errors = CurrentProcess.pipe() else { return nil }
        let arguments = [WorkerProcess.executable, "worker", "--serve", "--provider", provider]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = td_spawn(WorkerProcess.executable, argv, input.read, output.write, errors.write, &pid)
        // The child's ends are the child's: this process keeps only its own.
        for end in [input.read, output.write, errors.write] { Glibc.close(end) }
        guard spawned == 0 else {
            for end in [input.write, output.read, errors.read] { Glibc.close(end) }
            return nil
        }
        let worker = ServingWorker(pid: pid, input: FileHandle(fileDescriptor: input.write, closeOnDealloc: true))
        worker.read(FileHandle(fileDescriptor: output.read, closeOnDealloc: false), isOutput: true)
        worker.read(FileHandle(fileDescriptor: errors.read, closeOnDealloc: false), isOutput: false)
        // Reaped by a thread of its own, which records how it ended.
        Thread.detachNewThread { [weak worker, pid] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let signal = status & 0x7F
            let ending: (Int32?, Int32) = signal != 0 ? (signal, 0) : (nil, (status >> 8) & 0xFF)
            worker?.update { $0.ending = ending }
        }
        return worker
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
        _ = condition.wait(until: Deadline(after: .seconds(10))) { ending != nil && errorsClosed }
        let said = errors.range(of: Data(Self.jobMarker.utf8)).map { Data(errors[$0.upperBound...]) } ?? errors
        return .ended(signal: ending?.signal, status: ending?.status ?? -1, errors: said)
    }

    /// Ends an idle worker: it exits when its standard input closes.
    func finish() {
        try? input.close()
    }

    /// Waits until the process has exited and its outputs are read to the end, at most `limit`.
    func waitUntilEnded(within limit: Duration) {
        condition.lock()
        _ = condition.wait(until: Deadline(after: limit)) { ending != nil && outputClosed && errorsClosed }
        condition.unlock()
    }

    func kill() {
        Glibc.kill(pid, SIGKILL)
        try? input.close()
    }
}
