import Foundation
public import ProviderInterface
import ReferenceProvider
import SocketSystem

extension Mistake {
    /// The reference provider with this one mistake, making its upcalls into `upcalls`.
    public func make(upcalls: any ProviderUpcalls) -> any SocketProvider {
        let name = "mutant:\(rawValue)"
        /// The reference itself, for the mistakes made as a decorator around it.
        func reference() -> ReferenceProvider { ReferenceProvider(upcalls: upcalls, name: name) }
        return switch self {
        case .wakesWithShutdown: WakesWithShutdown(upcalls: upcalls, name: name)
        case .alwaysGraceful: AlwaysGraceful(upcalls: upcalls, name: name)
        case .alwaysAbortive: AlwaysAbortive(upcalls: upcalls, name: name)
        case .doesNotAbortPending: DoesNotAbortPending(upcalls: upcalls, name: name)
        case .closesOnFirstDuplicate: ClosesOnFirstDuplicate(upcalls: upcalls, name: name)
        case .releasesTwice: ReleasesTwice(upcalls: upcalls, name: name)
        case .neverReleases: NeverReleases(upcalls: upcalls, name: name)
        case .acceptsStaleHandle: AcceptsStaleHandle(upcalls: upcalls, name: name)
        case .kernelLinger: KernelLinger(upcalls: upcalls, name: name)
        case .blocksNonblockingLingerClose: BlocksNonblockingLingerClose(upcalls: upcalls, name: name)
        case .drainsUnreadData: DrainsUnreadData(upcalls: upcalls, name: name)
        case .completesAbortedTwice: CompletesAbortedTwice(upcalls: upcalls, name: name)
        case .completesAbortedWithSuccess: CompletesAbortedWithSuccess(upcalls: upcalls, name: name)
        case .duplicateResetsLinger: DuplicateResetsLinger(reference())
        case .resetsAtAnyAbortiveClose: ResetsAtAnyAbortiveClose(upcalls: upcalls, name: name)
        case .lingerPerHandle: LingerPerHandle(reference())
        case .countsTwoReferences: CountsTwoReferences(reference())
        case .discardsUnreadAfterPeerFinished: DiscardsUnreadAfterPeerFinished(upcalls: upcalls, name: name)
        case .nonblockingUnreadWouldBlock: NonblockingUnreadWouldBlock(upcalls: upcalls, name: name)
        case .nonblockingAbortiveWouldBlock: NonblockingAbortiveWouldBlock(upcalls: upcalls, name: name)
        case .failedCloseForgetsHandle: FailedCloseForgetsHandle(reference())
        case .lingerInMilliseconds: LingerInMilliseconds(upcalls: upcalls, name: name)
        case .dontLingerForgetsTimeout: DontLingerForgetsTimeout(reference())
        case .wokenReceiveReturnsEndOfStream: WokenReceiveReturnsEndOfStream(reference())
        case .cleanupClosesGracefully: CleanupClosesGracefully(reference())
        case .wouldBlockSticks: WouldBlockSticks(reference())
        case .retriedCloseKeepsFirstLinger: RetriedCloseKeepsFirstLinger(reference())
        case .closesAcceptedWithListener: ClosesAcceptedWithListener(reference())
        case .duplicateReturnsSameHandle: DuplicateReturnsSameHandle(reference())
        case .lastCloseUsesLingerOfFirst: LastCloseUsesLingerOfFirst(reference())
        }
    }
}

// Each mutant overrides one step of the reference's close (see ReferenceProvider's Close.swift).

final class WakesWithShutdown: ReferenceProvider, @unchecked Sendable {
    override func wakePendingCalls(socket fd: Int32, wake: Int32) {
        _ = try? Syscall.shutdown(fd, ShutdownDirection.both.rawValue)
        super.wakePendingCalls(socket: fd, wake: wake)
    }
}

final class AlwaysGraceful: ReferenceProvider, @unchecked Sendable {
    override func tearDown(socket fd: Int32, linger: Linger, blocking: Bool) {
        if Syscall.unreadBytes(fd) > 0 { closeAbortively(fd) } else { try? Syscall.close(fd) }
    }
}

final class AlwaysAbortive: ReferenceProvider, @unchecked Sendable {
    override func tearDown(socket fd: Int32, linger: Linger, blocking: Bool) { closeAbortively(fd) }
}

