import CShim
import Foundation
public import ProviderInterface
import SocketSystem

/// The thread that drives asynchronous operations: it polls the sockets of the
/// pending operations and a control descriptor, and attempts each one that is ready.
final class CompletionThread: @unchecked Sendable {
    let control: Int32
    /// Set under the provider's lock to end the loop.
    var stopping = false
    let finished = DispatchSemaphore(value: 0)

    init() throws(SocketError) {
        control = try system { () throws(SystemError) in try Syscall.eventDescriptor() }
    }

    /// Wakes the loop so that it looks at the pending operations again.
    func nudge() { Syscall.signal(eventDescriptor: control) }
}

extension ReferenceProvider {
    public func startSend(_ handle: SocketHandle, _ bytes: [UInt8], operation: OperationID) throws(SocketError) {
        try start(handle, .send(bytes), operation)
    }

    public func startReceive(_ handle: SocketHandle, maxBytes: Int, operation: OperationID) throws(SocketError) {
        guard maxBytes > 0 else { throw .invalidArgument }
        try start(handle, .receive(maxBytes), operation)
    }

    public func startAccept(_ handle: SocketHandle, operation: OperationID) throws(SocketError) {
        try start(handle, .accept, operation)
    }

    func start(_ handle: SocketHandle, _ kind: PendingOperation.Kind, _ id: OperationID) throws(SocketError) {
        state.lock()
        defer { state.unlock() }
        guard let entry = handles[handle], !entry.closed.load(ordering: .acquiring) else { throw .notSocket }
        if completion == nil {
            let thread = try CompletionThread()
            completion = thread
            Thread.detachNewThread { [self] in
                td_set_thread_name(completionThreadName)
                completionLoop(thread)
                thread.finished.signal()
            }
        }
        pending.append(PendingOperation(id: id, owner: entry, kind: kind))
        completion?.nudge()
    }

    func completionLoop(_ thread: CompletionThread) {
        while true {
            state.lock()
            if thread.stopping {
                state.unlock()
                return
            }
            let waiting = pending.filter { !$0.attempting }
            state.unlock()

            var fds = [pollfd(fd: thread.control, events: Int16(POLLIN), revents: 0)]
            fds += waiting.map { pollfd(fd: $0.owner.socket.fd, events: $0.events, revents: 0) }
            _ = try? Syscall.poll(&fds, timeoutMilliseconds: -1)
            if fds[0].revents != 0 { Syscall.drain(eventDescriptor: thread.control) }
            for (index, operation) in waiting.enumerated() where fds[index + 1].revents != 0 {
                attempt(operation)
            }
        }
    }

    /// Makes what progress the socket allows; completes the operation once it is done or its handle closed.
    func attempt(_ operation: PendingOperation) {
        let entry = operation.owner
        state.lock()
        guard pending.contains(where: { $0 === operation }), !entry.closed.load(ordering: .acquiring) else {
            state.unlock()
            return
        }
        operation.attempting = true
        entry.inFlight += 1
        state.unlock()

        var result = progress(operation)

        state.lock()
        operation.attempting = false
        let closed = entry.closed.load(ordering: .acquiring)
        state.unlock()
        // Closed while the attempt ran: a transfer is aborted (PEND-5). An accepted socket already has
        // a handle; it is delivered, before close returns, since close waits for this attempt.
        if closed {
            switch result {
            case .accepted?: break
            default: result = .failed(.operationAborted)
            }
        }
        if let result {
            state.lock()
            pending.removeAll { $0 === operation }
            state.unlock()
            upcalls.completeOperation(operation.id, with: result)
        }
        leave(entry)
    }

    /// One nonblocking attempt; nil while the operation must wait for the socket.
    func progress(_ operation: PendingOperation) -> OperationResult? {
        let fd = operation.owner.socket.fd
        do {
            switch operation.kind {
            case .receive(let maxBytes):
                var bytes = [UInt8](repeating: 0, count: maxBytes)
                let outcome = try bytes.withUnsafeMutableBytes { raw throws(SystemError) in
                    try Syscall.receive(fd, raw, dontWait: true)
                }
                guard case .done(let count) = outcome else { return nil }
                return .received(Array(bytes.prefix(count)))
            case .send(let bytes):
                while operation.sent < bytes.count {
                    let outcome = try bytes.withUnsafeBytes { raw throws(SystemError) in
                        try Syscall.send(fd, UnsafeRawBufferPointer(rebasing: raw[operation.sent...]), dontWait: true)
                    }
                    guard case .done(let count) = outcome else { return nil }
                    operation.sent += count
                }
                return .sent(operation.sent)
            case .accept:
                guard case .done(let (newFD, address)) = try Syscall.accept(fd, nonblocking: true) else { return nil }
                if operation.owner.closed.load(ordering: .acquiring) {
                    try? Syscall.close(newFD)
                    return .failed(.operationAborted)
                }
                do {
                    return .accepted(try register(SocketState(fd: newFD)), address)
                } catch {
                    try? Syscall.close(newFD)
                    return .failed(error)
                }
            }
        } catch {
            if case .send = operation.kind, operation.sent > 0 { return .sent(operation.sent) }
            return .failed((error as? SystemError)?.socketError ?? .systemCallFailure)
        }
    }

    func stopCompletionThread() {
        state.lock()
        let thread = completion
        completion = nil
        thread?.stopping = true
        let orphans = pending
        pending.removeAll()
        state.unlock()
        for operation in orphans {
            upcalls.completeOperation(operation.id, with: .failed(.operationAborted))
        }
        guard let thread else { return }
        thread.nudge()
        // The loop wakes on the nudge; the bound only turns a bug into a message instead of a hang.
        if thread.finished.wait(timeout: .now() + .seconds(10)) == .timedOut {
            FileHandle.standardError.write(Data("reference provider: completion thread did not stop within 10 s\n".utf8))
            return
        }
        try? Syscall.close(thread.control)
    }
}
