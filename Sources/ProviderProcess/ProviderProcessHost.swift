import Basics
import CShim
import Foundation
public import ProviderInterface

/// A provider that runs in a process of its own and speaks the provider protocol (docs/provider-protocol.md) on its
/// standard input and output: requests go in one line each, answers and events come back one line each.
///
/// The process is started once and serves one provider instance (a `ProcessProvider`) at a time; an instance ends
/// with `cleanup`, after which the process must hold no socket. It is tied to the thread that started it: when that
/// thread ends, or this process does, however it ends, the provider's process is killed.
public final class ProviderProcessHost: @unchecked Sendable {
    /// The protocol versions this harness speaks.
    public static let protocolVersion = 1
    /// The longest line read from a provider: far beyond the base64 of the largest receive a case asks for.
    static let longestLine = 64 << 20

    public let command: String
    public let pid: Int32
    /// The name the provider gave itself, and what it can do.
    public private(set) var name = ""
    public private(set) var capabilities: ProviderCapabilities = []

    private let input: FileHandle
    private let writeLock = NSLock()
    private let condition = NSCondition()
    private var nextID: UInt64 = 1
    /// Calls sent and not answered yet: what the calling thread waits for, and what the call is (for a crash report).
    private var waiting: [UInt64: Waiter] = [:]
    private var greeting: [Substring]?
    /// How the process ended, once it has (waitpid's status), and what it last said on standard error.
    private var ending: Int32?
    private var lastWords: [String] = []
    /// Whether its standard error has been read to the end.
    private var errorsClosed = false
    private var outputClosed = false
    private var deathReported = false
    /// Other processes that hold the provider's sockets (Wine's wineserver), as the provider named them.
    private var holders: Set<Int32> = []
    private var deathTold = false
    /// Where the provider's upcalls and completions go: the instance being served.
    private weak var session: ProcessProvider?
    /// Called once if the process ends while an instance is served or a call is in progress: from the thread that
    /// reads the provider, or from a call that finds the process gone, whichever comes first.
    private let onDeath: @Sendable (ProviderProcessDeath) -> Void

    final class Waiter {
        let call: String
        let thread: pid_t
        var answer: Result<[Substring], SocketError>?
        init(call: String, thread: pid_t) {
            self.call = call
            self.thread = thread
        }
    }