final class DoesNotAbortPending: ReferenceProvider, @unchecked Sendable {
    override func wakePendingCalls(socket fd: Int32, wake: Int32) {}
    override var closeWaitsForCallsInFlight: Bool { false }
}

final class ClosesOnFirstDuplicate: ReferenceProvider, @unchecked Sendable {
    /// The connection ends at the first close; the descriptor itself is closed once, by the last.
    override func closedDuplicate(socket fd: Int32, linger: Linger) { _ = try? Syscall.shutdown(fd, ShutdownDirection.both.rawValue) }
}

final class ResetsAtAnyAbortiveClose: ReferenceProvider, @unchecked Sendable {
    /// Linger 0 is applied at every close: the connection is reset though another handle still names the socket.
    override func closedDuplicate(socket fd: Int32, linger: Linger) {
        if linger.isOn && linger.seconds == 0 { Syscall.disconnect(fd) }
    }
}

final class ReleasesTwice: ReferenceProvider, @unchecked Sendable {
    override func release(_ handle: SocketHandle) {
        super.release(handle)
        super.release(handle)
    }
}

final class NeverReleases: ReferenceProvider, @unchecked Sendable {
    override func release(_ handle: SocketHandle) {}
}

final class AcceptsStaleHandle: ReferenceProvider, @unchecked Sendable {
    override var closedHandlesReachNewestSocket: Bool { true }
}

final class KernelLinger: ReferenceProvider, @unchecked Sendable {
    override func tearDown(socket fd: Int32, linger: Linger, blocking: Bool) {
        guard linger.isOn && linger.seconds > 0 && Syscall.unreadBytes(fd) == 0 else {
            return super.tearDown(socket: fd, linger: linger, blocking: blocking)
        }
        // The kernel's linger blocks the close (it ignores O_NONBLOCK here), then lets the data go on with a FIN.
        try? Syscall.setLinger(fd, on: true, seconds: Int32(linger.seconds))
        try? Syscall.close(fd)
    }
}

final class BlocksNonblockingLingerClose: ReferenceProvider, @unchecked Sendable {
    override var nonblockingCloseRefusesToWait: Bool { false }
    override func tearDown(socket fd: Int32, linger: Linger, blocking: Bool) {
        super.tearDown(socket: fd, linger: linger, blocking: true)
    }
}

final class DrainsUnreadData: ReferenceProvider, @unchecked Sendable {
    override func tearDown(socket fd: Int32, linger: Linger, blocking: Bool) {
        drain(fd)
        super.tearDown(socket: fd, linger: linger, blocking: blocking)
    }
}

/// Reads and discards whatever is unread on a kernel socket.
private func drain(_ fd: Int32) {
    var scratch = [UInt8](repeating: 0, count: 65536)
    while Syscall.unreadBytes(fd) > 0 {
        let read = scratch.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if read <= 0 { break }
    }
}

final class DiscardsUnreadAfterPeerFinished: ReferenceProvider, @unchecked Sendable {
    /// TCP_CLOSE_WAIT: the peer's FIN has arrived. The mistake's reasoning: "the peer is done, nothing to reset".
    static let closeWait: Int32 = 8

    override func tearDown(socket fd: Int32, linger: Linger, blocking: Bool) {
        if Syscall.tcpState(fd) == Self.closeWait { drain(fd) }
        super.tearDown(socket: fd, linger: linger, blocking: blocking)
    }
}

final class NonblockingUnreadWouldBlock: ReferenceProvider, @unchecked Sendable {
    /// The unread data is not looked at: the close waits for the queue although it must reset at once.
    override func closeWouldWait(socket fd: Int32, linger: Linger) -> Bool {
        linger.isOn && linger.seconds > 0 && Syscall.unackedBytes(fd) > 0
    }
}

final class NonblockingAbortiveWouldBlock: ReferenceProvider, @unchecked Sendable {
    /// Linger on is taken to mean "wait", whatever the timeout.
    override func closeWouldWait(socket fd: Int32, linger: Linger) -> Bool {
        linger.isOn && Syscall.unreadBytes(fd) == 0 && Syscall.unackedBytes(fd) > 0
    }
}

