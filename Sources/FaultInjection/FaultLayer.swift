import Basics
import Foundation
public import ProviderInterface
import SocketSystem
import Synchronization

/// What the layer needs from the run around it: the names of handles, the gates steps release, and an
/// audited close for the faults that close a handle themselves.
public final class FaultContext: @unchecked Sendable {
    /// Guards the names, the gates and the layer's state.
    let condition = NSCondition()
    private var names: [SocketHandle: String] = [:]
    private var released: Set<String> = []
    /// The eventfds of the calls waiting in the layer, written when a gate is released or a handle closed. The
    /// waits are polls on them, so a call held by the layer sleeps in a system call, as one pending in a provider does.
    private var waiters: Set<Int32> = []
    /// Closes a handle the way the run does (through the handle audit).
    public var closer: @Sendable (SocketHandle) -> Void = { _ in }

    public init() {}

    /// Gives a handle the name rules use for it.
    public func name(_ handle: SocketHandle, _ name: String) {
        condition.lock()
        names[handle] = name
        condition.unlock()
    }

    func name(of handle: SocketHandle?) -> String? {
        guard let handle else { return nil }
        condition.lock()
        defer { condition.unlock() }
        return names[handle]
    }

    /// Releases a gate: every call held on it goes on.
    public func release(_ gate: String) {
        condition.lock()
        released.insert(gate)
        condition.unlock()
        wakeWaiters()
    }

    /// Threads of the layer's own closing a handle (a fault that closes), still running.
    private var closersRunning = 0

    /// Runs `body` (a close the plan makes) on a thread of its own, counted until it ends.
    func runCloser(_ body: @escaping @Sendable () -> Void) {
        condition.lock()
        closersRunning += 1
        condition.unlock()
        Thread.detachNewThread { [self] in
            body()
            condition.lock()
            closersRunning -= 1
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Waits, at most `limit`, until no close the plan made is still running: the provider must not be cleaned up
    /// under a close in flight. Returns whether none is.
    @discardableResult
    public func waitForClosers(within limit: Duration) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return condition.wait(until: Deadline(after: limit)) { closersRunning == 0 }
    }

    /// Wakes every call waiting in the layer, to look again at what it waits for.
    func wakeWaiters() {
        condition.lock()
        defer { condition.unlock() }
        for fd in waiters { Syscall.signal(eventDescriptor: fd) }
    }

    func addWaiter(_ fd: Int32) {
        condition.lock()
        waiters.insert(fd)
        condition.unlock()
    }

    func removeWaiter(_ fd: Int32) {
        condition.lock()
        waiters.remove(fd)
        condition.unlock()
    }

    /// Whether the gate was released; the caller holds the condition's lock.
    func isReleasedLocked(_ gate: String) -> Bool { released.contains(gate) }
}

/// One fault the layer injected.
public struct FaultEvent: Sendable, Codable, Equatable, CustomStringConvertible {
    /// 1-based, in the order the faults were injected.
    public var sequence: Int
    public var operation: String
    public var handle: String?
    /// The rule's position in the plan, 1-based, and where it was written.
    public var rule: Int
    public var source: String
    public var action: String
    /// The rule's count of matching calls when it fired.
    public var call: Int

    public var description: String {
        "#\(sequence) \(action) on \(operation)\(handle.map { "(\($0))" } ?? "") call \(call) by rule \(rule) (\(source))"
    }
}

/// A provider that wraps another and applies a fault plan to its calls. With an empty plan it only forwards.
/// Close is forwarded after the layer's own held or delayed calls on the handle are woken with `interrupted`,
/// as the provider's own pending calls are.
public final class FaultLayer: SocketProvider, @unchecked Sendable {
    public let inner: any SocketProvider
    public let plan: FaultPlan
    public let context: FaultContext
    private var condition: NSCondition { context.condition }
    private var counters: [Int]
    private var generators: [SplitMix]
    /// For each operation, the rules whose glob matches it, in plan order: the globs are matched once, here.
    private let rulesByOperation: [FaultOperation: [Int]]
    /// The rules that close a handle once its sends have accepted enough bytes: (rule index, bytes).
    private let closeAfterBytesRules: [(Int, Int)]
    private var closed: Set<SocketHandle> = []
    /// Bytes sends accepted per handle, for the rules that close once a count is reached.
    private var sentBytes: [SocketHandle: Int] = [:]
    private var events: [FaultEvent] = []
    private var eventTimes: [ContinuousClock.Instant] = []

    /// - Parameters:
    ///   - seed: drives the rules' probabilities; the same seed and calls give the same faults.
    public init(wrapping inner: any SocketProvider, plan: FaultPlan, seed: UInt64, context: FaultContext) {
        self.inner = inner
        self.plan = plan
        self.context = context
        counters = Array(repeating: 0, count: plan.rules.count)
        generators = plan.rules.indices.map { SplitMix(seed: seed &+ UInt64($0 + 1) &* 0x9E37_79B9_7F4A_7C15) }
        var byOperation: [FaultOperation: [Int]] = [:]
        for operation in FaultOperation.allCases {
            byOperation[operation] = plan.rules.indices.filter { fnmatch(plan.rules[$0].operations, operation.rawValue, 0) == 0 }
        }
        rulesByOperation = byOperation
        closeAfterBytesRules = plan.rules.enumerated().compactMap { index, rule in
            guard case .closeAfterBytes(let limit) = rule.action, fnmatch(rule.operations, "send", 0) == 0 else { return nil }
            return (index, limit)
        }
    }