    /// Starts `command` (through `/bin/sh -c`, so that it may carry arguments, quotes and variables) and reads its
    /// greeting, at most `within`.
    /// - Throws: `ProviderProcessError` saying what went wrong: it could not start, it died, it said something else,
    ///   it speaks another version.
    public init(
        command: String, within limit: Duration = .seconds(60), onDeath: @escaping @Sendable (ProviderProcessDeath) -> Void = { _ in }
    )
        throws(ProviderProcessError)
    {
        self.command = command
        self.onDeath = onDeath
        guard let toChild = CurrentProcess.pipe(), let fromChild = CurrentProcess.pipe(), let errors = CurrentProcess.pipe() else {
            throw ProviderProcessError("cannot make pipes for the provider's process: \(String(cString: strerror(errno)))")
        }
        let arguments = ["/bin/sh", "-c", "exec \(command)"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var child: pid_t = 0
        let spawned = td_spawn_tied("/bin/sh", argv, toChild.read, fromChild.write, errors.write, &child)
        for end in [toChild.read, fromChild.write, errors.write] { Glibc.close(end) }
        guard spawned == 0 else {
            for end in [toChild.write, fromChild.read, errors.read] { Glibc.close(end) }
            throw ProviderProcessError("cannot start the provider's process: \(String(cString: strerror(spawned)))")
        }
        pid = child
        input = FileHandle(fileDescriptor: toChild.write, closeOnDealloc: true)
        ProviderProcesses.add(child)
        readAnswers(FileHandle(fileDescriptor: fromChild.read, closeOnDealloc: true))
        readErrors(FileHandle(fileDescriptor: errors.read, closeOnDealloc: true))
        Thread.detachNewThread { [self, child] in
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            ProviderProcesses.remove(child)
            update { host in
                host.ending = status
                for holder in host.holders { ProviderProcesses.remove(holder) }
            }
        }
        try greet(within: limit)
    }

    deinit { end() }

    /// Ends the process: its standard input closes, and it is killed.
    public func end() {
        try? input.close()
        condition.lock()
        let running = ending == nil
        condition.unlock()
        if running { kill(pid, SIGKILL) }
    }

    /// Whether the process is still running.
    public var isRunning: Bool {
        condition.lock()
        defer { condition.unlock() }
        return ending == nil && !outputClosed
    }

    private func update(_ body: (ProviderProcessHost) -> Void) {
        condition.lock()
        body(self)
        condition.broadcast()
        condition.unlock()
    }

    private func greet(within limit: Duration) throws(ProviderProcessError) {
        send("teardown \(Self.protocolVersion)")
        condition.lock()
        let deadline = Deadline(after: limit)
        _ = condition.wait(until: deadline) { greeting != nil || outputClosed || ending != nil }
        let said = greeting
        condition.unlock()
        guard let said else {
            if !isRunning {
                // Its last words (a shell's "not found") are read by another thread: wait for them, briefly.
                condition.lock()
                _ = condition.wait(until: Deadline(after: .seconds(2))) { errorsClosed }
                condition.unlock()
            }
            let why = isRunning ? "did not answer within \(limit)" : "ended before answering\(lastWordsText)"
            end()
            throw ProviderProcessError("the provider's process (\(command)) \(why)")
        }
        guard said.count >= 3, said[0] == "provider", let version = Int(said[1]) else {
            end()
            throw ProviderProcessError(
                "the provider's process (\(command)) answered '\(said.joined(separator: " "))' instead of 'provider \(Self.protocolVersion) NAME CAPABILITIES'"
            )
        }
        guard version == Self.protocolVersion else {
            end()
            throw ProviderProcessError(
                "the provider's process speaks protocol version \(version); this harness speaks \(Self.protocolVersion)")
        }
        name = String(said[2])
        var capabilities: ProviderCapabilities = []
        for word in (said.count > 3 ? said[3] : "-").split(separator: ",") where word != "-" {
            guard let known = ProviderCapabilities.names.first(where: { $0.1 == word }) else {
                end()
                throw ProviderProcessError(
                    "the provider's process names a capability '\(word)' this harness does not know (it knows \(ProviderCapabilities.names.map(\.1).joined(separator: ", ")))"
                )
            }
            capabilities.insert(known.0)
        }
        self.capabilities = capabilities
    }

    /// How the process ended, if it has, and its last lines on standard error.
    private var lastWordsText: String {
        condition.lock()
        defer { condition.unlock() }
        return (ending.map { " (\(Self.describe(status: $0)))" } ?? "") + saidText
    }

    /// Its last lines on standard error (the condition's lock held).
    private var saidText: String {
        lastWords.isEmpty ? "" : "; it said: " + lastWords.suffix(5).joined(separator: " / ")
    }

    static func describe(status: Int32) -> String {
        let signal = status & 0x7F
        return signal != 0 ? "killed by signal \(signal)" : "exited with status \((status >> 8) & 0xFF)"
    }

    // MARK: Calls

    /// Serves `provider` from now on: its upcalls and completions go there.
    func serve(_ provider: ProcessProvider?) { update { $0.session = provider } }

    /// Makes one call on a provider thread named after the calling thread and waits for its answer, however long
    /// it takes: the harness bounds its calls itself. A process that ends meanwhile fails the call with
    /// `systemCallFailure` (and is reported through `onDeath`).
    func call(_ operation: String, _ arguments: [String], payload: String? = nil) throws(SocketError) -> [Substring] {
        let thread = td_gettid()
        condition.lock()
        let id = nextID
        nextID += 1
        let waiter = Waiter(call: operation, thread: thread)
        waiting[id] = waiter
        let gone = ending != nil || outputClosed
        condition.unlock()
        defer { update { $0.waiting[id] = nil } }
        if !gone {
            ProviderProcesses.note(.sent, madeBy: thread)
            var line = "call \(id) \(thread) \(operation)"
            for argument in arguments { line += " " + argument }
            if let payload { line += " " + payload }
            send(line)
        }
        defer { ProviderProcesses.note(nil, madeBy: thread) }
        condition.lock()
        while waiter.answer == nil, ending == nil, !outputClosed { condition.wait() }
        let answer = waiter.answer
        condition.unlock()
        guard let answer else {
            // Told while this call is still among those waiting, so that the death names it.
            reportDeath()
            throw .systemCallFailure
        }
        return try answer.get()
    }

    private func send(_ line: String) {
        writeLock.withLock {
            // A process that has gone is noticed by the reader; a write to it fails with EPIPE, not a signal.
            try? input.write(contentsOf: Data((line + "\n").utf8))
        }
    }

    /// Reads the provider's standard output line by line until it closes.
    private func readAnswers(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            td_set_thread_name("provider-reader")
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty {
                    update { $0.errorsClosed = true }
                    break
                }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    receive(line: line)
                }
                // The longest line the protocol needs carries a receive's bytes in base64; one far longer is not a
                // line of the protocol, and is not kept growing.
                if pending.count > Self.longestLine {
                    protocolError("a line longer than \(Self.longestLine) bytes; the process is stopped")
                    kill(pid, SIGKILL)
                    break
                }
            }
            update { $0.outputClosed = true }
            reportDeath()
        }
    }

    /// Tells `onDeath`, once, that the process has ended, if it served an instance or had calls in progress then.
    /// Called by the thread that reads the provider and by a call that finds the process gone, whichever comes
    /// first: a worker's `onDeath` ends the worker, before the call's failure can be taken for the provider's answer.
    private func reportDeath() {
        condition.lock()
        guard !deathReported, outputClosed || ending != nil else {
            // Told by another thread, or being told: this one waits until it has been.
            _ = condition.wait(until: Deadline(after: .seconds(10))) { deathTold || !deathReported }
            condition.unlock()
            return
        }
        deathReported = true
        let served = session != nil
        let calls = waiting.values.map(\.call)
        // How it ended: waited for briefly, as the reaper may not have seen it yet.
        _ = condition.wait(until: Deadline(after: .seconds(5))) { ending != nil }
        let status = ending
        let said = saidText
        condition.unlock()
        if served || !calls.isEmpty {
            onDeath(ProviderProcessDeath(status: status, calls: calls, lastWords: said))
        }
        update { $0.deathTold = true }
    }

    private func readErrors(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty {
                    update { $0.errorsClosed = true }
                    break
                }
                let text = String(decoding: chunk, as: UTF8.self)
                FileHandle.standardError.write(chunk)
                update { host in
                    host.lastWords += text.split(separator: "\n").map(String.init)
                    if host.lastWords.count > 20 { host.lastWords.removeFirst(host.lastWords.count - 20) }
                }
            }
        }
    }

    private func receive(line: String) {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        condition.lock()
        let greeted = greeting != nil
        condition.unlock()
        // The first line is the greeting, whatever it says: `greet` judges it.
        guard greeted else { return update { $0.greeting = words } }
        guard let kind = words.first else { return }
        switch kind {
        case "ok", "err":
            guard words.count >= 2, let id = UInt64(words[1]) else { return protocolError(line) }
            update { host in
                guard let waiter = host.waiting[id] else { return }
                if kind == "ok" {
                    waiter.answer = .success(Array(words.dropFirst(2)))
                } else {
                    let code = words.count > 2 ? Int32(words[2]) : nil
                    waiter.answer = .failure(code.map { SocketError(rawValue: $0) } ?? .systemCallFailure)
                }
            }
        case "entered":
            guard words.count >= 2, let id = UInt64(words[1]) else { return protocolError(line) }
            let thread = words.count > 2 ? Int32(words[2]) ?? 0 : 0
            condition.lock()
            let caller = waiting[id]?.thread
            condition.unlock()
            if let caller {
                ProviderProcesses.note(thread > 0 ? .running(process: pid, thread: thread) : .entered, madeBy: caller)
            }
        case "holder":
            guard words.count == 2, let holder = Int32(words[1]), holder > 0 else { return protocolError(line) }
            update { $0.holders.insert(holder) }
            ProviderProcesses.add(holder)
        case "complete", "upcall":
            condition.lock()
            let provider = session
            condition.unlock()
            provider?.event(words) ?? protocolError(line + " (with no provider instance being served)")
        default:
            protocolError(line)
        }
    }

    /// Says on standard error that the provider sent a line the protocol does not know.
    func protocolError(_ line: String) {
        FileHandle.standardError.write(
            Data("teardown: the provider's process said something the protocol does not know: \(line.prefix(200))\n".utf8))
    }

    /// Answers an upcall.
    func answer(upcall number: Substring, _ result: Result<String, SocketError>) {
        switch result {
        case .success(let value): send("upcall-ok \(number)\(value.isEmpty ? "" : " " + value)")
        case .failure(let error): send("upcall-err \(number) \(error.rawValue)")
        }
    }
}

/// A provider process that ended while it served an instance or had calls in progress.
public struct ProviderProcessDeath: Sendable, CustomStringConvertible {
    /// waitpid's status, when it is known.
    public let status: Int32?
    /// The calls that were in progress.
    public let calls: [String]
    let lastWords: String

    /// The signal that killed it, if one did.
    public var signal: Int32? {
        guard let status, status & 0x7F != 0 else { return nil }
        return status & 0x7F
    }

    public var description: String {
        let how = status.map(ProviderProcessHost.describe(status:)) ?? "closed its output"
        let place = calls.isEmpty ? " between calls" : " in \(calls.joined(separator: ", "))"
        return "the provider's process \(how)\(place)\(lastWords)"
    }
}

/// Why a provider's process cannot be used.
public struct ProviderProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
