import Foundation
public import ProviderInterface
import ReferenceProvider
import SocketSystem

extension Mistake {
    /// The reference provider with this one mistake, making its upcalls into `upcalls`.
    public func make(upcalls: any ProviderUpcalls) -> any SocketProvider {
        let name = "mutant:\(rawValue)"
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
        case .duplicateResetsLinger: DuplicateResetsLinger(ReferenceProvider(upcalls: upcalls, name: name))
        case .resetsAtAnyAbortiveClose: ResetsAtAnyAbortiveClose(upcalls: upcalls, name: name)
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
        var scratch = [UInt8](repeating: 0, count: 65536)
        while Syscall.unreadBytes(fd) > 0 {
            let read = scratch.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if read <= 0 { break }
        }
        super.tearDown(socket: fd, linger: linger, blocking: blocking)
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
