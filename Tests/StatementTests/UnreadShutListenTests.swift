import Harness
import ProviderInterface
import Testing

/// The linger settings a statement must hold under "whatever the linger option".
let allLingers: [Linger] = [.off, .abortive, .timeout(1)]

extension Statements {
    @Suite("UNREAD: data the application never read")
    struct Unread {
        @Test("UNREAD-1: closing with unread data resets, whatever the linger", arguments: testedProviders, allLingers)
        func unreadDataResets(_ kind: ProviderKind, linger: Linger) throws {
            try verify("UNREAD-1", on: kind) { subject, findings in
                let connection = try subject.connect()
                try subject.provider.setLinger(connection.subject, linger)
                _ = try connection.peer.send(Payload.bytes(1000))
                try waitUntil("the subject's kernel acknowledging the peer's data") { connection.peer.unackedBytes == 0 }
                findings.expectSuccessAtOnce("close with unread data") { () throws(SocketError) in try subject.close(connection.subject) }
                findings.expect(
                    try connection.peer.waitForReset(within: .seconds(2)),
                    "the peer saw no reset after a close with unread data (\(linger))")
                let next = try connection.peer.receive(within: .seconds(1))
                findings.expect(next.ending == .reset || next.ending == .endOfStream, "the peer's next receive: \(next)")
            }
        }

        @Test("UNREAD-2: data arriving after a graceful close draws a reset", arguments: testedProviders)
        func lateDataResets(_ kind: ProviderKind) throws {
            try verify("UNREAD-2", on: kind) { subject, findings in
                let connection = try subject.connect()
                try subject.close(connection.subject)
                findings.expectPeer(try connection.peer.read(), read: [], ending: .endOfStream)
                _ = try connection.peer.send(Payload.bytes(100))
                findings.expect(
                    try connection.peer.waitForReset(within: .seconds(2)), "data sent after the subject's graceful close drew no reset")
            }
        }

        @Test("UNREAD-3: a close after everything was read is graceful", arguments: testedProviders)
        func everythingReadIsGraceful(_ kind: ProviderKind) throws {
            try verify("UNREAD-3", on: kind) { subject, findings in
                let connection = try subject.connect()
                let sent = Payload.bytes(3000)
                _ = try connection.peer.send(sent)
                try connection.peer.shutdownSending()
                var received: [UInt8] = []
                while true {
                    let chunk = try subject.provider.receive(connection.subject, maxBytes: 4096)
                    if chunk.isEmpty { break }
                    received += chunk
                }
                findings.expect(received == sent, "the subject read \(received.count) bytes; expected the peer's \(sent.count)")
                findings.expectSuccess("close after reading everything") { () throws(SocketError) in try subject.close(connection.subject) }
                findings.expectPeer(try connection.peer.read(), read: [], ending: .endOfStream)
                findings.expect(
                    !(try connection.peer.waitForReset(within: tolerances.atOnce)), "the close after reading everything sent a reset")
            }
        }
    }

    @Suite("SHUT: shutdown and half-close")
    struct Shut {
        @Test("SHUT-1: shutdown(send) returns at once, FIN follows the data, receiving goes on", arguments: testedProviders)
        func halfClose(_ kind: ProviderKind) throws {
            try verify("SHUT-1", on: kind) { subject, findings in
                let connection = try smallWindowConnection(subject)
                let provider = subject.provider
                let handle = connection.subject
                let payload = try subject.fill(handle)
                try provider.setLinger(handle, .timeout(1))
                try provider.setBlocking(handle, true)
                findings.expectSuccessAtOnce("shutdown(send)") { () throws(SocketError) in try provider.shutdown(handle, .send) }
                findings.expectFailure(.shutdown, "send after shutdown(send)") { () throws(SocketError) in try provider.send(handle, [1]) }
                findings.expectPeer(try connection.peer.read(), read: payload, ending: .endOfStream)
                let reply = Payload.bytes(200, seed: 8)
                _ = try connection.peer.send(reply)
                let received = findings.expectSuccess("receive after shutdown(send)") { () throws(SocketError) in
                    try provider.receive(handle, maxBytes: 200)
                }
                findings.expect(
                    received == reply, "after shutdown(send) the subject received \(received?.count ?? 0) bytes; expected the peer's 200")
                try provider.setLinger(handle, .off)
                try subject.close(handle)
            }
        }

        @Test("SHUT-2: closing after shutdown(send): graceful, or RST with linger 0", arguments: testedProviders, [false, true])
        func closeAfterShutdown(_ kind: ProviderKind, abortive: Bool) throws {
            try verify("SHUT-2", on: kind) { subject, findings in
                let connection = try subject.connect()
                let payload = Payload.bytes(500)
                _ = try subject.provider.send(connection.subject, payload)
                try subject.provider.shutdown(connection.subject, .send)
                findings.expectPeer(try connection.peer.read(), read: payload, ending: .endOfStream)
                if abortive { try subject.provider.setLinger(connection.subject, .abortive) }
                findings.expectSuccess("close after shutdown(send)") { () throws(SocketError) in try subject.close(connection.subject) }
                let reset = try connection.peer.waitForReset(within: abortive ? .seconds(2) : tolerances.atOnce)
                findings.expect(
                    reset == abortive,
                    abortive ? "close with linger 0 after shutdown sent no reset" : "graceful close after shutdown sent a reset")
            }
        }

