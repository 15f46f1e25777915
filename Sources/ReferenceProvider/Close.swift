import Foundation
public import ProviderInterface
import SocketSystem

extension ReferenceProvider {
    public func close(_ handle: SocketHandle) throws(SocketError) {
        state.lock()
        guard let entry = handles[handle], !entry.closed.load(ordering: .acquiring) else {
            state.unlock()
            throw .notSocket
        }
        let socket = entry.socket
        let linger = socket.linger
        let isLast = socket.references == 1
        let blocking = socket.blocking.load(ordering: .relaxed)
        // LINGER-6: a nonblocking close that would have to wait changes nothing and says so.
        if isLast, linger.isOn, linger.seconds > 0, !blocking, mistake != .blocksNonblockingLingerClose,
            Syscall.unreadBytes(socket.fd) == 0, Syscall.unackedBytes(socket.fd) > 0
        {
            state.unlock()
            throw .wouldBlock
        }

        // From here on every call naming the handle fails, and every wait on it wakes.
        entry.closed.store(true, ordering: .releasing)
        if mistake == .wakesWithShutdown { _ = try? Syscall.shutdown(socket.fd, ShutdownDirection.both.rawValue) }
        if mistake != .doesNotAbortPending { Syscall.signal(eventDescriptor: entry.wake) }
        let aborted = pending.filter { $0.owner === entry && !$0.attempting }
        pending.removeAll { op in aborted.contains { $0 === op } }
        completion?.nudge()
        state.unlock()

        for operation in aborted {
            switch mistake {
            case .completesAbortedTwice:
                upcalls.completeOperation(operation.id, with: .failed(.operationAborted))
                upcalls.completeOperation(operation.id, with: .failed(.operationAborted))
            case .completesAbortedWithSuccess:
                let success: OperationResult =
                    switch operation.kind {
                    case .send: .sent(0)
                    default: .received([])
                    }
                upcalls.completeOperation(operation.id, with: success)
            default:
                upcalls.completeOperation(operation.id, with: .failed(.operationAborted))
            }
        }

        state.lock()
        if mistake == .doesNotAbortPending && entry.inFlight > 0 {
            // The calls in flight go on; the last to leave tears the socket down.
            handles[handle] = nil
            socket.references -= 1
            entry.endWhenIdle = true
            state.unlock()
            try? upcalls.releaseHandle(handle)
            return
        }
        while entry.inFlight > 0 { state.wait() }
        handles[handle] = nil
        socket.references -= 1
        let finalLinger = socket.linger
        let tearsDown = socket.references == 0
        state.unlock()

        if mistake == .closesOnFirstDuplicate && !tearsDown {
            // The connection ends at the first close; the descriptor itself is closed once, by the last.
            _ = try? Syscall.shutdown(socket.fd, ShutdownDirection.both.rawValue)
        }
        if tearsDown {
            teardown(socket, linger: finalLinger, blocking: blocking || mistake == .blocksNonblockingLingerClose)
        }
        try? Syscall.close(entry.wake)
        // The handle goes back exactly once, by this close (HANDLE-1); a refusal is the harness's to record.
        if mistake != .neverReleases { try? upcalls.releaseHandle(handle) }
        if mistake == .releasesTwice { try? upcalls.releaseHandle(handle) }
    }

    /// Ends the kernel socket as the linger option says; runs once, at the last close.
    func teardown(_ socket: SocketState, linger: Linger, blocking: Bool) {
        let fd = socket.fd
        if let mistake, makes(mistake, tearingDown: fd, linger: linger) { return }
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

    /// The mutants' teardowns; true when the mistake ended the socket itself.
    func makes(_ mistake: Mistake, tearingDown fd: Int32, linger: Linger) -> Bool {
        switch mistake {
        case .alwaysGraceful:
            if Syscall.unreadBytes(fd) > 0 { closeAbortively(fd) } else { try? Syscall.close(fd) }
        case .alwaysAbortive:
            closeAbortively(fd)
        case .kernelLinger where linger.isOn && linger.seconds > 0 && Syscall.unreadBytes(fd) == 0:
            // The kernel's linger blocks the close (it ignores O_NONBLOCK here), then lets the data go on with a FIN.
            try? Syscall.setLinger(fd, on: true, seconds: Int32(linger.seconds))
            try? Syscall.close(fd)
        case .drainsUnreadData:
            var scratch = [UInt8](repeating: 0, count: 65536)
            while Syscall.unreadBytes(fd) > 0 {
                let read = scratch.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if read <= 0 { break }
            }
            return false
        default:
            return false
        }
        return true
    }

    func closeAbortively(_ fd: Int32) {
        try? Syscall.setLinger(fd, on: true, seconds: 0)
        try? Syscall.close(fd)
    }

    public func cleanup() {
        state.lock()
        let open = handles.values.filter { !$0.closed.load(ordering: .acquiring) }
        for entry in open { entry.socket.linger = .abortive }
        state.unlock()
        // HANDLE-5: every handle still open is closed abortively and released.
        for entry in open.sorted(by: { $0.handle.rawValue < $1.handle.rawValue }) {
            try? close(entry.handle)
        }
        stopCompletionThread()
    }
}

extension Duration {
    /// The duration in whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
