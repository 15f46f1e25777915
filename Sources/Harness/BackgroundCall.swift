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
        let deadline = Date.now.addingTimeInterval(timeout.seconds)
        condition.lock()
        defer { condition.unlock() }
        while value == nil {
            if !condition.wait(until: deadline) { break }
        }
        return value
    }

    /// When the call returned, if it has.
    public var finishedAt: ContinuousClock.Instant? {
        condition.lock()
        defer { condition.unlock() }
        return finishTime
    }
}

/// A thread's state as /proc/self/task/TID shows it.
struct ThreadState: CustomStringConvertible {
    /// R running, S sleeping, D uninterruptible...
    var state: Character = "?"
    /// The system call it sleeps in, or nil when running.
    var systemCall: Int?

    static let futex = Int(td_futex_syscall())

    static func read(_ tid: pid_t) -> ThreadState {
        var result = ThreadState()
        if let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            let rest = stat[stat.index(after: close)...].drop { $0 == " " }
            result.state = rest.first ?? "?"
        }
        if let syscall = try? String(contentsOfFile: "/proc/self/task/\(tid)/syscall", encoding: .utf8) {
            result.systemCall = syscall.split(separator: " ").first.flatMap { Int($0) }
        }
        return result
    }

    var isBlockedInSystemCall: Bool {
        (state == "S" || state == "D") && systemCall != nil && systemCall != Self.futex
    }

    var description: String { "state \(state), " + (systemCall.map { "in system call \($0)" } ?? "running") }
}

/// Watching another thread of this process from outside: whether it sleeps in a system call.
public enum ThreadWatch {
    /// Waits until the thread `tid` sleeps in a system call other than a futex; false if it does not within `timeout`.
    public static func waitUntilBlocked(_ tid: Int32, within timeout: Duration) -> Bool {
        watch(within: timeout) { tid }.blocked
    }

    /// Looks at the thread `thread()` names (nil while it is not known yet) until it sleeps in a system call other
    /// than a futex, or the deadline; `thread` may throw to give up. Returns whether it blocked and what was last seen.
    static func watch(within timeout: Duration, thread: () throws -> pid_t?) rethrows -> (blocked: Bool, seen: String?) {
        let deadline = Deadline(after: timeout)
        var seen: String?
        while !deadline.hasPassed {
            if let tid = try thread() {
                let state = ThreadState.read(tid)
                seen = state.description
                if state.isBlockedInSystemCall { return (true, seen) }
            }
            // The kernel signals nothing when a thread goes to sleep; look again shortly.
            var none: [pollfd] = []
            _ = poll(&none, 0, 1)
        }
        return (false, seen)
    }
}

/// Resources the process holds, to check that a case gives back what it took.
public enum ProcessResources {
    /// Threads of this process whose name starts with `prefix` (the reference provider names its completion thread "td-c<n>-").
    public static func threads(named prefix: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { tid in
            let name = (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? ""
            return name.hasPrefix(prefix)
        }.count
    }
}
