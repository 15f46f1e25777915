import Harness
import ProviderInterface
import Testing

/// The registry is the evidence for HANDLE-* and PEND-5: each misuse a provider can make
/// must be recorded, or the statement tests could not fail.
@Suite("Handle registry audit")
struct RegistryTests {
    @Test("handles carry a generation: a released value is never issued again")
    func generations() throws {
        let registry = HandleRegistry()
        let first = try registry.createHandle(context: 1)
        try registry.auditClose(first) { () throws(SocketError) in try registry.releaseHandle(first) }
        let second = try registry.createHandle(context: 2)
        #expect(first != second)
        #expect(registry.status(of: first) == .released)
        #expect(registry.status(of: second) == .live)
        #expect(try registry.queryContext(of: second) == 2)
        #expect(registry.status(of: SocketHandle(rawValue: 5)) == .unknown)
        #expect(registry.finalAudit().isEmpty)
    }

    @Test("a double release is HANDLE-2")
    func doubleRelease() throws {
        let registry = HandleRegistry()
        let handle = try registry.createHandle(context: 0)
        #expect(throws: SocketError.notSocket) {
            try registry.auditClose(handle) { () throws(SocketError) in
                try registry.releaseHandle(handle)
                try registry.releaseHandle(handle)
            }
        }
        #expect(registry.violations.map(\.statement) == ["HANDLE-2"])
    }

    @Test("releasing a value never obtained is HANDLE-2")
    func foreignRelease() {
        let registry = HandleRegistry()
        #expect(throws: SocketError.notSocket) { try registry.releaseHandle(SocketHandle(rawValue: 42)) }
        #expect(registry.violations.map(\.statement) == ["HANDLE-2"])
    }

    @Test("a release outside any close, and a close that releases nothing, are HANDLE-1")
    func releaseOutsideClose() throws {
        let registry = HandleRegistry()
        let early = try registry.createHandle(context: 0)
        try registry.releaseHandle(early)
        let kept = try registry.createHandle(context: 0)
        try registry.auditClose(kept) { () throws(SocketError) in }
        #expect(registry.violations.map(\.statement) == ["HANDLE-1", "HANDLE-1"])
        #expect(registry.finalAudit().map(\.statement) == ["HANDLE-1", "HANDLE-1", "HANDLE-3"])
    }

    @Test("a query naming a released handle is HANDLE-4")
    func queryAfterRelease() throws {
        let registry = HandleRegistry()
        let handle = try registry.createHandle(context: 0)
        try registry.auditClose(handle) { () throws(SocketError) in try registry.releaseHandle(handle) }
        #expect(throws: SocketError.notSocket) { try registry.queryContext(of: handle) }
        #expect(registry.violations.map(\.statement) == ["HANDLE-4"])
    }

    @Test("a handle left open through cleanup is HANDLE-5")
    func leftAfterCleanup() throws {
        let registry = HandleRegistry()
        _ = try registry.createHandle(context: 0)
        registry.auditCleanup {}
        #expect(registry.violations.map(\.statement) == ["HANDLE-5"])
    }

    @Test("completions twice, for nothing, or never are PEND-5")
    func completions() throws {
        let registry = HandleRegistry()
        let handle = try registry.createHandle(context: 0)
        let twice = registry.newOperation(on: handle)
        let never = registry.newOperation(on: handle)
        registry.completeOperation(twice, with: .failed(.operationAborted))
        registry.completeOperation(twice, with: .sent(3))
        registry.completeOperation(OperationID(rawValue: 999), with: .sent(1))
        #expect(registry.completions(of: twice).count == 2)
        #expect(registry.waitForCompletion(of: never, within: .milliseconds(10)) == nil)
        let statements = registry.finalAudit().map(\.statement)
        #expect(statements == ["PEND-5", "PEND-5", "PEND-5"])
    }
}
