import Harness
import ProviderInterface
import Testing

extension Statements {
    @Suite("CLOSE: releasing a handle")
    struct Close {
        @Test("CLOSE-1: close on an open handle succeeds", arguments: testedProviders)
        func closeSucceeds(_ kind: ProviderKind) throws {
            try verify("CLOSE-1", on: kind) { subject, findings in
                let unconnected = try subject.provider.socket(.ipv4)
                findings.expectSuccess("close of an unconnected socket") { () throws(SocketError) in try subject.close(unconnected) }

                let (listener, _) = try subject.listen()
                findings.expectSuccess("close of a listening socket") { () throws(SocketError) in try subject.close(listener) }

                let connection = try subject.connect()
                findings.expectSuccess("close of a connected socket") { () throws(SocketError) in try subject.close(connection.subject) }
            }
        }

        @Test("CLOSE-2: every call naming a released handle fails with notSocket", arguments: testedProviders)
        func releasedHandleFails(_ kind: ProviderKind) throws {
            try verify("CLOSE-2", on: kind) { subject, findings in
                let connection = try subject.connect()
                let handle = connection.subject
                let provider = subject.provider
                try subject.close(handle)
                findings.expectFailure(.notSocket, "send") { () throws(SocketError) in try provider.send(handle, [1, 2, 3]) }
                findings.expectFailure(.notSocket, "receive") { () throws(SocketError) in try provider.receive(handle, maxBytes: 16) }
                findings.expectFailure(.notSocket, "shutdown") { () throws(SocketError) in try provider.shutdown(handle, .both) }
                findings.expectFailure(.notSocket, "get linger") { () throws(SocketError) in try provider.linger(handle) }
                findings.expectFailure(.notSocket, "set linger") { () throws(SocketError) in try provider.setLinger(handle, .abortive) }
                findings.expectFailure(.notSocket, "set blocking") { () throws(SocketError) in try provider.setBlocking(handle, false) }
                if subject.capabilities.contains(.duplicate) {
                    findings.expectFailure(.notSocket, "duplicate") { () throws(SocketError) in try provider.duplicate(handle) }
                }
                if subject.capabilities.contains(.asynchronousOperations) {
                    findings.expectFailure(.notSocket, "asynchronous receive") { () throws(SocketError) in
                        try subject.startReceive(handle, maxBytes: 16)
                    }
                }
                findings.expectFailure(.notSocket, "second close") { () throws(SocketError) in try subject.close(handle) }
                // The first close was graceful; nothing the stale calls did may change that.
                findings.expectPeer(try connection.peer.read(within: .seconds(5)), read: [], ending: .endOfStream)
            }
        }

        @Test("CLOSE-3: a released handle stays invalid after many new sockets", arguments: testedProviders)
        func staleHandleStaysInvalid(_ kind: ProviderKind) throws {
            try verify("CLOSE-3", on: kind) { subject, findings in
                let stale = try subject.provider.socket(.ipv4)
                try subject.close(stale)
                var fresh: [SocketHandle] = []
                for _ in 0..<64 { fresh.append(try subject.provider.socket(.ipv4)) }
                defer { for handle in fresh { subject.discard(handle) } }
                do throws(SocketError) {
                    let linger = try subject.provider.linger(stale)
                    findings.add("stale handle answered get linger (\(linger)): it names another socket now")
                } catch {
                    findings.expect(error == .notSocket, "stale handle: get linger failed with \(error.name); expected notSocket")
                }
                do throws(SocketError) {
                    try subject.provider.setBlocking(stale, false)
                    findings.add("stale handle accepted set blocking: it names another socket now")
                } catch {
                    findings.expect(error == .notSocket, "stale handle: set blocking failed with \(error.name); expected notSocket")
                }
            }
        }

        @Test("CLOSE-4: close of a value that was never a handle fails and changes nothing", arguments: testedProviders)
        func neverAHandle(_ kind: ProviderKind) throws {
            try verify("CLOSE-4", on: kind) { subject, findings in
                let connection = try subject.connect()
                defer { subject.discard(connection.subject) }
                let values: [SocketHandle] = [.invalid, SocketHandle(rawValue: 0x7FFF_FFFF), SocketHandle(rawValue: 0x7D00_00FF_00FF_FFFF)]
                for value in values {
                    findings.expectFailure(.notSocket, "close(\(value))") { () throws(SocketError) in try subject.provider.close(value) }
                }
                let payload = Payload.bytes(1000)
                findings.expectSuccess("send on the open connection afterwards") { () throws(SocketError) in
                    try subject.provider.send(connection.subject, payload)
                }
                findings.expectPeer(try connection.peer.read(limit: payload.count, within: .seconds(5)), read: payload, ending: .open)
            }
        }
    }
}
