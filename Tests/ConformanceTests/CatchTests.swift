import Conformance
import Foundation
import Harness
import Mutants
import ProviderCatalogue
import ProviderInterface
import TestSupport
import Testing

/// Wakes the threads pending on a handle the way Linux invites: shutdown(2) before close(2). It sends a FIN.
final class ShutdownWaker: ForwardingProvider, @unchecked Sendable {
    override func close(_ handle: SocketHandle) throws(SocketError) {
        try? inner.shutdown(handle, .both)
        try inner.close(handle)
    }
}

/// Reports one byte fewer than each send accepted: the application's count no longer matches the wire.
final class UnderReportingSend: ForwardingProvider, @unchecked Sendable {
    override func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        max(0, try inner.send(handle, bytes) - 1)
    }
}

/// Cases that must catch a faulty provider; they need the wire, hence capture rights.
@Suite(.enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? ""))) struct Catching {
    func run(_ pattern: String, _ provider: ProviderFactory) -> [CaseResult] {
        let (cases, _) = CaseLoader.loadDirectory("\(suiteDirectory)/cases", statements: statements)
        let instances = cases.flatMap(\.instances).filter { fnmatch(pattern, $0.id, 0) == 0 }
        return Runner.run(instances, options: RunOptions(provider: provider))
    }

    @Test func theMidCasesCatchAProviderThatWakesThreadsWithShutdown() {
        // With nothing queued, shutdown(2) puts a FIN on the wire at once, before the abortive close's RST.
        let pattern = "mid.delayed.receive[[]close=0,*"
        let results = run(pattern, ProviderFactory(name: "shutdown-waker") { ShutdownWaker(ProviderKind.posix.make(upcalls: $0)) })
        #expect(results.count == 2)
        for result in results {
            #expect(result.verdict == .fail)
            #expect(result.messages.contains { $0.contains("expected no FIN from the subject; saw FIN at seq") }, "\(result.messages)")
        }
        #expect(run(pattern, .builtIn(.reference)).map(\.verdict) == [.pass, .pass])
    }

    @Test func theFaultInvariantCatchesSendCountsThatDoNotMatchTheWire() {
        let results = run(
            "fault.failed-send", ProviderFactory(name: "under-reporting") { UnderReportingSend(ProviderKind.reference.make(upcalls: $0)) })
        #expect(results.first?.verdict == .fail)
        #expect(
            results.first?.messages.contains {
                $0.contains("with faults injected, send reported 131070 bytes accepted but the wire carried 131072")
            }
                == true, "\(results.first?.messages ?? [])")
    }
}
