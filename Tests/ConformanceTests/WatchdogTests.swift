import Conformance
import Foundation
import Harness
import ProviderInterface
import Testing

/// A provider that forwards every call to another; subclasses change one call to make a faulty provider.
class Forwarding: SocketProvider, @unchecked Sendable {
    let inner: any SocketProvider

    init(_ inner: any SocketProvider) { self.inner = inner }

    var name: String { "forwarding" }
    var capabilities: ProviderCapabilities { inner.capabilities }
    func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle { try inner.socket(family) }
    func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) { try inner.bind(handle, to: address) }
    func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError) { try inner.listen(handle, backlog: backlog) }
    func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) { try inner.accept(handle) }
    func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) { try inner.connect(handle, to: address) }
    func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int { try inner.send(handle, bytes) }
    func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        try inner.receive(handle, into: buffer)
    }
    func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) { try inner.shutdown(handle, direction) }
    func close(_ handle: SocketHandle) throws(SocketError) { try inner.close(handle) }
    func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        try inner.option(handle, option)
    }
    func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        try inner.setOption(handle, option, to: value)
    }
    func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle { try inner.duplicate(handle) }
    func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) { try inner.setBlocking(handle, blocking) }
    func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress { try inner.localAddress(handle) }
    func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress { try inner.remoteAddress(handle) }
    func startSend(_ handle: SocketHandle, _ bytes: [UInt8], operation: OperationID) throws(SocketError) {
        try inner.startSend(handle, bytes, operation: operation)
    }
    func startReceive(_ handle: SocketHandle, maxBytes: Int, operation: OperationID) throws(SocketError) {
        try inner.startReceive(handle, maxBytes: maxBytes, operation: operation)
    }
    func startAccept(_ handle: SocketHandle, operation: OperationID) throws(SocketError) {
        try inner.startAccept(handle, operation: operation)
    }
    func cleanup() { inner.cleanup() }
}

/// `close` never returns until released: a stuck provider call for the watchdog to catch.
final class StuckInClose: Forwarding, @unchecked Sendable {
    let release: DispatchSemaphore

    init(_ inner: any SocketProvider, release: DispatchSemaphore) {
        self.release = release
        super.init(inner)
    }

    override func close(_ handle: SocketHandle) throws(SocketError) {
        release.wait()
        release.signal()
        try inner.close(handle)
    }
}

/// `close` reports success and does nothing: the descriptor stays open.
final class LeakyClose: Forwarding, @unchecked Sendable {
    override func close(_ handle: SocketHandle) throws(SocketError) {}
}

@Suite struct Audits {
    /// A case with a connection and no wire expectations runs without capture, so this needs no privileges.
    let closing = try! CaseLoader.parse(
        "id: test.close\ntitle: t\nstatements: [CLOSE-1]\nmatrix:\n  role: [client, server]\nsetup: {role: $role}\nsteps:\n  - close: s\n",
        file: "close.yaml", statements: statements)

    func run(_ provider: ProviderFactory) -> [CaseResult] {
        var options = RunOptions(provider: provider)
        options.capture = false
        return Runner.run(closing.instances, options: options)
    }

    @Test func aSocketLeftOpenAfterCloseIsFound() {
        let results = run(ProviderFactory(name: "leaky-close") { LeakyClose(ProviderKind.posix.make(upcalls: $0)) })
        #expect(results.map(\.verdict) == [.fail, .fail])
        for result in results {
            #expect(
                result.messages.contains { $0.contains("socket descriptor(s) of this case still open after cleanup") }, "\(result.messages)"
            )
        }
    }

    @Test func aProviderThatClosesLeavesNothing() {
        #expect(run(.builtIn(.posix)).map(\.verdict) == [.pass, .pass])
        #expect(run(.builtIn(.reference)).map(\.verdict) == [.pass, .pass])
    }
}

@Suite struct Watchdog {
    @Test func aStuckCallIsAnErrorNamingTheCallAndTheRunGoesOn() throws {
        let (cases, errors) = CaseLoader.loadDirectory("\(suiteDirectory)/cases", statements: statements)
        #expect(errors.isEmpty)
        // Two cases that need no capture: the first closes a socket (and gets stuck), the second closes nothing.
        let stuck = cases.flatMap(\.instances).filter { $0.id == "linger.new-socket[family=ipv4]" }
        let untouched = try CaseLoader.parse(
            "id: test.no-close\ntitle: t\nstatements: [LINGER-1]\nsetup: {kind: none}\nsteps:\n  - socket: n\n  - get-linger: off\n    handle: n\n",
            file: "no-close.yaml", statements: statements)
        let release = DispatchSemaphore(value: 0)
        defer { release.signal() }
        var options = RunOptions(
            provider: ProviderFactory(name: "stuck-in-close") { registry in
                StuckInClose(ProviderKind.reference.make(upcalls: registry), release: release)
            })
        options.watchdog = .milliseconds(500)
        options.capture = false
        options.jobs = 1
        let results = Runner.run(stuck + untouched.instances, options: options)
        #expect(results.map(\.id) == ["linger.new-socket[family=ipv4]", "test.no-close"])
        #expect(results[0].verdict == .error)
        #expect(results[0].messages.first?.contains("provider did not return from close within") == true, "\(results[0].messages)")
        #expect(results[0].messages.first?.contains("line 13") == true, "\(results[0].messages)")
        // The stuck call does not stop the run: the next case runs and passes (the provider's cleanup releases its socket).
        #expect(results[1].verdict == .pass, "\(results[1].messages)")
    }
}
