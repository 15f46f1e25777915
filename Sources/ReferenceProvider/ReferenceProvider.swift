import Foundation
public import ProviderInterface
import SocketSystem
import Synchronization

/// The reference socket provider: every statement of SPEC.md on Linux sockets,
/// including what Linux does not do by itself.
///
/// - Handles come from the harness (`createHandle`), so a released handle stays
///   invalid even when the kernel reuses its descriptor number (CLOSE-3).
/// - Every kernel socket is nonblocking; a blocking call polls the socket and
///   the handle's wake descriptor, which close signals (PEND-1..4). Close waits
///   until no thread is inside a call on the handle before it touches the
///   kernel socket, and never uses `shutdown(2)` to wake anyone (PEND-6).
/// - Linger is emulated: the kernel's own linger never blocks a close, a timeout
///   that expires resets the connection (LINGER-5), and a nonblocking close that
///   would wait fails with `wouldBlock` instead (LINGER-6).
/// - Duplicates share one socket with a reference count (SHARE-*).
/// - Asynchronous operations are driven by one completion thread and complete
///   exactly once through the upcalls (PEND-5).
///
/// The class is open for the `Mutants` module only: each mutant overrides one step of a close (the hooks in
/// Close.swift, each named after what SPEC.md requires of it) to make one realistic mistake.
open class ReferenceProvider: SocketProvider, @unchecked Sendable {
    public let name: String
    public let capabilities: ProviderCapabilities = [.asynchronousOperations, .duplicate, .ipv6, .harnessHandles]

    public let upcalls: any ProviderUpcalls
    /// Guards `handles`, `pending`, `nextContext`, the completion thread's state, and each
    /// socket's `linger` and `references` and each handle's `inFlight`.
    let state = NSCondition()
    var handles: [SocketHandle: HandleState] = [:]
    var pending: [PendingOperation] = []
    var nextContext: UInt64 = 1
    var completion: CompletionThread?

    /// The name of this instance's completion thread, as /proc shows it: "td-c<n>-", unique in the process.
    public let completionThreadName = "td-c\(ReferenceProvider.instances.add(1, ordering: .relaxed).newValue)-"
    private static let instances = Atomic<Int>(0)

    /// How often a close with a linger timeout looks at the send queue.
    static let lingerPollMilliseconds: Int32 = 2

    /// Creates a provider that obtains and releases its handles through `upcalls`; `name` is what reports call it.
    public init(upcalls: any ProviderUpcalls, name: String = "reference") {
        self.upcalls = upcalls
        self.name = name
    }

    // MARK: - The steps of a close, one statement each (a mutant overrides one of them)

    /// Wakes every call pending on a handle being closed (PEND-1..4) through its wake descriptor, which the
    /// blocking calls poll beside the socket; never with shutdown(2), which would send a FIN (PEND-6).
    open func wakePendingCalls(socket fd: Int32, wake: Int32) {
        Syscall.signal(eventDescriptor: wake)
    }

    /// Whether close waits until no call is inside the provider on the handle before it touches the kernel
    /// socket: it must, so that no call is left running on a closed handle (PEND-1..4).
    open var closeWaitsForCallsInFlight: Bool { true }

    /// Whether a nonblocking close that would have to wait for its linger timeout fails with `wouldBlock` (LINGER-6).
    open var nonblockingCloseRefusesToWait: Bool { true }

    /// Whether the last close would have to wait for its linger timeout: linger on with a timeout, nothing unread
    /// (unread data resets at once, UNREAD-1) and bytes not yet acknowledged (LINGER-4, LINGER-6).
    open func closeWouldWait(socket fd: Int32, linger: Linger) -> Bool {
        linger.isOn && linger.seconds > 0 && Syscall.unreadBytes(fd) == 0 && Syscall.unackedBytes(fd) > 0
    }

    /// A close that is not the last of its socket: the connection goes on for the other handles (SHARE-2).
    open func closedDuplicate(socket fd: Int32, linger: Linger) {}

    /// Completes an asynchronous operation aborted by the close of its handle: once, with `operationAborted` (PEND-5).
    open func completeAborted(_ operation: OperationID, sending: Bool) {
        upcalls.completeOperation(operation, with: .failed(.operationAborted))
    }

    /// Gives a closed handle back to the harness: exactly once (HANDLE-1, HANDLE-2); a refusal is the harness's
    /// to record.
    open func release(_ handle: SocketHandle) {
        try? upcalls.releaseHandle(handle)
    }

