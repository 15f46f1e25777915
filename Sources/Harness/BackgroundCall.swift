import Basics
import CShim
import Foundation

/// A call made on a thread of its own, so that another thread can close its
/// handle while it is pending. Knowing that the call is pending comes from
/// outside the provider: the kernel's view of the thread in /proc.
public final class BackgroundCall<Value: Sendable>: @unchecked Sendable {
    public let label: String
    private let condition = NSCondition()
    private var threadID: pid_t = 0
    private var value: Value?
    private var finishTime: ContinuousClock.Instant?
    /// When the call was made.
    public let startedAt = ContinuousClock.now

    /// Starts `body` on a new thread at once.
    public init(_ label: String, _ body: @escaping @Sendable () -> Value) {
        self.label = label
        Thread.detachNewThread { [self] in
            condition.lock()
            threadID = td_gettid()
            condition.broadcast()
            condition.unlock()
            let result = body()
            condition.lock()
            value = result
            finishTime = .now
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Waits until the thread sleeps in a system call other than a futex (that is, the call
    /// is pending in the kernel: poll, recv, accept, connect...).
    /// - Throws: `HarnessError` when the call returns first or does not block within `timeout`.
    public func waitUntilBlocked(within timeout: Duration = .seconds(10)) throws {
        let (blocked, seen) = try ThreadWatch.watch(within: timeout) { () throws -> pid_t? in
            condition.lock()
            let tid = threadID
            let finished = value
            condition.unlock()
            if let finished { throw HarnessError("\(label) returned \(finished) instead of staying pending") }
            return tid != 0 ? tid : nil
        }
        if !blocked { throw HarnessError("\(label) did not become pending within \(timeout) (last seen: \(seen ?? "not started"))") }
    }

    /// The call's result, waiting at most `timeout`; nil while it is still pending.
    public func result(within timeout: Duration) -> Value? {
        condition.lock()
        defer { condition.unlock() }
        _ = condition.wait(until: Deadline(after: timeout)) { value != nil }
        return value
    }

    /// When the call returned, if it has.
    public var finishedAt: ContinuousClock.Instant? {
        condition.lock()
        defer { condition.unlock() }
        return finishTime
    }
}
