import Foundation
import ProviderInterface
import SocketSystem
import Synchronization

/// The one kernel socket behind every duplicated handle, with the options
/// the provider emulates rather than leaves to Linux.
final class SocketState: @unchecked Sendable {
    /// Always nonblocking in the kernel; blocking is emulated with poll.
    let fd: Int32
    /// Blocking mode as the application set it (FIONBIO).
    let blocking = Atomic<Bool>(true)
    /// The linger option; the kernel's SO_LINGER stays off until teardown. Guarded by the provider's lock.
    var linger = Linger.off
    /// Handles that name this socket. Guarded by the provider's lock.
    var references = 1

    init(fd: Int32) { self.fd = fd }
}

/// One handle: its socket, and what is needed to abort the calls pending on it.
final class HandleState: @unchecked Sendable {
    let handle: SocketHandle
    let socket: SocketState
    /// Signalled once at close and never read back, so every poll that includes it wakes, now and later.
    let wake: Int32
    /// Set by close before anything else; calls that see it fail.
    let closed = Atomic<Bool>(false)
    /// Threads inside a call on this handle (and completion-thread attempts). Guarded by the provider's lock.
    var inFlight = 0
    /// Set by a close that did not wait for the calls in flight: the last call to leave ends the handle (and the socket).
    var endWhenIdle = false

    init(handle: SocketHandle, socket: SocketState, wake: Int32) {
        self.handle = handle
        self.socket = socket
        self.wake = wake
    }
}

/// An asynchronous operation waiting for its socket to become ready.
final class PendingOperation: @unchecked Sendable {
    enum Kind {
        case send([UInt8])
        case receive(Int)
        case accept
    }

    let id: OperationID
    let owner: HandleState
    let kind: Kind
    /// Bytes of a send accepted so far.
    var sent = 0
    /// The completion thread is attempting it right now. Guarded by the provider's lock.
    var attempting = false

    init(id: OperationID, owner: HandleState, kind: Kind) {
        self.id = id
        self.owner = owner
        self.kind = kind
    }

    /// Whether it is a send (its success is a count, not bytes).
    var isSend: Bool {
        if case .send = kind { return true }
        return false
    }

    /// The poll events that make progress possible.
    var events: Int16 {
        switch kind {
        case .send: Int16(POLLOUT)
        case .receive, .accept: Int16(POLLIN)
        }
    }
}