    /// Ends the kernel socket as the linger option says; runs once, at the last close.
    open func tearDown(socket fd: Int32, linger: Linger, blocking: Bool) {
        // Unread data resets the connection whatever the linger option (UNREAD-1).
        if Syscall.unreadBytes(fd) > 0 || (linger.isOn && linger.seconds == 0) {
            closeAbortively(fd)
            return
        }
        if linger.isOn, blocking {
            // LINGER-4 / LINGER-5: wait for every byte to be acknowledged, at most the timeout,
            // then reset: Linux would go on delivering in the background and end with a FIN.
            let deadline = ContinuousClock.now + .seconds(linger.seconds)
            while Syscall.unackedBytes(fd) > 0 {
                let left = deadline - ContinuousClock.now
                if left <= .zero {
                    closeAbortively(fd)
                    return
                }
                var fds = [pollfd(fd: fd, events: 0, revents: 0)]
                let slice = min(Self.lingerPollMilliseconds, Int32(left.milliseconds) + 1)
                _ = try? Syscall.poll(&fds, timeoutMilliseconds: slice)
            }
        }
        try? Syscall.close(fd)
    }

    // MARK: - Creating sockets and handles

    public func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle {
        let fd = try system { () throws(SystemError) in try Syscall.socket(family, nonblocking: true) }
        do {
            return try register(SocketState(fd: fd))
        } catch {
            try? Syscall.close(fd)
            throw error
        }
    }

    /// Issues a handle for a socket through the upcall; the caller owns the socket's reference count.
    func register(_ socket: SocketState) throws(SocketError) -> SocketHandle {
        let wake = try system { () throws(SystemError) in try Syscall.eventDescriptor() }
        state.lock()
        let context = nextContext
        nextContext += 1
        state.unlock()
        let handle: SocketHandle
        do {
            handle = try upcalls.createHandle(context: context)
        } catch {
            try? Syscall.close(wake)
            throw error
        }
        state.lock()
        handles[handle] = HandleState(handle: handle, socket: socket, wake: wake)
        state.unlock()
        return handle
    }

