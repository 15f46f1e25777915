import Foundation
import Harness
import ProviderInterface
import Testing

/// The statements each built-in provider is predicted to break, each with the words a finding
/// must contain, so that a deviation is caught for the reason SPEC.md gives and no other.
let predictedDeviations: [ProviderKind: [String: String]] = [
    .reference: [:],
    .posix: [
        // close(2) wakes no thread blocked on the descriptor (SPEC.md, facts about Linux).
        "PEND-1": "still pending",
        "PEND-2": "still pending",
        "PEND-3": "still pending",
        "PEND-4": "still pending",
        "PEND-7": "wrote",
        "SHARE-5": "still pending",
        // Descriptor numbers are reused at once.
        "CLOSE-3": "stale handle",
        // Linux lingers, then goes on delivering in the background and ends with a FIN.
        "LINGER-5": "end-of-stream",
        // Linux ignores O_NONBLOCK in a close with a linger timeout and blocks.
        "LINGER-6": "expected wouldBlock",
    ],
]

/// Everything a check saw that contradicts its statement, in words.
struct Findings: CustomStringConvertible {
    private(set) var items: [String] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func add(_ finding: String) { items.append(finding) }

    /// Records `finding` unless `condition` holds.
    mutating func expect(_ condition: Bool, _ finding: @autoclosure () -> String) {
        if !condition { items.append(finding()) }
    }

    /// Runs a call that must fail with `expected`; records anything else.
    mutating func expectFailure<T>(_ expected: SocketError, _ what: String, _ body: () throws(SocketError) -> T) {
        do throws(SocketError) {
            let value = try body()
            add("\(what) succeeded (\(value)); expected \(expected.name)")
        } catch {
            expect(error == expected, "\(what) failed with \(error.name); expected \(expected.name)")
        }
    }

    /// Runs a call that must succeed; records the failure and returns nil otherwise.
    @discardableResult
    mutating func expectSuccess<T>(_ what: String, _ body: () throws(SocketError) -> T) -> T? {
        do throws(SocketError) {
            return try body()
        } catch {
            add("\(what) failed with \(error.name); expected success")
            return nil
        }
    }

    /// Runs a call that must succeed at once (within `tolerances.atOnce`); records what it did otherwise.
    mutating func expectSuccessAtOnce(_ what: String, _ body: () throws(SocketError) -> Void) {
        let start = ContinuousClock.now
        expectSuccess(what, body)
        let elapsed = ContinuousClock.now - start
        expect(elapsed <= tolerances.atOnce, "\(what) took \(elapsed); expected at once")
    }

    /// Checks what the peer read against what the subject sent and how the reading had to end.
    mutating func expectPeer(_ observation: PeerObservation, read payload: [UInt8], prefixOnly: Bool = false, ending: PeerEnding) {
        if prefixOnly {
            expect(
                observation.isPrefix(of: payload),
                "peer read \(observation.bytes.count) bytes that are not a prefix of the \(payload.count) sent")
        } else {
            expect(observation.isExactly(payload), "peer read \(observation.bytes.count) bytes, expected the \(payload.count) sent, intact")
        }
        expect(observation.ending == ending, "peer's reading ended with \(observation.ending); expected \(ending)")
    }

    var description: String { items.joined(separator: "; ") }
}

let tolerances = Tolerances.standard

/// The names in TEARDOWN_PROVIDERS (comma-separated), which `make conformance PROVIDER=...` sets.
let requestedProviders: [String] = (ProcessInfo.processInfo.environment["TEARDOWN_PROVIDERS"] ?? "")
    .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

/// The providers the statement tests run against: all built-in ones, or those requested.
/// An unknown name fails `providerSelection` below rather than being ignored.
let testedProviders: [ProviderKind] =
    requestedProviders.isEmpty ? ProviderKind.allCases : requestedProviders.compactMap(ProviderKind.init(rawValue:))

/// The capabilities a statement's test needs; a provider without them is not tested on it.
let capabilityRequirements: [String: ProviderCapabilities] = [
    "PEND-5": .asynchronousOperations, "PEND-7": .duplicate,
    "SHARE-1": .duplicate, "SHARE-2": .duplicate, "SHARE-3": .duplicate, "SHARE-4": .duplicate, "SHARE-5": .duplicate,
    "HANDLE-1": .harnessHandles, "HANDLE-2": .harnessHandles, "HANDLE-3": .harnessHandles,
    "HANDLE-4": [.harnessHandles, .asynchronousOperations], "HANDLE-5": .harnessHandles,
]

/// The tested providers that have what `statement` needs.
func providers(for statement: String) -> [ProviderKind] {
    let needed = capabilityRequirements[statement] ?? []
    return testedProviders.filter { $0.capabilities.isSuperset(of: needed) }
}

/// Every (statement, provider) pair left out for a missing capability, with the reason.
let notApplicable: [String] = capabilityRequirements.sorted { $0.key < $1.key }.flatMap { statement, needed in
    testedProviders.compactMap { kind in
        let missing = needed.subtracting(kind.capabilities)
        return missing.isEmpty ? nil : "\(statement) on \(kind) (lacks \(missing))"
    }
}