final class LingerInMilliseconds: ReferenceProvider, @unchecked Sendable {
    override func tearDown(socket fd: Int32, linger: Linger, blocking: Bool) {
        guard linger.isOn, linger.seconds > 0, blocking, Syscall.unreadBytes(fd) == 0 else {
            return super.tearDown(socket: fd, linger: linger, blocking: blocking)
        }
        let deadline = ContinuousClock.now + .milliseconds(linger.seconds)
        while Syscall.unackedBytes(fd) > 0 {
            guard ContinuousClock.now < deadline else { return closeAbortively(fd) }
            var fds = [pollfd(fd: fd, events: 0, revents: 0)]
            _ = try? Syscall.poll(&fds, timeoutMilliseconds: 1)
        }
        try? Syscall.close(fd)
    }
}

final class CompletesAbortedTwice: ReferenceProvider, @unchecked Sendable {
    override func completeAborted(_ operation: OperationID, sending: Bool) {
        super.completeAborted(operation, sending: sending)
        super.completeAborted(operation, sending: sending)
    }
}

final class CompletesAbortedWithSuccess: ReferenceProvider, @unchecked Sendable {
    override func completeAborted(_ operation: OperationID, sending: Bool) {
        upcalls.completeOperation(operation, with: sending ? .sent(0) : .received([]))
    }
}

/// Wraps the reference (a mistake in what `duplicate` does, not in a step of close): the new handle's options are
/// set to their defaults, as a provider that keeps options per handle and initialises a copy afresh would, and the
/// socket's linger with them. It shows only where sharing meets linger: linger set before duplicating.
final class DuplicateResetsLinger: ForwardingProvider, @unchecked Sendable {
    override var name: String { inner.name }

    override func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        let copy = try inner.duplicate(handle)
        try? inner.setOption(copy, .linger, to: .linger(.off))
        return copy
    }
}

/// A wrapper that keeps a little state of its own under a lock: the base of the mutants made as decorators
/// that remember something.
class StatefulMutant<State>: ForwardingProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var state: State

    init(_ inner: any SocketProvider, state: State) {
        self.state = state
        super.init(inner)
    }

    override var name: String { inner.name }

    func withState<T>(_ body: (inout State) -> T) -> T { lock.withLock { body(&state) } }
}

/// Which open handles name the same socket, as a decorator sees it from `duplicate` and `close`: each handle's
/// socket is the handle it was first known by.
struct SocketGroups {
    private var socketOf: [SocketHandle: SocketHandle] = [:]

    /// `copy` is a duplicate of `handle`; returns their socket.
    mutating func duplicated(_ handle: SocketHandle, as copy: SocketHandle) -> SocketHandle {
        let socket = socketOf[handle] ?? handle
        socketOf[handle] = socket
        socketOf[copy] = socket
        return socket
    }

    /// The socket of `handle`, if it was ever duplicated.
    func socket(of handle: SocketHandle) -> SocketHandle? { socketOf[handle] }

    /// The other open handles of `socket`.
    func handles(of socket: SocketHandle, besides handle: SocketHandle) -> [SocketHandle] {
        socketOf.filter { $0.key != handle && $0.value == socket }.map(\.key)
    }

    /// `handle` is closed.
    mutating func remove(_ handle: SocketHandle) { socketOf[handle] = nil }
}

/// A provider whose options live in the handle, not the socket: a copy starts with the original's linger, and
/// from then on each handle has its own; the last close applies the linger of the handle it closes. It shows only
/// where sharing meets linger: linger set through one handle after duplicating, the last close through another.
final class LingerPerHandle: StatefulMutant<[SocketHandle: Linger]>, @unchecked Sendable {
    init(_ inner: any SocketProvider) { super.init(inner, state: [:]) }

    private func own(_ handle: SocketHandle) -> Linger { withState { $0[handle] ?? .off } }
    private func setOwn(_ handle: SocketHandle, _ value: Linger?) { withState { $0[handle] = value } }

