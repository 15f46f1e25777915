import Foundation
import Harness
import ProviderInterface
import WireAnalysis

/// The verdict's reasoning, as pure functions of an expectation and the evidence gathered for it: each returns
/// the findings (in words) that the evidence gives against the expectation, none when it holds. The evidence
/// itself (what a call returned and when, what the peer read, what the wire carried, how an operation
/// completed) is gathered by `CaseRun`, from outside the provider.
enum Judge {
    /// Whether a call's result is the expected one. A receive's 0 bytes is end-of-stream, not success.
    static func matches(_ result: Result<CallOutcome.Value, SocketError>, _ expected: CallExpectation, zeroIsEndOfStream: Bool) -> Bool {
        switch (result, expected) {
        case (.success(.count(0)), .endOfStream): return zeroIsEndOfStream
        case (.success(.count(0)), .ok): return !zeroIsEndOfStream
        case (.success(.count(let count)), .partial): return count > 0
        case (.success, .ok): return true
        case (.failure(let error), .error(let wanted)): return error == wanted
        case (_, .oneOf(let choices)): return choices.contains { matches(result, $0, zeroIsEndOfStream: zeroIsEndOfStream) }
        default: return false
        }
    }

    /// A provider call against its step: what it returned, and when, counted from `reference` (the call itself,
    /// or for a pending call the main-thread step that ended it).
    static func call(
        _ outcome: CallOutcome, of step: Step, expected: CallExpectation, reference: ContinuousClock.Instant, tolerances: Tolerances
    ) -> [String] {
        var findings: [String] = []
        if case .success(let value) = outcome.result, let finding = step.action.judgeValue(value) { findings.append(finding) }
        if !matches(outcome.result, expected, zeroIsEndOfStream: step.action.zeroIsEndOfStream) {
            findings.append("\(step.action.name) expected \(expected); got \(outcome.summary)")
        }
        if let timing = step.timing {
            let elapsed = outcome.returnedAt - reference
            let ok: Bool =
                switch timing {
                case .atOnce: elapsed <= tolerances.atOnce
                case .about(let target): tolerances.isAbout(elapsed, target)
                case .within(let limit): elapsed <= limit
                }
            if !ok { findings.append("\(step.action.name) expected to return \(timing); it took \(format(elapsed))") }
        }
        return findings
    }

    /// What a peer read, and how its reading ended, against the bytes the subject accepted (`accepted`).
    static func peer(_ expectation: PeerExpectation, read bytes: [UInt8], ending: Ending, accepted target: Int) -> [String] {
        var findings: [String] = []
        let intact = bytes.count <= target && Payload.matches(bytes)
        switch expectation.read {
        case .accepted?:
            if bytes.count != target || !intact {
                findings.append(
                    "expected the peer to read all \(target) accepted bytes intact; it read \(bytes.count)\(intact ? "" : ", not intact")")
            }
        case .prefix?:
            if bytes.count > target {
                findings.append(
                    "expected the peer to read an intact prefix of the \(target) accepted bytes; it read \(bytes.count), more than were accepted"
                )
            } else if !intact {
                findings.append(
                    "expected the peer to read an intact prefix of the \(target) accepted bytes; its \(bytes.count) bytes differ")
            }
        case .exactly(let count)?:
            if bytes.count != count || !intact {
                findings.append("expected the peer to read \(count) bytes intact; it read \(bytes.count)")
            }
        case .none?:
            if !bytes.isEmpty { findings.append("expected the peer to read nothing; it read \(bytes.count) bytes") }
        case nil:
            break
        }
        if let wanted = expectation.ending, wanted != ending {
            findings.append(
                "expected the peer's reading to end with \(wanted.rawValue); it ended with \(ending.rawValue) after \(bytes.count) bytes")
        }
        return findings
    }

