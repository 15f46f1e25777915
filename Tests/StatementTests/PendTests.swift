import Glibc
import Harness
import ProviderInterface
import Testing

extension Statements {
    @Suite("PEND: operations pending in other threads")
    struct Pend {
        @Test("PEND-1: a pending receive fails with interrupted when the handle is closed", arguments: testedProviders)
        func pendingReceive(_ kind: ProviderKind) throws {
            try verify("PEND-1", on: kind) { subject, findings in
                let connection = try subject.connect()
                let handle = connection.subject
                let provider = subject.provider
                let receive = background("receive") { () throws(SocketError) in try provider.receive(handle, maxBytes: 1024) }
                try closeWhilePending(receive, closing: handle, on: subject, findings: &findings) {
                    connection.peer.close()
                }
            }
        }

        @Test("PEND-2: a send stalled by a full window fails with interrupted when the handle is closed", arguments: testedProviders)
        func stalledSend(_ kind: ProviderKind) throws {
            try verify("PEND-2", on: kind) { subject, findings in
                let connection = try smallWindowConnection(subject)
                let handle = connection.subject
                let provider = subject.provider
                _ = try subject.fill(handle)
                try provider.setBlocking(handle, true)
                let more = Payload.bytes(65536, seed: 9)
                let send = background("send") { () throws(SocketError) in try provider.send(handle, more) }
                try closeWhilePending(send, closing: handle, on: subject, findings: &findings) {
                    connection.peer.close(abortive: true)
                }
            }
        }

        @Test("PEND-3: a pending accept fails with interrupted when the listener is closed", arguments: testedProviders)
        func pendingAccept(_ kind: ProviderKind) throws {
            try verify("PEND-3", on: kind) { subject, findings in
                let provider = subject.provider
                let (listener, address) = try subject.listen()
                let accept = background("accept") { () throws(SocketError) in try provider.accept(listener).0 }
                let outcome = try closeWhilePending(accept, closing: listener, on: subject, findings: &findings) {
                    // The listening socket lives on inside the stuck accept; a connection ends it.
                    _ = try PeerSocket.connect(to: address)
                }
                if case .success(let accepted) = outcome { subject.discard(accepted) }
                if outcome == nil, case .success(let accepted)? = accept.result(within: .zero) { subject.discard(accepted) }
            }
        }

        @Test("PEND-4: a connect in progress fails with interrupted when the handle is closed", arguments: testedProviders)
        func pendingConnect(_ kind: ProviderKind) throws {
            try verify("PEND-4", on: kind) { subject, findings in
                // A listener whose accept queue is full drops new SYNs, so a connect to it stays in progress.
                let listener = try PeerListener(.ipv4, backlog: 0)
                let queued = try PeerSocket.connect(to: listener.address)
                defer { queued.close() }
                let provider = subject.provider
                let handle = try provider.socket(.ipv4)
                let connect = background("connect") { () throws(SocketError) in try provider.connect(handle, to: listener.address) }
                try closeWhilePending(connect, closing: handle, on: subject, findings: &findings) {
                    // The next SYN the stuck connect retransmits is refused.
                    listener.close()
                }
            }
        }

        @Test("PEND-5: asynchronous operations complete once with operationAborted", arguments: providers(for: "PEND-5"))
        func asynchronousOperations(_ kind: ProviderKind) throws {
            try verify("PEND-5", on: kind) { subject, findings in
                let connection = try smallWindowConnection(subject)
                _ = try subject.fill(connection.subject)
                let receive = try subject.startReceive(connection.subject, maxBytes: 4096)
                let send = try subject.startSend(connection.subject, Payload.bytes(65536, seed: 3))
                let (listener, _) = try subject.listen()
                let accept = try subject.startAccept(listener)
                for (operation, what) in [(receive, "receive"), (send, "send"), (accept, "accept")] {
                    findings.expect(subject.registry.completions(of: operation).isEmpty, "asynchronous \(what) completed before close")
                }

                try subject.close(connection.subject)
                let closedAt = ContinuousClock.now
                try subject.close(listener)
                let listenerClosedAt = ContinuousClock.now
                for (operation, what, after) in [
                    (receive, "receive", closedAt), (send, "send", closedAt), (accept, "accept", listenerClosedAt),
                ] {
                    guard let completion = subject.registry.waitForCompletion(of: operation, within: .seconds(5)) else {
                        findings.add("asynchronous \(what) never completed after close")
                        continue
                    }
                    findings.expect(
                        completion.result == .failed(.operationAborted),
                        "asynchronous \(what) completed with \(completion.result); expected operationAborted")
                    if case .failed = completion.result {
                    } else if completion.time > after {
                        findings.add("asynchronous \(what) completed with success after close returned")
                    }
                }
                // A second completion would be recorded by the registry and reported by the final audit.
            }
        }

        @Test("PEND-7: an aborted receive writes nothing into its buffer afterwards", arguments: providers(for: "PEND-7"))
        func abortedReceiveBuffer(_ kind: ProviderKind) throws {
            try verify("PEND-7", on: kind) { subject, findings in
                let connection = try subject.connect()
                let provider = subject.provider
                let handle = connection.subject
                // A second handle keeps the socket alive, so data can still arrive after the close.
                let other = try provider.duplicate(handle)
                defer { subject.discard(other) }
                let buffer = SentinelBuffer(count: 256)
                let receive = background("receive") { () throws(SocketError) in try provider.receive(handle, into: buffer.raw) }
                let late = Payload.bytes(100, seed: 5)
                var sent = false
                let outcome = try closeWhilePending(receive, closing: handle, on: subject, findings: &findings) {
                    _ = try connection.peer.send(late)
                    sent = true
                }
                if !sent { _ = try connection.peer.send(late) }
                let drain = background("receive on the other handle") { () throws(SocketError) in
                    try provider.receive(other, maxBytes: 256)
                }
                // When the receive stayed pending, it took the data itself and the drain waits for nothing.
                _ = drain.result(within: outcome == nil ? .zero : .seconds(2))
                if outcome == nil, let result = receive.result(within: .seconds(2)) {
                    findings.add("the receive pending at close returned \(result) after the close and wrote into its buffer")
                }
                findings.expect(
                    buffer.isUntouched, "the aborted receive's buffer was written after it failed (it wrote data that arrived later)")
                if drain.result(within: .zero) == nil {
                    connection.peer.close()
                    _ = drain.result(within: .seconds(5))
                }
                buffer.release(unlessStillUsedBy: receive)
            }
        }
    }
}

/// A receive buffer filled with a sentinel, kept alive as long as a call may still write into it.
final class SentinelBuffer: @unchecked Sendable {
    static let sentinel: UInt8 = 0xA5
    let raw: UnsafeMutableRawBufferPointer

    init(count: Int) {
        raw = .allocate(byteCount: count, alignment: 1)
        raw.initializeMemory(as: UInt8.self, repeating: Self.sentinel)
    }

    var isUntouched: Bool { raw.allSatisfy { $0 == Self.sentinel } }

    /// Frees the buffer once the call that received into it has returned; leaks it otherwise.
    func release<T>(unlessStillUsedBy call: BackgroundCall<T>) {
        if call.result(within: .zero) != nil { raw.deallocate() }
    }
}
