import Basics
import Foundation
public import ProviderInterface

/// The harness side of the upcalls: issues generation-tagged handles, answers
/// context queries, records asynchronous completions, and audits all of it.
///
/// Every misuse is recorded as a `Violation` naming the statement it breaks
/// (HANDLE-1..5, PEND-5), never thrown away: a release of an unknown or already
/// released handle, an upcall naming a released handle, a release outside the
/// close that releases it, a completion that comes twice or for nothing, and
/// what is still outstanding when the audit ends.
public final class HandleRegistry: ProviderUpcalls, @unchecked Sendable {
    /// One recorded breach of a statement.
    public struct Violation: Hashable, Sendable, CustomStringConvertible {
        public let statement: String
        public let message: String

        public var description: String { "\(statement): \(message)" }
    }

    /// What the registry knows of a handle value.
    public enum Status: Hashable, Sendable {
        case live
        case released
        /// Never issued by this registry.
        case unknown
    }

    /// One completion reported through `completeOperation`.
    public struct Completion: Sendable {
        public let operation: OperationID
        public let result: OperationResult
        public let time: ContinuousClock.Instant
    }

    private struct Slot {
        var generation: UInt32
        var context: UInt64
        var live: Bool
    }

    private struct Operation {
        let handle: SocketHandle
        var completions: [Completion] = []
    }

    /// The top byte of every handle this registry issues, so that a descriptor number is never mistaken for one.
    static let tag: UInt64 = 0x7D << 56

    private let condition = NSCondition()
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    private var closesInProgress: [SocketHandle: Int] = [:]
    private var closedByApplication: Set<SocketHandle> = []
    private var cleaningUp = false
    private var operations: [OperationID: Operation] = [:]
    private var nextOperation: UInt64 = 1
    private var recorded: [Violation] = []
    private var issued = 0
    private var releases = 0

    public init() {}

    // MARK: - Upcalls

    public func createHandle(context: UInt64) throws(SocketError) -> SocketHandle {
        condition.lock()
        defer { condition.unlock() }
        let index: Int
        if let reused = freeSlots.popLast() {
            index = reused
            slots[index].generation &+= 1
            if slots[index].generation == 0 { slots[index].generation = 1 }
            slots[index].context = context
            slots[index].live = true
        } else {
            guard slots.count < 1 << 24 else { throw .tooManySockets }
            index = slots.count
            slots.append(Slot(generation: 1, context: context, live: true))
        }
        issued += 1
        return Self.encode(slot: index, generation: slots[index].generation)
    }

    public func releaseHandle(_ handle: SocketHandle) throws(SocketError) {
        condition.lock()
        defer { condition.unlock() }
        switch status(handle) {
        case .live:
            if closesInProgress[handle, default: 0] == 0, !cleaningUp {
                record("HANDLE-1", "\(handle) was released outside the close that releases it")
            }
            let (slot, _) = Self.decode(handle)!
            slots[slot].live = false
            freeSlots.append(slot)
            releases += 1
            condition.broadcast()
        case .released:
            record("HANDLE-2", "\(handle) was released twice")
            throw .notSocket
        case .unknown:
            record("HANDLE-2", "the provider released \(handle), which it never obtained")
            throw .notSocket
        }
    }