/// Shows the left-out pairs as a skipped test with the reasons, so that none passes silently.
@Test(
    "Statements that do not apply to a provider",
    .disabled(if: !notApplicable.isEmpty, Comment(rawValue: "not applicable: " + notApplicable.joined(separator: "; "))))
func statementsNotApplicable() {
    #expect(notApplicable.isEmpty)
}

@Test("TEARDOWN_PROVIDERS names only built-in providers")
func providerSelection() {
    let unknown = requestedProviders.filter { ProviderKind(rawValue: $0) == nil }
    #expect(unknown.isEmpty, "unknown providers \(unknown); the built-in ones are \(ProviderKind.allCases.map(\.rawValue))")
}

/// Runs one statement's check against one provider and judges it: the reference provider must
/// conform; a provider predicted to deviate must, for the predicted reason.
func verify(
    _ statement: String, on kind: ProviderKind,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (Subject, inout Findings) throws -> Void
) throws {
    let subject = Subject(kind)
    let missing = (capabilityRequirements[statement] ?? []).subtracting(subject.capabilities)
    guard missing.isEmpty else {
        subject.provider.cleanup()
        Issue.record("\(statement) was run on \(kind), which lacks \(missing)", sourceLocation: sourceLocation)
        return
    }
    var findings = Findings()
    do {
        try body(subject, &findings)
    } catch {
        _ = subject.finish()
        throw error
    }
    for violation in subject.finish() { findings.add(violation.description) }
    if let reason = predictedDeviations[kind]?[statement] {
        #expect(
            findings.items.contains { $0.contains(reason) },
            "\(kind) is predicted to break \(statement) (a finding with \"\(reason)\"); findings: \(findings)",
            sourceLocation: sourceLocation)
    } else {
        #expect(findings.isEmpty, "\(statement) on \(kind): \(findings)", sourceLocation: sourceLocation)
    }
}

/// Times a call.
func timed<T>(_ body: () throws -> T) rethrows -> (T, Duration) {
    let start = ContinuousClock.now
    let value = try body()
    return (value, .now - start)
}

/// Waits for a condition that no descriptor signals (a kernel counter), looking every millisecond.
func waitUntil(_ what: String, within timeout: Duration = .seconds(10), _ condition: () throws -> Bool) throws {
    let deadline = Deadline(after: timeout)
    while try !condition() {
        if deadline.hasPassed { throw HarnessError("\(what) did not happen within \(timeout)") }
        var none: [pollfd] = []
        _ = poll(&none, 0, 1)
    }
}

typealias Outcome<T> = Result<T, SocketError>

/// Runs a provider call on its own thread as a `Result`.
func background<T: Sendable>(_ label: String, _ body: @escaping @Sendable () throws(SocketError) -> T) -> BackgroundCall<Outcome<T>> {
    BackgroundCall(label) { Result { () throws(SocketError) in try body() } }
}

/// The heart of PEND-*: with `call` pending in another thread, closes `handle` and checks
/// that close succeeds and the call fails with `expected` at once. When the call stays
/// pending (a provider that does not abort), `unblock` ends it so that nothing is left behind.
@discardableResult
func closeWhilePending<T: Sendable>(
    _ call: BackgroundCall<Outcome<T>>, closing handle: SocketHandle, on subject: Subject,
    expected: SocketError = .interrupted, findings: inout Findings, unblock: () throws -> Void
) throws -> Outcome<T>? {
    try call.waitUntilBlocked()
    let start = ContinuousClock.now
    findings.expectSuccess("close with \(call.label) pending") { () throws(SocketError) in try subject.close(handle) }
    guard let outcome = call.result(within: tolerances.atOnce) else {
        findings.add("\(call.label) still pending \(tolerances.atOnce) after close")
        try unblock()
        _ = call.result(within: .seconds(10))
        return nil
    }
    if let finished = call.finishedAt, finished - start > tolerances.atOnce {
        findings.add("\(call.label) ended \(finished - start) after close began; expected at once")
    }
    switch outcome {
    case .success(let value):
        findings.add("\(call.label) returned \(value) after close; expected \(expected.name)")
    case .failure(let error):
        findings.expect(error == expected, "\(call.label) failed with \(error.name); expected \(expected.name)")
    }
    return outcome
}

/// A peer with a small receive window and a subject with a small send buffer, so that a few
/// tens of kilobytes fill the path and the subject's data stays queued.
func smallWindowConnection(_ subject: Subject, role: Role = .client) throws -> Connection {
    try subject.connect(role: role, peerReceiveBuffer: 4096, subjectSendBuffer: 16384)
}

/// The parent of every statement suite: serialized, because the posix provider's stale
/// descriptors would otherwise touch sockets of tests running beside it.
@Suite("SPEC.md statements judged by calls and a plain-kernel peer", .serialized)
struct Statements {}
