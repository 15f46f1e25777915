import Harness
import ProviderInterface
import ReferenceProvider
import Testing

extension Statements {
    /// The registry's audit runs after every statement test; these put the provider through the
    /// situations each HANDLE statement names and check the registry's view directly as well.
    @Suite("HANDLE: handles issued by the harness")
    struct Handles {
        @Test("HANDLE-1: each handle is released exactly once, by its close", arguments: providers(for: "HANDLE-1"))
        func releasedByItsClose(_ kind: ProviderKind) throws {
            try verify("HANDLE-1", on: kind) { subject, findings in
                let registry = subject.registry
                let connection = try subject.connect(role: .server)
                let duplicate = try subject.provider.duplicate(connection.subject)
                let plain = try subject.provider.socket(.ipv6)
                for (handle, what) in [(connection.subject, "accepted socket"), (duplicate, "duplicate"), (plain, "socket")] {
                    findings.expect(registry.status(of: handle) == .live, "the \(what) is not live before its close")
                    try subject.close(handle)
                    findings.expect(registry.status(of: handle) == .released, "the \(what) is not released after its close")
                }
                let counts = registry.counts
                findings.expect(counts.issued == counts.released, "\(counts.issued) handles issued, \(counts.released) released")
            }
        }

        @Test("HANDLE-2: nothing is released twice, even when the application closes twice", arguments: providers(for: "HANDLE-2"))
        func neverTwice(_ kind: ProviderKind) throws {
            try verify("HANDLE-2", on: kind) { subject, findings in
                let handle = try subject.provider.socket(.ipv4)
                let copy = try subject.provider.duplicate(handle)
                try subject.close(handle)
                findings.expectFailure(.notSocket, "second close") { () throws(SocketError) in try subject.close(handle) }
                try subject.close(copy)
                findings.expectFailure(.notSocket, "second close of the duplicate") { () throws(SocketError) in try subject.close(copy) }
                let counts = subject.registry.counts
                findings.expect(counts.released == 2, "\(counts.released) releases for 2 handles")
            }
        }

        @Test("HANDLE-3: nothing the application closed stays outstanding", arguments: providers(for: "HANDLE-3"))
        func nothingOutstanding(_ kind: ProviderKind) throws {
            try verify("HANDLE-3", on: kind) { subject, findings in
                let provider = subject.provider
                // An aborted operation.
                let connection = try subject.connect()
                let handle = connection.subject
                let receive = background("receive") { () throws(SocketError) in try provider.receive(handle, maxBytes: 10) }
                try closeWhilePending(receive, closing: handle, on: subject, findings: &findings) { connection.peer.close() }
                // A failed operation: connect to a port nobody listens on.
                let refused = try provider.socket(.ipv4)
                let closedPort = try PeerListener(.ipv4)
                let address = closedPort.address
                closedPort.close()
                findings.expectFailure(.connectionRefused, "connect to a closed port") { () throws(SocketError) in
                    try provider.connect(refused, to: address)
                }
                try subject.close(refused)
                // A close that first failed with wouldBlock.
                let stalled = try smallWindowConnection(subject)
                _ = try subject.fill(stalled.subject)
                try provider.setLinger(stalled.subject, .timeout(1))
                findings.expectFailure(.wouldBlock, "nonblocking close with linger 1 s") { () throws(SocketError) in
                    try subject.close(stalled.subject)
                }
                try provider.setLinger(stalled.subject, .off)
                try subject.close(stalled.subject)
                findings.expect(subject.registry.liveHandles.isEmpty, "handles outstanding: \(subject.registry.liveHandles)")
            }
        }

        @Test("HANDLE-4: no upcall names a released handle", arguments: providers(for: "HANDLE-4"))
        func noUpcallAfterRelease(_ kind: ProviderKind) throws {
            try verify("HANDLE-4", on: kind) { subject, findings in
                let (listener, address) = try subject.listen()
                let accept = try subject.startAccept(listener)
                let peer = try PeerSocket.connect(to: address)
                defer { peer.close() }
                guard let completion = subject.registry.waitForCompletion(of: accept, within: .seconds(5)) else {
                    findings.add("the asynchronous accept never completed")
                    return
                }
                guard case .accepted(let accepted, _) = completion.result else {
                    findings.add("the asynchronous accept completed with \(completion.result)")
                    return
                }
                let receive = try subject.startReceive(accepted, maxBytes: 10)
                try subject.close(accepted)
                try subject.close(listener)
                findings.expect(
                    subject.registry.waitForCompletion(of: receive, within: .seconds(5))?.result == .failed(.operationAborted),
                    "the receive pending on the accepted socket did not complete with operationAborted")
                // Any upcall naming the released handles is recorded by the registry and reported by the audit.
            }
        }

        @Test("HANDLE-5: cleanup closes every open handle abortively and releases it", arguments: providers(for: "HANDLE-5"))
        func cleanupReleasesEverything(_ kind: ProviderKind) throws {
            try verify("HANDLE-5", on: kind) { subject, findings in
                let provider = subject.provider
                let connection = try smallWindowConnection(subject)
                _ = try subject.fill(connection.subject)
                _ = try provider.duplicate(connection.subject)
                let (listener, _) = try subject.listen()
                var pending: OperationID?
                if subject.capabilities.contains(.asynchronousOperations) {
                    pending = try subject.startAccept(listener)
                }
                let violations = subject.finish()
                for violation in violations { findings.add(violation.description) }
                findings.expect(subject.registry.liveHandles.isEmpty, "handles outstanding after cleanup: \(subject.registry.liveHandles)")
                findings.expect(try connection.peer.waitForReset(within: .seconds(2)), "cleanup did not reset the open connection")
                if let pending {
                    findings.expect(
                        subject.registry.completions(of: pending).map(\.result) == [.failed(.operationAborted)],
                        "the accept pending at cleanup did not complete once with operationAborted")
                }
                // Its own completion thread only: other tests' providers and captures run in this process at the same time.
                if let reference = provider as? ReferenceProvider {
                    findings.expect(
                        ProcessResources.threads(named: reference.completionThreadName) == 0, "provider threads still running after cleanup"
                    )
                }
            }
        }
    }
}