    public func queryContext(of handle: SocketHandle) throws(SocketError) -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        switch status(handle) {
        case .live:
            return slots[Self.decode(handle)!.slot].context
        case .released:
            record("HANDLE-4", "the provider queried \(handle) after releasing it")
            throw .notSocket
        case .unknown:
            throw .notSocket
        }
    }

    public func completeOperation(_ operation: OperationID, with result: OperationResult) {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        guard var entry = operations[operation] else {
            record("PEND-5", "the provider completed \(operation), which was never started")
            return
        }
        if let first = entry.completions.first {
            record("PEND-5", "\(operation) completed twice: first \(first.result), then \(result)")
        }
        if case .accepted(let handle, _) = result, status(handle) != .live {
            record("HANDLE-4", "\(operation) completed naming \(handle), which is not a live handle")
        }
        entry.completions.append(Completion(operation: operation, result: result, time: .now))
        operations[operation] = entry
    }

    // MARK: - The harness's side

    /// What the registry knows of a handle.
    public func status(of handle: SocketHandle) -> Status {
        condition.lock()
        defer { condition.unlock() }
        return status(handle)
    }

    /// Waits until the handle has been released; false if it is still live after `timeout`.
    public func waitForRelease(of handle: SocketHandle, within timeout: Duration) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return condition.wait(until: Deadline(after: timeout)) { status(handle) != .live }
    }

    /// Handles issued and not released.
    public var liveHandles: [SocketHandle] {
        condition.lock()
        defer { condition.unlock() }
        return slots.indices.filter { slots[$0].live }.map { Self.encode(slot: $0, generation: slots[$0].generation) }
    }

    /// How many handles were issued and released so far.
    public var counts: (issued: Int, released: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (issued, releases)
    }

    /// Every violation recorded so far.
    public var violations: [Violation] {
        condition.lock()
        defer { condition.unlock() }
        return recorded
    }

    /// Runs the application's close of `handle` and audits it: a close that returns success
    /// must have released the handle; a close that fails with `wouldBlock` must not have.
    public func auditClose<T>(_ handle: SocketHandle, _ body: () throws(SocketError) -> T) throws(SocketError) -> T {
        condition.lock()
        closesInProgress[handle, default: 0] += 1
        condition.unlock()
        let outcome: Result<T, SocketError>
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        condition.lock()
        closesInProgress[handle, default: 1] -= 1
        if closesInProgress[handle] == 0 { closesInProgress[handle] = nil }
        let after = status(handle)
        switch outcome {
        case .success:
            closedByApplication.insert(handle)
            if after == .live { record("HANDLE-1", "close of \(handle) returned success but the handle was not released") }
        case .failure(let error):
            if error == .wouldBlock, after != .live {
                record("HANDLE-1", "close of \(handle) failed with wouldBlock but released the handle")
            }
        }
        condition.unlock()
        return try outcome.get()
    }

    /// Runs the provider's cleanup; handles it releases then are released by it, not by a close.
    public func auditCleanup(_ body: () -> Void) {
        condition.lock()
        cleaningUp = true
        condition.unlock()
        body()
        condition.lock()
        cleaningUp = false
        for handle in slots.indices.filter({ slots[$0].live }).map({ Self.encode(slot: $0, generation: slots[$0].generation) }) {
            record("HANDLE-5", "\(handle) is still outstanding after the provider's cleanup")
        }
        condition.unlock()
    }

    /// Issues an operation id for an asynchronous call on `handle`, before the call is made.
    public func newOperation(on handle: SocketHandle) -> OperationID {
        condition.lock()
        defer { condition.unlock() }
        let id = OperationID(rawValue: nextOperation)
        nextOperation += 1
        operations[id] = Operation(handle: handle)
        return id
    }

    /// Forgets an operation whose start call failed: it will never complete.
    public func withdraw(_ operation: OperationID) {
        condition.lock()
        defer { condition.unlock() }
        if operations[operation]?.completions.isEmpty == true { operations[operation] = nil }
    }

    /// The completions of an operation so far.
    public func completions(of operation: OperationID) -> [Completion] {
        condition.lock()
        defer { condition.unlock() }
        return operations[operation]?.completions ?? []
    }

    /// Waits for an operation's first completion; nil when none came within `timeout`.
    public func waitForCompletion(of operation: OperationID, within timeout: Duration) -> Completion? {
        condition.lock()
        defer { condition.unlock() }
        _ = condition.wait(until: Deadline(after: timeout)) { !(operations[operation]?.completions.isEmpty ?? false) }
        return operations[operation]?.completions.first
    }

    /// Ends the audit: everything recorded, plus handles the application closed that are
    /// still outstanding (HANDLE-3) and operations that never completed (PEND-5).
    public func finalAudit() -> [Violation] {
        condition.lock()
        defer { condition.unlock() }
        for handle in closedByApplication.sorted(by: { $0.rawValue < $1.rawValue }) where status(handle) == .live {
            record("HANDLE-3", "\(handle) was closed by the application but is still outstanding")
        }
        for (id, operation) in operations.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where operation.completions.isEmpty {
            record("PEND-5", "\(id) on \(operation.handle) never completed")
        }
        return recorded
    }

    // MARK: - Encoding

    static func encode(slot: Int, generation: UInt32) -> SocketHandle {
        SocketHandle(rawValue: tag | UInt64(generation) << 24 | UInt64(slot))
    }

    static func decode(_ handle: SocketHandle) -> (slot: Int, generation: UInt32)? {
        guard handle.rawValue & (0xFF << 56) == tag else { return nil }
        return (Int(handle.rawValue & 0xFF_FFFF), UInt32(truncatingIfNeeded: handle.rawValue >> 24))
    }

    /// Call with the lock held.
    private func status(_ handle: SocketHandle) -> Status {
        guard let (slot, generation) = Self.decode(handle), slot < slots.count, generation > 0 else { return .unknown }
        let current = slots[slot].generation
        if generation == current { return slots[slot].live ? .live : .released }
        // Generations of a slot are issued in order (wrapping only after 2^32 reuses).
        return generation < current ? .released : .unknown
    }

    /// Call with the lock held.
    private func record(_ statement: String, _ message: String) {
        recorded.append(Violation(statement: statement, message: message))
    }
}