    public func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        try perform(handle) { (entry) throws(SocketError) in
            state.lock()
            entry.socket.references += 1
            state.unlock()
            do throws(SocketError) {
                return try register(entry.socket)
            } catch {
                state.lock()
                entry.socket.references -= 1
                state.unlock()
                throw error
            }
        }
    }

    // MARK: - Connection set-up

    public func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        try perform(handle) { (entry) throws(SocketError) in
            try system { () throws(SystemError) in try Syscall.bind(entry.socket.fd, address) }
        }
    }

    public func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError) {
        try perform(handle) { (entry) throws(SocketError) in
            let clamped = Int32(clamping: max(0, backlog))
            try system { () throws(SystemError) in try Syscall.listen(entry.socket.fd, backlog: clamped) }
        }
    }

    public func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) {
        try perform(handle) { (entry) throws(SocketError) in
            let (fd, address) = try blocking(entry, events: Int16(POLLIN)) { () throws(SystemError) in
                try Syscall.accept(entry.socket.fd, nonblocking: true)
            }
            do throws(SocketError) {
                return (try register(SocketState(fd: fd)), address)
            } catch {
                try? Syscall.close(fd)
                throw error
            }
        }
    }

    public func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        try perform(handle) { (entry) throws(SocketError) in
            let fd = entry.socket.fd
            let started = try system { () throws(SystemError) in try Syscall.connect(fd, address) }
            if case .done = started { return }
            guard entry.socket.blocking.load(ordering: .relaxed) else { throw .wouldBlock }
            try waitUntilReady(entry, events: Int16(POLLOUT))
            let code = try system { () throws(SystemError) in try Syscall.pendingError(fd) }
            if code != 0 { throw SocketError(errno: code) }
        }
    }

    // MARK: - Data transfer

    public func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        try perform(handle) { (entry) throws(SocketError) in
            var sent = 0
            while sent < bytes.count {
                // Once some bytes are accepted the call reports them rather than an error, so the
                // application's count of accepted bytes always matches what reaches the wire.
                do throws(SocketError) {
                    if entry.closed.load(ordering: .acquiring) { throw SocketError.interrupted }
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[sent...])
                    switch try system({ () throws(SystemError) in try Syscall.send(entry.socket.fd, rest, dontWait: true) }) {
                    case .done(let count):
                        sent += count
                    case .wouldBlock:
                        guard entry.socket.blocking.load(ordering: .relaxed) else { throw SocketError.wouldBlock }
                        try waitUntilReady(entry, events: Int16(POLLOUT))
                    }
                } catch {
                    if sent > 0 { return sent }
                    throw error
                }
            }
            return sent
        }
    }

    public func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        try perform(handle) { (entry) throws(SocketError) in
            try blocking(entry, events: Int16(POLLIN)) { () throws(SystemError) in
                try Syscall.receive(entry.socket.fd, buffer, dontWait: true)
            }
        }
    }

    public func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) {
        try perform(handle) { (entry) throws(SocketError) in
            guard direction.isValid else { throw .invalidArgument }
            // SD_RECEIVE, SD_SEND and SD_BOTH have the values of SHUT_RD, SHUT_WR and SHUT_RDWR.
            try system { () throws(SystemError) in try Syscall.shutdown(entry.socket.fd, direction.rawValue) }
        }
    }

    // MARK: - Modes, options and addresses

    public func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) {
        try perform(handle) { (entry) throws(SocketError) in entry.socket.blocking.store(blocking, ordering: .relaxed) }
    }

    public func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        try perform(handle) { (entry) throws(SocketError) in
            let fd = entry.socket.fd
            switch option {
            case .linger, .dontLinger:
                state.lock()
                let linger = entry.socket.linger
                state.unlock()
                return option == .linger ? .linger(linger) : .flag(!linger.isOn)
            default:
                let (level, name, isFlag) = option.kernelOption
                let value = try system { () throws(SystemError) in try Syscall.option(fd, level, name) }
                return isFlag ? .flag(value != 0) : .size(Int(value))
            }
        }
    }

    public func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        try perform(handle) { (entry) throws(SocketError) in
            switch (option, value) {
            case (.linger, .linger(let linger)):
                guard Linger.validSeconds.contains(linger.seconds) else { throw .invalidArgument }
                state.lock()
                entry.socket.linger = linger
                state.unlock()
            case (.dontLinger, .flag(let dontLinger)):
                state.lock()
                entry.socket.linger.isOn = !dontLinger
                state.unlock()
            case (.receiveBufferSize, .size(let size)), (.sendBufferSize, .size(let size)):
                guard size > 0, let raw = Int32(exactly: size) else { throw .invalidArgument }
                let (level, name, _) = option.kernelOption
                try system { () throws(SystemError) in try Syscall.setOption(entry.socket.fd, level, name, raw) }
            case (.noDelay, .flag(let flag)), (.reuseAddress, .flag(let flag)), (.keepAlive, .flag(let flag)):
                let (level, name, _) = option.kernelOption
                try system { () throws(SystemError) in try Syscall.setOption(entry.socket.fd, level, name, flag ? 1 : 0) }
            default:
                throw .invalidArgument
            }
        }
    }

    public func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        try perform(handle) { (entry) throws(SocketError) in
            try system { () throws(SystemError) in try Syscall.localAddress(entry.socket.fd) }
        }
    }

    public func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        try perform(handle) { (entry) throws(SocketError) in
            try system { () throws(SystemError) in try Syscall.remoteAddress(entry.socket.fd) }
        }
    }

    // MARK: - Calls in flight

    /// Runs `body` with the handle's state, counted as in flight so that close waits for it.
    func perform<T>(_ handle: SocketHandle, _ body: (HandleState) throws(SocketError) -> T) throws(SocketError) -> T {
        let entry = try enter(handle)
        defer { leave(entry) }
        return try body(entry)
    }

    /// Whether a call naming a closed or unknown handle reaches the newest open socket, as a reused descriptor
    /// number would: it must not (CLOSE-2, CLOSE-3).
    open var closedHandlesReachNewestSocket: Bool { false }

    func enter(_ handle: SocketHandle) throws(SocketError) -> HandleState {
        state.lock()
        defer { state.unlock() }
        guard let entry = handles[handle], !entry.closed.load(ordering: .acquiring) else {
            if closedHandlesReachNewestSocket, let newest = handles.values.max(by: { $0.handle.rawValue < $1.handle.rawValue }),
                !newest.closed.load(ordering: .acquiring)
            {
                newest.inFlight += 1
                return newest
            }
            throw .notSocket
        }
        entry.inFlight += 1
        return entry
    }

    func leave(_ entry: HandleState) {
        state.lock()
        entry.inFlight -= 1
        if entry.inFlight == 0 { state.broadcast() }
        let endNow = entry.inFlight == 0 && entry.endWhenIdle
        entry.endWhenIdle = false
        let linger = entry.socket.linger
        let last = entry.socket.references == 0
        state.unlock()
        // A close that did not wait for the calls in flight ends the handle when the last of them has left.
        if endNow {
            if last { tearDown(socket: entry.socket.fd, linger: linger, blocking: entry.socket.blocking.load(ordering: .relaxed)) }
            try? Syscall.close(entry.wake)
        }
    }

    /// Repeats a nonblocking attempt until it is done, waiting in between on a blocking socket.
    func blocking<T>(
        _ entry: HandleState,
        events: Int16,
        _ attempt: () throws(SystemError) -> IOResult<T>
    ) throws(SocketError) -> T {
        while true {
            if entry.closed.load(ordering: .acquiring) { throw .interrupted }
            switch try system(attempt) {
            case .done(let value):
                return value
            case .wouldBlock:
                guard entry.socket.blocking.load(ordering: .relaxed) else { throw .wouldBlock }
                try waitUntilReady(entry, events: events)
            }
        }
    }

    /// Waits until the socket is ready for `events`, or fails with `interrupted` once the handle is closed.
    func waitUntilReady(_ entry: HandleState, events: Int16) throws(SocketError) {
        var fds = [
            pollfd(fd: entry.socket.fd, events: events, revents: 0),
            pollfd(fd: entry.wake, events: Int16(POLLIN), revents: 0),
        ]
        _ = try system { () throws(SystemError) in try Syscall.poll(&fds, timeoutMilliseconds: -1) }
        if fds[1].revents != 0 || entry.closed.load(ordering: .acquiring) { throw .interrupted }
    }
}