    /// Every fault injected so far, in order.
    public var log: [FaultEvent] {
        condition.lock()
        defer { condition.unlock() }
        return events
    }

    /// Every fault injected so far, with when it was decided.
    public var timedLog: [(event: FaultEvent, at: ContinuousClock.Instant)] {
        condition.lock()
        defer { condition.unlock() }
        return Array(zip(events, eventTimes))
    }

    public var name: String { inner.name }
    public var capabilities: ProviderCapabilities { inner.capabilities }

    // MARK: - Deciding

    private func decide(_ operation: FaultOperation, _ handle: SocketHandle?) -> FaultRule.Action? {
        guard let candidates = rulesByOperation[operation], !candidates.isEmpty else { return nil }
        let handleName = context.name(of: handle)
        condition.lock()
        defer { condition.unlock() }
        var chosen: (Int, FaultRule)?
        for index in candidates {
            let rule = plan.rules[index]
            guard rule.handle == nil || rule.handle == handleName else { continue }
            counters[index] += 1
            let count = counters[index]
            let fires: Bool =
                switch rule.when {
                case .always: true
                case .nth(let n): count == n
                case .range(let from, let to, let step): count >= from && (to.map { count <= $0 } ?? true) && (count - from) % step == 0
                case .probability(let p): generators[index].nextUnit() < p
                }
            if fires && chosen == nil {
                chosen = (index, rule)
                eventTimes.append(.now)
                events.append(
                    FaultEvent(
                        sequence: events.count + 1, operation: operation.rawValue, handle: handleName, rule: index + 1, source: rule.source,
                        action: "\(rule.action)", call: count))
            }
        }
        return chosen?.1.action
    }

    /// Waits until `deadline` (or a released gate); false when the handle was closed first. The wait is a poll on
    /// an eventfd that a close or a release writes. A handle closed before the call began is not closed *while*
    /// it waits: the wait runs its course and the provider gives its own answer (`notSocket`), for a fault plan
    /// changes a call's outcome only as it says.
    private func waitOpen(_ handle: SocketHandle?, until deadline: Deadline?, gate: String? = nil) -> Bool {
        guard let wake = try? Syscall.eventDescriptor() else { return true }
        context.addWaiter(wake)
        defer {
            context.removeWaiter(wake)
            try? Syscall.close(wake)
        }
        condition.lock()
        let watched = handle.flatMap { closed.contains($0) ? nil : $0 }
        condition.unlock()
        while true {
            condition.lock()
            let isClosed = watched.map { closed.contains($0) } ?? false
            let isReleased = gate.map { context.isReleasedLocked($0) } ?? false
            condition.unlock()
            if isClosed { return false }
            if isReleased { return true }
            if let deadline, deadline.hasPassed { return true }
            var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            _ = try? Syscall.poll(&fds, timeoutMilliseconds: deadline?.remainingMilliseconds ?? -1)
            Syscall.drain(eventDescriptor: wake)
        }
    }

    /// Runs a call through the plan.
    private func intercept<T>(
        _ operation: FaultOperation, _ handle: SocketHandle?, _ call: (Int?) throws(SocketError) -> T
    ) throws(SocketError) -> T {
        guard let action = decide(operation, handle) else { return try call(nil) }
        switch action {
        case .fail(let error):
            throw error
        case .delayOnEntry(let duration):
            guard waitOpen(handle, until: Deadline(after: duration)) else { throw .interrupted }
            return try call(nil)
        case .delayOnExit(let duration):
            let result = Result { () throws(SocketError) in try call(nil) }
            let stillOpen = waitOpen(handle, until: Deadline(after: duration))
            // What already took effect is never hidden: the bytes a send handed to the provider reach the wire, and an
            // asynchronous operation the provider started completes through the upcalls (with operationAborted).
            if !stillOpen && ![.send, .startSend, .startReceive, .startAccept].contains(operation) { throw .interrupted }
            return try result.get()
        case .short(let limit):
            return try call(limit)
        case .hold(let gate):
            guard waitOpen(handle, until: nil, gate: gate) else { throw .interrupted }
            return try call(nil)
        case .closeWhilePending:
            guard let handle else { return try call(nil) }
            let caller = ThreadWatch.currentThread
            let closer = context.closer
            let returned = Atomic<Bool>(false)
            context.runCloser {
                // Until the call is seen pending (then it is closed), or has returned (then there is nothing to close
                // while it is pending), for at most 10 s.
                let deadline = Deadline(after: .seconds(10))
                while !returned.load(ordering: .acquiring) && !deadline.hasPassed {
                    if ThreadWatch.waitUntilBlocked(caller, within: .seconds(1)) {
                        closer(handle)
                        return
                    }
                }
            }
            defer { returned.store(true, ordering: .releasing) }
            return try call(nil)
        case .closeAfterBytes:
            // Counted in send itself, which sees the bytes accepted.
            return try call(nil)
        }
    }

