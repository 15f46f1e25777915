import Harness
import ProviderInterface
import Testing

extension Statements {
    @Suite("SHARE: duplicated handles and reference counting")
    struct Share {
        @Test("SHARE-1: both handles send and receive on the one connection", arguments: providers(for: "SHARE-1"))
        func bothHandlesWork(_ kind: ProviderKind) throws {
            try verify("SHARE-1", on: kind) { subject, findings in
                let connection = try subject.connect()
                let provider = subject.provider
                let first = connection.subject
                let second = try provider.duplicate(first)
                defer {
                    subject.discard(second)
                    subject.discard(first)
                }
                findings.expect(second != first, "duplicate returned the same handle")
                let a = Payload.bytes(1000, seed: 1)
                let b = Payload.bytes(1000, seed: 2)
                _ = findings.expectSuccess("send through the first handle") { () throws(SocketError) in try provider.send(first, a) }
                _ = findings.expectSuccess("send through the duplicate") { () throws(SocketError) in try provider.send(second, b) }
                findings.expectPeer(try connection.peer.read(limit: 2000), read: a + b, ending: .open)
                for (handle, name) in [(second, "duplicate"), (first, "first handle")] {
                    let sent = Payload.bytes(100, seed: 3)
                    _ = try connection.peer.send(sent)
                    let received = findings.expectSuccess("receive through the \(name)") { () throws(SocketError) in
                        try provider.receive(handle, maxBytes: 100)
                    }
                    findings.expect(received == sent, "the \(name) received \(received?.count ?? 0) bytes; expected the peer's 100")
                }
            }
        }

        @Test("SHARE-2: closing one of two handles changes nothing on the wire", arguments: providers(for: "SHARE-2"))
        func closingOneOfTwo(_ kind: ProviderKind) throws {
            try verify("SHARE-2", on: kind) { subject, findings in
                let connection = try subject.connect()
                let provider = subject.provider
                let second = try provider.duplicate(connection.subject)
                defer { subject.discard(second) }
                try provider.setLinger(connection.subject, .abortive)
                findings.expectSuccess("close of the first handle") { () throws(SocketError) in try subject.close(connection.subject) }
                findings.expect(
                    try connection.peer.isQuiet(for: tolerances.atOnce), "the peer saw data, FIN or RST after the first of two closes")
                let payload = Payload.bytes(500)
                _ = findings.expectSuccess("send through the remaining handle") { () throws(SocketError) in
                    try provider.send(second, payload)
                }
                findings.expectPeer(try connection.peer.read(limit: 500), read: payload, ending: .open)
            }
        }

        @Test("SHARE-3: options are shared by every handle", arguments: providers(for: "SHARE-3"))
        func sharedOptions(_ kind: ProviderKind) throws {
            try verify("SHARE-3", on: kind) { subject, findings in
                let provider = subject.provider
                let first = try provider.socket(.ipv4)
                let second = try provider.duplicate(first)
                defer {
                    subject.discard(second)
                    subject.discard(first)
                }
                try provider.setLinger(first, .timeout(7))
                let seen = try provider.linger(second)
                findings.expect(seen == .timeout(7), "linger set to on, 7 s through one handle reads \(seen) through the other")
                try provider.setLinger(second, .off)
                let back = try provider.linger(first)
                findings.expect(!back.isOn, "linger turned off through the duplicate reads \(back) through the first handle")
            }
        }

        @Test("SHARE-4: only the last close tears down, as linger says then", arguments: providers(for: "SHARE-4"), [false, true])
        func lastCloseTearsDown(_ kind: ProviderKind, abortive: Bool) throws {
            try verify("SHARE-4", on: kind) { subject, findings in
                let connection = try smallWindowConnection(subject)
                let provider = subject.provider
                let first = connection.subject
                let second = try provider.duplicate(first)
                let payload = try subject.fill(first, limit: abortive ? 64 << 20 : 20000)
                let more = Payload.bytes(abortive ? 0 : 3000, seed: 7)
                if !more.isEmpty {
                    try provider.setBlocking(second, true)
                    _ = findings.expectSuccess("send through the duplicate") { () throws(SocketError) in try provider.send(second, more) }
                }
                try provider.setLinger(second, abortive ? .abortive : .off)
                try subject.close(first)
                findings.expect(connection.peer.isEstablished, "the first of two closes ended the connection")
                findings.expectSuccess("close of the last handle") { () throws(SocketError) in try subject.close(second) }
                let observation = try connection.peer.read()
                if abortive {
                    findings.expectPeer(observation, read: payload, prefixOnly: true, ending: .reset)
                } else {
                    findings.expectPeer(observation, read: payload + more, ending: .endOfStream)
                }
            }
        }

        @Test("SHARE-5: closing one handle aborts only the operations pending on it", arguments: providers(for: "SHARE-5"))
        func abortsOnlyItsOwn(_ kind: ProviderKind) throws {
            try verify("SHARE-5", on: kind) { subject, findings in
                let connection = try subject.connect()
                let provider = subject.provider
                let first = connection.subject
                let second = try provider.duplicate(first)
                defer { subject.discard(second) }
                let other = background("receive on the duplicate") { () throws(SocketError) in try provider.receive(second, maxBytes: 100) }
                try other.waitUntilBlocked()
                let mine = background("receive on the closed handle") { () throws(SocketError) in try provider.receive(first, maxBytes: 100)
                }
                var peerClosed = false
                try closeWhilePending(mine, closing: first, on: subject, findings: &findings) {
                    connection.peer.close()
                    peerClosed = true
                }
                if peerClosed {
                    _ = other.result(within: .seconds(5))
                    return
                }
                findings.expect(other.result(within: .zero) == nil, "the receive on the duplicate ended when the other handle was closed")
                let payload = Payload.bytes(100, seed: 4)
                _ = try connection.peer.send(payload)
                guard let result = other.result(within: .seconds(5)) else {
                    findings.add("the receive on the duplicate never completed")
                    connection.peer.close()
                    _ = other.result(within: .seconds(5))
                    return
                }
                findings.expect(
                    (try? result.get()) == payload, "the receive on the duplicate returned \(result); expected the peer's 100 bytes")
            }
        }
    }
}