    override func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        let copy = try inner.duplicate(handle)
        setOwn(copy, own(handle))
        return copy
    }

    override func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        let value = try inner.option(handle, option)
        switch option {
        case .linger: return .linger(own(handle))
        case .dontLinger: return .flag(!own(handle).isOn)
        default: return value
        }
    }

    override func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        try inner.setOption(handle, option, to: value)
        switch (option, value) {
        case (.linger, .linger(let value)): setOwn(handle, value)
        case (.dontLinger, .flag(let dontLinger)):
            var value = own(handle)
            value.isOn = !dontLinger
            setOwn(handle, value)
        default: break
        }
    }

    override func close(_ handle: SocketHandle) throws(SocketError) {
        // The socket's linger becomes this handle's just before the close that may be the last.
        try? inner.setOption(handle, .linger, to: .linger(own(handle)))
        try inner.close(handle)
        setOwn(handle, nil)
    }
}

/// A provider that records whether a socket is shared, not by how many handles: the first close of a shared
/// socket marks it unshared, the next tears it down, and every handle still naming it stops working. Two handles
/// behave; it shows only with three or more.
final class CountsTwoReferences: StatefulMutant<(groups: SocketGroups, shared: Set<SocketHandle>)>, @unchecked Sendable {
    init(_ inner: any SocketProvider) { super.init(inner, state: (SocketGroups(), [])) }

    override func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        let copy = try inner.duplicate(handle)
        withState { _ = $0.shared.insert($0.groups.duplicated(handle, as: copy)) }
        return copy
    }

    override func close(_ handle: SocketHandle) throws(SocketError) {
        try inner.close(handle)
        let others: [SocketHandle] = withState { state in
            guard let socket = state.groups.socket(of: handle) else { return [] }
            let rest = state.groups.handles(of: socket, besides: handle)
            state.groups.remove(handle)
            if state.shared.remove(socket) != nil { return [] }
            // Not shared any more, so this close was the last: the socket goes, with every handle on it.
            for other in rest { state.groups.remove(other) }
            return rest
        }
        for other in others { try? inner.close(other) }
    }
}

/// A close that fails with wouldBlock (LINGER-6) has already marked the handle closed: the socket stays open
/// but the handle answers notSocket from then on, so the application can neither use it nor close it again.
final class FailedCloseForgetsHandle: StatefulMutant<Set<SocketHandle>>, @unchecked Sendable {
    init(_ inner: any SocketProvider) { super.init(inner, state: []) }

    private func known(_ handle: SocketHandle) throws(SocketError) {
        if withState({ $0.contains(handle) }) { throw .notSocket }
    }

    override func close(_ handle: SocketHandle) throws(SocketError) {
        try known(handle)
        do {
            try inner.close(handle)
        } catch .wouldBlock {
            withState { _ = $0.insert(handle) }
            throw .wouldBlock
        }
    }
    override func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        try known(handle)
        return try inner.send(handle, bytes)
    }
    override func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        try known(handle)
        return try inner.receive(handle, into: buffer)
    }
    override func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) {
        try known(handle)
        try inner.shutdown(handle, direction)
    }
    override func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        try known(handle)
        return try inner.option(handle, option)
    }
    override func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        try known(handle)
        try inner.setOption(handle, option, to: value)
    }
    override func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) {
        try known(handle)
        try inner.setBlocking(handle, blocking)
    }
    override func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        try known(handle)
        return try inner.duplicate(handle)
    }
}

/// SO_DONTLINGER written as "linger off, timeout 0": the timeout set before is lost (LINGER-7 says it is kept).
final class DontLingerForgetsTimeout: ForwardingProvider, @unchecked Sendable {
    override var name: String { inner.name }

    override func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        guard option == .dontLinger, case .flag(true) = value else { return try inner.setOption(handle, option, to: value) }
        try inner.setOption(handle, .linger, to: .linger(.off))
    }
}

final class WokenReceiveReturnsEndOfStream: ForwardingProvider, @unchecked Sendable {
    override var name: String { inner.name }

    override func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        do {
            return try inner.receive(handle, into: buffer)
        } catch .interrupted {
            return 0
        }
    }
}

/// Keeps the handles it handed out, and closes those still open at cleanup with the linger they have.
final class CleanupClosesGracefully: StatefulMutant<Set<SocketHandle>>, @unchecked Sendable {
    init(_ inner: any SocketProvider) { super.init(inner, state: []) }