        @Test("SHUT-3: shutdown(both) sends FIN after the data; later sends and receives fail or end", arguments: testedProviders)
        func shutdownBoth(_ kind: ProviderKind) throws {
            try verify("SHUT-3", on: kind) { subject, findings in
                let connection = try subject.connect()
                let provider = subject.provider
                let handle = connection.subject
                defer { subject.discard(handle) }
                let payload = Payload.bytes(500)
                _ = try provider.send(handle, payload)
                try provider.shutdown(handle, .both)
                findings.expectPeer(try connection.peer.read(), read: payload, ending: .endOfStream)
                findings.expectFailure(.shutdown, "send after shutdown(both)") { () throws(SocketError) in try provider.send(handle, [1]) }
                do throws(SocketError) {
                    let bytes = try provider.receive(handle, maxBytes: 10)
                    findings.expect(bytes.isEmpty, "receive after shutdown(both) returned \(bytes.count) bytes; expected end-of-stream")
                } catch {
                    findings.expect(
                        error == .shutdown, "receive after shutdown(both) failed with \(error.name); expected end-of-stream or shutdown")
                }
            }
        }

        @Test("SHUT-4: shutdown fails with notSocket, notConnected or invalidArgument", arguments: testedProviders)
        func shutdownErrors(_ kind: ProviderKind) throws {
            try verify("SHUT-4", on: kind) { subject, findings in
                let provider = subject.provider
                let released = try provider.socket(.ipv4)
                try subject.close(released)
                findings.expectFailure(.notSocket, "shutdown on a released handle") { () throws(SocketError) in
                    try provider.shutdown(released, .both)
                }
                let unconnected = try provider.socket(.ipv4)
                defer { subject.discard(unconnected) }
                findings.expectFailure(.notConnected, "shutdown on an unconnected socket") { () throws(SocketError) in
                    try provider.shutdown(unconnected, .send)
                }
                let connection = try subject.connect()
                defer { subject.discard(connection.subject) }
                findings.expectFailure(.invalidArgument, "shutdown with direction 7") { () throws(SocketError) in
                    try provider.shutdown(connection.subject, ShutdownDirection(rawValue: 7))
                }
            }
        }

        @Test("SHUT-5: shutdown(receive) puts nothing on the wire", arguments: testedProviders)
        func shutdownReceive(_ kind: ProviderKind) throws {
            try verify("SHUT-5", on: kind) { subject, findings in
                let connection = try subject.connect()
                let handle = connection.subject
                defer { subject.discard(handle) }
                try subject.provider.shutdown(handle, .receive)
                findings.expect(
                    try connection.peer.isQuiet(for: tolerances.atOnce), "the peer saw data, FIN or RST after shutdown(receive)")
                findings.expect(connection.peer.isEstablished, "shutdown(receive) ended the connection")
                let payload = Payload.bytes(300)
                _ = findings.expectSuccess("send after shutdown(receive)") { () throws(SocketError) in
                    try subject.provider.send(handle, payload)
                }
                findings.expectPeer(try connection.peer.read(limit: 300), read: payload, ending: .open)
            }
        }
    }

    @Suite("LISTEN: listening sockets")
    struct Listen {
        @Test("LISTEN-1: closing a listener resets the connections it had queued", arguments: testedProviders)
        func queuedConnectionsReset(_ kind: ProviderKind) throws {
            try verify("LISTEN-1", on: kind) { subject, findings in
                let (listener, address) = try subject.listen(backlog: 8)
                let peers = try (0..<2).map { _ in try PeerSocket.connect(to: address) }
                try subject.close(listener)
                for (index, peer) in peers.enumerated() {
                    findings.expect(
                        try peer.waitForReset(within: .seconds(2)), "queued connection \(index + 1) was not reset when the listener closed")
                }
            }
        }

        @Test("LISTEN-2: connections accepted before the listener closed go on", arguments: testedProviders)
        func acceptedConnectionsGoOn(_ kind: ProviderKind) throws {
            try verify("LISTEN-2", on: kind) { subject, findings in
                let provider = subject.provider
                let (listener, address) = try subject.listen(backlog: 8)
                let peer = try PeerSocket.connect(to: address)
                let (accepted, _) = try provider.accept(listener)
                defer { subject.discard(accepted) }
                try subject.close(listener)
                let out = Payload.bytes(400, seed: 1)
                _ = findings.expectSuccess("send on the accepted socket") { () throws(SocketError) in try provider.send(accepted, out) }
                findings.expectPeer(try peer.read(limit: 400), read: out, ending: .open)
                let back = Payload.bytes(400, seed: 2)
                _ = try peer.send(back)
                var received: [UInt8] = []
                while received.count < back.count {
                    guard
                        let chunk = findings.expectSuccess(
                            "receive on the accepted socket",
                            { () throws(SocketError) in
                                try provider.receive(accepted, maxBytes: 400)
                            }), !chunk.isEmpty
                    else { break }
                    received += chunk
                }
                findings.expect(received == back, "the accepted socket received \(received.count) bytes; expected the peer's 400")
            }
        }
    }
}
