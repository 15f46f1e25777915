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

/// A provider whose blocking receive waits on a condition variable (a futex) while a thread of its own does the
/// I/O, as one built on a completion thread or a kernel ring would; otherwise the reference. `armed`: the mistake
/// of leaving that I/O armed when the handle is closed: the caller gets `interrupted` at once, but the receive goes
/// on in the kernel and writes into the caller's buffer when data comes (made over posix, whose close wakes nothing).
final class ConditionWaitingReceive: ForwardingProvider, @unchecked Sendable {
    private let condition = NSCondition()
    private var closed: Set<SocketHandle> = []
    private let armed: Bool

    init(_ inner: any SocketProvider, armed: Bool) {
        self.armed = armed
        super.init(inner)
    }

    override func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        final class Box: @unchecked Sendable { var result: Result<Int, SocketError>? }
        let box = Box()
        let (inner, condition, target) = (inner, condition, UncheckedBuffer(buffer))
        Thread.detachNewThread {
            let result = Result { () throws(SocketError) in try inner.receive(handle, into: target.buffer) }
            condition.lock()
            box.result = result
            condition.broadcast()
            condition.unlock()
        }
        condition.lock()
        defer { condition.unlock() }
        while box.result == nil && !(armed && closed.contains(handle)) { condition.wait() }
        guard let result = box.result else { throw .interrupted }
        return try result.get()
    }

    override func close(_ handle: SocketHandle) throws(SocketError) {
        condition.lock()
        closed.insert(handle)
        condition.broadcast()
        condition.unlock()
        try inner.close(handle)
    }
}

/// A buffer handed to the thread that fills it.
struct UncheckedBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
}

/// Cases that must catch a faulty provider; they need the wire, hence capture rights.
@Suite(.enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? ""))) struct Catching {
    func run(_ pattern: String, _ provider: ProviderFactory) -> [CaseResult] {
        let (cases, _) = CaseLoader.loadDirectory("\(suiteDirectory)/cases", statements: statements)
        let instances = cases.flatMap(\.instances).filter { fnmatch(pattern, $0.id, 0) == 0 }
        return Runner.run(instances, options: RunOptions(provider: provider))
    }

    @Test func theMidCasesCatchAProviderThatWakesThreadsWithShutdown() {
        // With nothing queued, shutdown(2) puts a FIN on the wire at once, before the abortive close's RST: the peer
        // reads end-of-stream where the abortive close owed it a reset. That finding (the case's peer line, judged
        // first) decides the verdict, so the wire is then looked at once rather than waited for: whether the capture
        // already holds the FIN at that instant depends on the machine's load, and is not asserted.
        let pattern = "mid.delayed.receive[[]close=0,*"
        let results = run(pattern, ProviderFactory(name: "shutdown-waker") { ShutdownWaker(ProviderKind.posix.make(upcalls: $0)) })
        #expect(results.count == 2)
        for result in results {
            #expect(result.verdict == .fail)
            #expect(
                result.messages.first?.contains("expected the peer's reading to end with reset; it ended with end-of-stream") == true,
                "\(result.messages)")
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

    @Test func aReceiveWaitingOnAConditionVariableIsPendingAndJudgedAsAnyOther() {
        // A correct provider of another design: the pending receive sleeps on a futex, and close still aborts it.
        let results = run(
            "pend.receive[[]close=off,role=client,family=ipv4]",
            ProviderFactory(name: "condition-waiting") { ConditionWaitingReceive(ProviderKind.reference.make(upcalls: $0), armed: false) })
        #expect(results.count == 1)
        #expect(results.allSatisfy { $0.verdict == .pass }, "\(results.map(\.messages))")
    }

    @Test func aReceiveLeftArmedAfterTheCloseIsCaughtEveryTime() {
        // PEND-7 is judged once the peer's bytes have reached the subject (acknowledged, or reset), not before.
        let provider = ProviderFactory(name: "armed-receive") { ConditionWaitingReceive(ProviderKind.posix.make(upcalls: $0), armed: true) }
        for _ in 0..<3 {
            let results = run("pend.receive-buffer", provider)
            #expect(results.count == 1)
            #expect(results.first?.verdict == .fail, "\(results.map(\.messages))")
            #expect(results.first?.messages.contains { $0.contains("bytes into its buffer after it had returned") } == true)
        }
        #expect(run("pend.receive-buffer", .builtIn(.reference)).map(\.verdict) == [.pass])
    }
}
