import Foundation

/// The processes a provider runs in besides this one (a provider behind the process protocol): the audit looks at
/// their descriptors as at this process's own, and a call this process makes into one of them is watched there.
public enum ProviderProcesses {
    /// Where a call that one of this process's threads is making into a provider process stands.
    public enum RemoteCall: Sendable {
        /// Sent, and the provider has not said yet that it has begun.
        case sent
        /// The provider said the call began, on a thread it did not name: the thread here waits for the answer.
        case entered
        /// The provider said the call runs on its thread `thread` in process `process`: that thread is watched.
        case running(process: Int32, thread: Int32)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var processes: Set<Int32> = []
    nonisolated(unsafe) private static var calls: [Int32: RemoteCall] = [:]

    /// The provider processes alive now.
    public static var all: [Int32] { lock.withLock { processes.sorted() } }

    public static func add(_ process: Int32) { _ = lock.withLock { processes.insert(process) } }

    public static func remove(_ process: Int32) { _ = lock.withLock { processes.remove(process) } }

    /// Notes where the call that thread `tid` of this process is making stands; nil when it has returned.
    public static func note(_ call: RemoteCall?, madeBy tid: Int32) { lock.withLock { calls[tid] = call } }

    /// Where the call thread `tid` of this process is making into a provider process stands, if it is making one.
    public static func call(madeBy tid: Int32) -> RemoteCall? { lock.withLock { calls[tid] } }
}
