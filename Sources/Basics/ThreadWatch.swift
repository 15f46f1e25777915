import CShim
import Foundation

/// A thread's state as /proc/self/task/TID shows it.
public struct ThreadState: CustomStringConvertible {
    /// R running, S sleeping, D uninterruptible...
    var state: Character = "?"
    /// The system call it sleeps in, or nil when running.
    var systemCall: Int?
    /// Where the state was seen, when not on the thread itself.
    var place: String?

    static let futex = Int(td_futex_syscall())

    /// Where the thread stands: a thread making a call into a provider process is seen through that call (the
    /// provider's thread that makes it, when the provider names it).
    public static func read(_ tid: Int32) -> ThreadState {
        switch ProviderProcesses.call(madeBy: tid) {
        case nil:
            return read(path: "/proc/self/task/\(tid)")
        case .entered:
            var result = read(path: "/proc/self/task/\(tid)")
            result.place = "waiting for the provider's process to answer"
            return result
        case .sent:
            return ThreadState(state: "R", systemCall: nil, place: "the call is on its way to the provider's process")
        case .running(let process, let thread):
            var result = read(path: "/proc/\(process)/task/\(thread)")
            result.place = "the provider's thread \(thread) in process \(process)"
            return result
        }
    }

    private static func read(path: String) -> ThreadState {
        var result = ThreadState()
        if let stat = try? String(contentsOfFile: "\(path)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            let rest = stat[stat.index(after: close)...].drop { $0 == " " }
            result.state = rest.first ?? "?"
        }
        if let syscall = try? String(contentsOfFile: "\(path)/syscall", encoding: .utf8) {
            result.systemCall = syscall.split(separator: " ").first.flatMap { Int($0) }
        }
        return result
    }

    public var isBlockedInSystemCall: Bool {
        (state == "S" || state == "D") && systemCall != nil && systemCall != Self.futex
    }

    /// Asleep on a futex: waiting for a lock or a condition variable.
    public var isWaitingOnFutex: Bool { (state == "S" || state == "D") && systemCall == Self.futex }

    public var description: String {
        let seen =
            isWaitingOnFutex
            ? "state \(state), waiting on a futex (a lock or a condition variable)"
            : "state \(state), " + (systemCall.map { "in system call \($0)" } ?? "running")
        return place.map { "\(seen): \($0)" } ?? seen
    }
}

/// Watching another thread of this process from outside: whether it sleeps in a system call.
public enum ThreadWatch {
    /// The kernel's id of the calling thread (gettid(2)), as /proc/self/task names it.
    public static var currentThread: Int32 { td_gettid() }

    /// Waits until the thread `tid` sleeps in a system call (on a futex: for `futexWait`); false if it does not within `timeout`.
    public static func waitUntilBlocked(_ tid: Int32, within timeout: Duration) -> Bool {
        watch(within: timeout) { tid }.blocked
    }

    /// How long a thread must sleep on a futex, without a break, to count as blocked: a provider whose blocking call
    /// waits on a condition variable (a completion thread or a kernel ring does the I/O) sleeps there as long as the
    /// call is pending, while a lock taken on the way in is held for far less.
    public static let futexWait: Duration = .milliseconds(100)

    /// Looks at the thread `thread()` names (nil while it is not known yet) until it sleeps in a system call other
    /// than a futex, or on a futex for `futexWait` without a break, or the deadline; `thread` may throw to give up.
    /// Returns whether it blocked and what was last seen.
    public static func watch(within timeout: Duration, thread: () throws -> Int32?) rethrows -> (blocked: Bool, seen: String?) {
        let deadline = Deadline(after: timeout)
        var seen: String?
        var onFutexSince: ContinuousClock.Instant?
        while !deadline.hasPassed {
            if let tid = try thread() {
                let state = ThreadState.read(tid)
                seen = state.description
                if state.isBlockedInSystemCall { return (true, seen) }
                if state.isWaitingOnFutex {
                    let since = onFutexSince ?? .now
                    onFutexSince = since
                    if ContinuousClock.now - since >= futexWait { return (true, seen) }
                } else {
                    onFutexSince = nil
                }
            }
            // The kernel signals nothing when a thread goes to sleep; look again shortly.
            var none: [pollfd] = []
            _ = poll(&none, 0, 1)
        }
        return (false, seen)
    }
}

/// This process: its descriptors and its own executable.
public enum CurrentProcess {
    /// The descriptors this process has open (its entries in /proc/self/fd): what a long run must not make grow.
    public static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// A pipe whose two ends are closed on exec: no child started meanwhile inherits it.
    public static func pipe() -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [-1, -1]
        guard td_pipe_cloexec(&ends) == 0 else { return nil }
        return (ends[0], ends[1])
    }

    /// The path of the running executable (/proc/self/exe), or `fallback` (the program's first argument) where
    /// /proc cannot say.
    public static func executablePath(fallback: String = CommandLine.arguments[0]) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? fallback
    }
}