    private func opened(_ handle: SocketHandle) -> SocketHandle {
        withState { _ = $0.insert(handle) }
        return handle
    }
    override func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle { opened(try inner.socket(family)) }
    override func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) {
        let (accepted, address) = try inner.accept(handle)
        return (opened(accepted), address)
    }
    override func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle { opened(try inner.duplicate(handle)) }
    override func close(_ handle: SocketHandle) throws(SocketError) {
        try inner.close(handle)
        withState { _ = $0.remove(handle) }
    }
    override func cleanup() {
        for handle in withState({ $0.sorted { $0.rawValue < $1.rawValue } }) { try? inner.close(handle) }
        inner.cleanup()
    }
}

/// Remembers that a close would block, with the linger it had, and answers the same while the linger is unchanged.
final class WouldBlockSticks: StatefulMutant<[SocketHandle: SocketOptionValue]>, @unchecked Sendable {
    init(_ inner: any SocketProvider) { super.init(inner, state: [:]) }

    override func close(_ handle: SocketHandle) throws(SocketError) {
        let linger = try? inner.option(handle, .linger)
        if let linger, withState({ $0[handle] }) == linger { throw .wouldBlock }
        do {
            try inner.close(handle)
        } catch .wouldBlock {
            withState { $0[handle] = linger }
            throw .wouldBlock
        }
    }
}

/// Remembers the linger of a close that would block, and retries with it.
final class RetriedCloseKeepsFirstLinger: StatefulMutant<[SocketHandle: SocketOptionValue]>, @unchecked Sendable {
    init(_ inner: any SocketProvider) { super.init(inner, state: [:]) }

    override func close(_ handle: SocketHandle) throws(SocketError) {
        if let first = withState({ $0[handle] }) { try? inner.setOption(handle, .linger, to: first) }
        do {
            try inner.close(handle)
        } catch .wouldBlock {
            if let linger = try? inner.option(handle, .linger) { withState { $0[handle] = $0[handle] ?? linger } }
            throw .wouldBlock
        }
    }
}

/// Treats the connections accepted from a listener as its children: they are closed with it.
final class ClosesAcceptedWithListener: StatefulMutant<[SocketHandle: [SocketHandle]]>, @unchecked Sendable {
    init(_ inner: any SocketProvider) { super.init(inner, state: [:]) }

    override func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) {
        let (accepted, address) = try inner.accept(handle)
        withState { $0[handle, default: []].append(accepted) }
        return (accepted, address)
    }
    override func close(_ handle: SocketHandle) throws(SocketError) {
        try inner.close(handle)
        for child in withState({ $0.removeValue(forKey: handle) ?? [] }) { try? inner.close(child) }
    }
}

/// Counts the reference (the socket stays open until the last close) but hands back the original's value: the
/// copies are the same handle to the application, and a closed copy still works.
final class DuplicateReturnsSameHandle: StatefulMutant<[SocketHandle: [SocketHandle]]>, @unchecked Sendable {
    init(_ inner: any SocketProvider) { super.init(inner, state: [:]) }

    override func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        let copy = try inner.duplicate(handle)
        withState { $0[handle, default: []].append(copy) }
        return handle
    }
    override func close(_ handle: SocketHandle) throws(SocketError) {
        // One of the references goes: a hidden copy while there is one, the handle itself last.
        if let copy = withState({ $0[handle]?.popLast() }) { return try inner.close(copy) }
        try inner.close(handle)
    }
}

/// Reads the linger option at the first close of a shared socket and keeps that value for the last.
final class LastCloseUsesLingerOfFirst: StatefulMutant<(groups: SocketGroups, linger: [SocketHandle: SocketOptionValue])>,
    @unchecked Sendable
{
    init(_ inner: any SocketProvider) { super.init(inner, state: (SocketGroups(), [:])) }

    override func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        let copy = try inner.duplicate(handle)
        withState { _ = $0.groups.duplicated(handle, as: copy) }
        return copy
    }
    override func close(_ handle: SocketHandle) throws(SocketError) {
        let now = try? inner.option(handle, .linger)
        let (socket, others, first) = withState { state in
            let socket = state.groups.socket(of: handle)
            let others = socket.map { state.groups.handles(of: $0, besides: handle).count } ?? 0
            return (socket, others, socket.flatMap { state.linger[$0] })
        }
        if others == 0, let first { try? inner.setOption(handle, .linger, to: first) }
        try inner.close(handle)
        withState { state in
            state.groups.remove(handle)
            if let socket, others > 0, state.linger[socket] == nil, let now { state.linger[socket] = now }
        }
    }
}