    /// What one side put on the wire (`seen`, nil when the capture holds none of its segments), against the
    /// bytes the subject accepted: a FIN at N+1, an RST, or neither.
    static func wire(_ expectation: WireExpectation, _ seen: DirectionFacts?, accepted: Int) -> [String] {
        guard let seen else { return ["the capture holds no segment of the \(expectation.side) on connection \(expectation.connection)"] }
        var findings: [String] = []
        let n = Int64(accepted)
        let observed = describe(seen)
        let discarded = n > seen.bytesSent ? ", \(n - seen.bytesSent) queued bytes discarded" : ""
        switch expectation.fin {
        case .afterAccepted?:
            if seen.fin?.sequence != n + 1 || !seen.resets.isEmpty && expectation.rst == WireExpectation.Reset.none
                || seen.fin?.followsAllData != true
            {
                findings.append("expected FIN at seq \(n + 1) after \(n) bytes; saw \(observed)\(discarded)")
            }
        case .present?:
            if seen.fin == nil { findings.append("expected a FIN from the \(expectation.side); saw \(observed)") }
        case .none?:
            if let fin = seen.fin { findings.append("expected no FIN from the \(expectation.side); saw FIN at seq \(fin.sequence)") }
        case nil:
            break
        }
        switch expectation.rst {
        case .none?:
            if let reset = seen.resets.first {
                findings.append("expected no RST from the \(expectation.side); saw RST at seq \(reset.sequence)\(discarded)")
            }
        case .present?:
            if seen.resets.isEmpty { findings.append("expected an RST from the \(expectation.side); saw \(observed)") }
        case .afterFin?:
            if seen.resets.isEmpty || seen.fin == nil || !(seen.resets.first?.afterOwnFin ?? false) {
                findings.append("expected an RST after the \(expectation.side)'s FIN; saw \(observed)")
            }
        case nil:
            break
        }
        return findings
    }

    /// How an asynchronous operation completed (nil: it never did) against its expected result.
    static func operation(_ expectation: OperationExpectation, _ completion: HandleRegistry.Completion?) -> [String] {
        guard let completion else { return ["asynchronous \(expectation.operation) never completed"] }
        let ok: Bool =
            switch (completion.result, expectation.result) {
            case (.failed(let error), .error(let wanted)): error == wanted
            case (.failed(let error), .oneOf(let wanted)): wanted.contains(.error(error))
            case (.failed, _): false
            case (.received(let bytes), .endOfStream): bytes.isEmpty
            case (_, .ok): true
            default: false
            }
        guard !ok else { return [] }
        return [
            "asynchronous \(expectation.operation) expected to complete with \(expectation.result); it completed with \(completion.result)"
        ]
    }

    /// With faults injected, the subject's FIN must still sit at N+1 of the bytes send reported accepted: bytes
    /// accepted = bytes on the wire before the FIN.
    static func faultInvariant(_ direction: DirectionFacts, accepted: Int) -> [String] {
        guard let fin = direction.fin else { return [] }
        let n = Int64(accepted)
        guard fin.sequence != n + 1 || direction.bytesSent != n else { return [] }
        return [
            "with faults injected, send reported \(n) bytes accepted but the wire carried \(direction.bytesSent) before the FIN at seq \(fin.sequence)"
        ]
    }

    /// Nothing from the subject on the wire: `seen` is its direction when a FIN or RST showed within the settle time.
    static func quiet(_ seen: DirectionFacts?) -> [String] {
        seen.map { ["expected nothing from the subject on the wire; saw \(describe($0))"] } ?? []
    }

    /// How a direction ended, in words: "FIN at seq 65537", "RST at seq 1048577", "neither FIN nor RST".
    static func describe(_ direction: DirectionFacts) -> String {
        var parts: [String] = []
        if let fin = direction.fin { parts.append("FIN at seq \(fin.sequence)") }
        for reset in direction.resets { parts.append("RST at seq \(reset.sequence)") }
        return parts.isEmpty ? "neither FIN nor RST" : parts.joined(separator: ", ")
    }

    static func format(_ duration: Duration) -> String { String(format: "%.3f s", duration.seconds) }
}
