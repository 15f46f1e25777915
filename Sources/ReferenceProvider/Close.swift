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
        if isLast, !blocking, nonblockingCloseRefusesToWait, closeWouldWait(socket: socket.fd, linger: linger) {
            state.unlock()
            throw .wouldBlock
        }

        // From here on every call naming the handle fails, and every wait on it wakes.
        entry.closed.store(true, ordering: .releasing)
        wakePendingCalls(socket: socket.fd, wake: entry.wake)
        let aborted = pending.filter { $0.owner === entry && !$0.attempting }
        pending.removeAll { op in aborted.contains { $0 === op } }
        completion?.nudge()
        state.unlock()

        for operation in aborted { completeAborted(operation.id, sending: operation.isSend) }

        state.lock()
        if !closeWaitsForCallsInFlight && entry.inFlight > 0 {
            // The calls in flight go on; the last to leave tears the socket down.
            handles[handle] = nil
            socket.references -= 1
            entry.endWhenIdle = true
            state.unlock()
            release(handle)
            return
        }
        while entry.inFlight > 0 { state.wait() }
        handles[handle] = nil
        socket.references -= 1
        let finalLinger = socket.linger
        let tearsDown = socket.references == 0
        state.unlock()

        if tearsDown {
            tearDown(socket: socket.fd, linger: finalLinger, blocking: blocking)
        } else {
            closedDuplicate(socket: socket.fd, linger: finalLinger)
        }
        try? Syscall.close(entry.wake)
        // The handle goes back exactly once, by this close (HANDLE-1).
        release(handle)
    }

    /// Closes the kernel socket with a reset: SO_LINGER on with a timeout of 0.
    public func closeAbortively(_ fd: Int32) {
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