    private func markClosed(_ handle: SocketHandle) {
        condition.lock()
        closed.insert(handle)
        condition.unlock()
        context.wakeWaiters()
    }

    // MARK: - The provider interface

    public func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle {
        reopened(try intercept(.socket, nil) { _ throws(SocketError) in try inner.socket(family) })
    }

    /// A handle a call has just made is open, whatever an earlier handle of the same value (a reused descriptor)
    /// went through.
    private func reopened(_ handle: SocketHandle) -> SocketHandle {
        reopen(handle)
        return handle
    }

    public func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        try intercept(.bind, handle) { _ throws(SocketError) in try inner.bind(handle, to: address) }
    }

    public func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError) {
        try intercept(.listen, handle) { _ throws(SocketError) in try inner.listen(handle, backlog: backlog) }
    }

    public func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) {
        let (accepted, address) = try intercept(.accept, handle) { _ throws(SocketError) in try inner.accept(handle) }
        return (reopened(accepted), address)
    }

    public func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        try intercept(.connect, handle) { _ throws(SocketError) in try inner.connect(handle, to: address) }
    }

    public func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        let count = try intercept(.send, handle) { limit throws(SocketError) in
            try inner.send(handle, UnsafeRawBufferPointer(rebasing: bytes.prefix(limit.map { max(0, $0) } ?? bytes.count)))
        }
        closeIfEnoughSent(handle, count)
        return count
    }

    /// Applies the rules that close a handle once its sends have accepted enough bytes: from another thread, as
    /// an application's other thread would, while this one goes on.
    private func closeIfEnoughSent(_ handle: SocketHandle, _ count: Int) {
        let thresholds = closeAfterBytesRules
        guard !thresholds.isEmpty else { return }
        let name = context.name(of: handle)
        condition.lock()
        let before = sentBytes[handle, default: 0]
        sentBytes[handle] = before + count
        let crossed = thresholds.first { index, limit in
            (plan.rules[index].handle == nil || plan.rules[index].handle == name) && before < limit && before + count >= limit
        }
        if let (index, limit) = crossed {
            eventTimes.append(.now)
            events.append(
                FaultEvent(
                    sequence: events.count + 1, operation: "send", handle: name, rule: index + 1, source: plan.rules[index].source,
                    action: "closeAfterBytes(\(limit))", call: counters[index]))
        }
        condition.unlock()
        if crossed != nil {
            let closer = context.closer
            context.runCloser { closer(handle) }
        }
    }

    public func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        try intercept(.receive, handle) { limit throws(SocketError) in
            try inner.receive(
                handle, into: UnsafeMutableRawBufferPointer(rebasing: buffer.prefix(limit.map { max(1, $0) } ?? buffer.count)))
        }
    }

    public func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) {
        try intercept(.shutdown, handle) { _ throws(SocketError) in try inner.shutdown(handle, direction) }
    }

    public func close(_ handle: SocketHandle) throws(SocketError) {
        try intercept(.close, handle) { _ throws(SocketError) in
            // Wake the calls this layer holds on the handle first, as the provider wakes its own.
            markClosed(handle)
            do throws(SocketError) {
                try inner.close(handle)
            } catch {
                // A close that failed (wouldBlock, notSocket) leaves the handle as it was.
                if error == .wouldBlock { reopen(handle) }
                throw error
            }
        }
    }

    private func reopen(_ handle: SocketHandle) {
        condition.lock()
        closed.remove(handle)
        condition.unlock()
    }

    public func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        try intercept(.option, handle) { _ throws(SocketError) in try inner.option(handle, option) }
    }

    public func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        try intercept(.setOption, handle) { _ throws(SocketError) in try inner.setOption(handle, option, to: value) }
    }

    public func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        reopened(try intercept(.duplicate, handle) { _ throws(SocketError) in try inner.duplicate(handle) })
    }

    public func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) {
        try intercept(.setBlocking, handle) { _ throws(SocketError) in try inner.setBlocking(handle, blocking) }
    }

    public func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress { try inner.localAddress(handle) }

    public func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress { try inner.remoteAddress(handle) }

    public func startSend(_ handle: SocketHandle, _ bytes: [UInt8], operation: OperationID) throws(SocketError) {
        try intercept(.startSend, handle) { _ throws(SocketError) in try inner.startSend(handle, bytes, operation: operation) }
    }

    public func startReceive(_ handle: SocketHandle, maxBytes: Int, operation: OperationID) throws(SocketError) {
        try intercept(.startReceive, handle) { _ throws(SocketError) in
            try inner.startReceive(handle, maxBytes: maxBytes, operation: operation)
        }
    }

    public func startAccept(_ handle: SocketHandle, operation: OperationID) throws(SocketError) {
        try intercept(.startAccept, handle) { _ throws(SocketError) in try inner.startAccept(handle, operation: operation) }
    }

    public func cleanup() { inner.cleanup() }
}
