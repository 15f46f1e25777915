import Conformance
import Foundation
import Harness
import Mutants
import ProviderCatalogue
import ProviderInterface
import TestSupport
import Testing

/// `close` never returns until released: a stuck provider call for the watchdog to catch.
final class StuckInClose: ForwardingProvider, @unchecked Sendable {
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
final class LeakyClose: ForwardingProvider, @unchecked Sendable {
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
    /// Options for the reference provider whose close waits for `release`, with a short watchdog and no capture.
    func stuckInClose(_ release: DispatchSemaphore) -> RunOptions {
        var options = RunOptions(
            provider: ProviderFactory(name: "stuck-in-close") { registry in
                StuckInClose(ProviderKind.reference.make(upcalls: registry), release: release)
            })
        options.watchdog = .milliseconds(500)
        options.capture = false
        return options
    }

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
        var options = stuckInClose(release)
        options.jobs = 1
        let results = Runner.run(stuck + untouched.instances, options: options)
        #expect(results.map(\.id) == ["linger.new-socket[family=ipv4]", "test.no-close"])
        #expect(results[0].verdict == .error)
        #expect(results[0].messages.first?.contains("provider did not return from close within") == true, "\(results[0].messages)")
        #expect(results[0].messages.first?.contains("line 13") == true, "\(results[0].messages)")
        // The stuck call does not stop the run: the next case runs and passes (the provider's cleanup releases its socket).
        #expect(results[1].verdict == .pass, "\(results[1].messages)")
    }

    @Test func aCallBoundedByTheCaseThatNeverReturnsFailsTheCaseInsteadOfAnError() throws {
        let timed = try CaseLoader.parse(
            "id: test.timed-close\ntitle: t\nstatements: [CLOSE-1]\nsetup: {kind: none}\nsteps:\n  - socket: n\n  - close: n\n    within: at-once\n",
            file: "timed-close.yaml", statements: statements)
        let release = DispatchSemaphore(value: 0)
        defer { release.signal() }
        let options = stuckInClose(release)
        let results = Runner.run(timed.instances, options: options)
        #expect(results.map(\.verdict) == [.fail], "\(results.map(\.messages))")
        #expect(
            results.first?.messages.first
                == "line 7: close expected to return at once; it had not returned when the watchdog gave up on it (0.5 seconds)",
            "\(results.map(\.messages))")
    }
}
