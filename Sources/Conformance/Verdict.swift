public import WireAnalysis

/// The outcome of one case instance.
public enum Verdict: String, Sendable, Codable, CaseIterable {
    /// Every expectation held.
    case pass
    /// A MUST statement was violated.
    case fail
    /// A SHOULD statement was violated.
    case nonStrict = "non-strict"
    /// Behaviour recorded; nothing was required.
    case informational
    /// Not run: a capability the provider lacks, or a privilege the run lacks.
    case skipped
    /// The harness or the environment failed (capture, watchdog, peer): neither a pass nor a fail.
    case error

    /// The verdict of a case that ran to its end with findings at these levels: the strictest decides; none
    /// is a pass (informational for a case that requires nothing).
    static func of(_ levels: [Level], caseLevel: Level) -> Verdict {
        guard let strictest = levels.max() else { return caseLevel == .info ? .informational : .pass }
        return switch strictest {
        case .must: .fail
        case .should: .nonStrict
        case .info: .informational
        }
    }
}

/// What a case instance gave.
public struct CaseResult: Sendable, Codable {
    public var id: String
    public var caseID: String
    public var title: String
    public var statements: [String]
    public var level: Level
    public var verdict: Verdict
    /// For a failure, each expectation that did not hold: expected, then what was seen; for a skip or an error, why.
    public var messages: [String]
    /// The case's capture, if it had one.
    public var pcap: String?
    public var seconds: Double
    /// Set when an expectations file lists this result as a known deviation.
    public var expectedDeviation: String?
    /// The faults injected, in order, when the case ran through the fault layer.
    public var faults: [String]?
    /// The case as it ran: the subject's calls, the segments on the wire, the peer's observations, the faults.
    public var ladder: Ladder?

    /// The `error` result that stands for a case file that could not be loaded.
    public static func malformed(_ error: CaseFileError) -> CaseResult {
        CaseResult(
            id: error.location.file, caseID: error.location.file, title: "malformed case file", statements: [], level: .must,
            verdict: .error,
            messages: [error.description], pcap: nil, seconds: 0, expectedDeviation: nil, faults: nil, ladder: nil)
    }

    /// Whether a reader should look at it: an error, a failure, a non-strict result, or a known deviation.
    public var needsAttention: Bool { [.fail, .nonStrict, .error].contains(verdict) || expectedDeviation != nil }

    /// Whether the result makes the provider non-conformant (an unexpected failure).
    public var isUnexpectedFailure: Bool { verdict == .fail && expectedDeviation == nil }
}
