import ProviderInterface
import WireAnalysis
import Yams

/// One kind of step of the scenario language, described in one place: its keyword and how it is parsed, the
/// words `explain` gives it, what the load-time check learns from it, how it runs and how the ladder draws it.
/// A new kind is a new type conforming to this, plus its line in `StepKinds.all`; the parser, `explain`, the
/// check, the runner and the ladder find it there.
protocol StepKind: Sendable, Codable {
    /// The step's key in a case file (`send`, `peer-close`, `wait`...).
    static var keyword: String { get }
    /// Reads the step from its argument and the step's other keys; may name the handle from its argument.
    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self

    /// What the step does, in `teardown explain`'s words (the handle, thread and expectation are added after).
    func explain(_ step: Step) -> String
    /// Whether it is a call on the subject handle the step names.
    var usesHandle: Bool { get }
    /// What the load-time check learns from the step (names it makes) and what it needs (names made earlier).
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError)
    /// Runs the step in the case.
    func perform(_ step: Step, in run: CaseRun) throws

    /// For a provider call: the handle it names, the operation it starts, and what its result adds to the case.
    var newHandle: String? { get }
    var newOperation: String? { get }
    /// For a provider call: whether the bytes it reports are bytes the subject accepted to send.
    var addsToAccepted: Bool { get }
    /// For a provider call: whether 0 bytes is the end of the stream rather than a transfer of nothing.
    var zeroIsEndOfStream: Bool { get }
    /// For a provider call: a finding about what a successful call returned, beyond the expected result.
    func judgeValue(_ value: CallOutcome.Value) -> String?
    /// For a provider call: its words in the ladder.
    func callText(_ step: Step) -> String
    /// For anything else: its note in the ladder (side and words), nil for none.
    func ladderNote(_ step: Step) -> (lane: LadderEvent.Lane, text: String)?
}

extension StepKind {
    var name: String { Self.keyword }
    var newHandle: String? { nil }
    var newOperation: String? { nil }
    var addsToAccepted: Bool { false }
    var zeroIsEndOfStream: Bool { false }
    func judgeValue(_ value: CallOutcome.Value) -> String? { nil }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) {}
    func callText(_ step: Step) -> String { "\(name) on \(step.handle)" }
    func ladderNote(_ step: Step) -> (lane: LadderEvent.Lane, text: String)? { nil }
}

/// Every kind of step, in the order `explain` and the errors list them.
enum StepKinds {
    static let all: [any StepKind.Type] = [
        SocketStep.self, ListenStep.self, AcceptStep.self, ConnectStep.self, SendStep.self, FillStep.self, ReceiveStep.self,
        CloseStep.self, ShutdownStep.self, LingerStep.self, DontLingerStep.self, GetLingerStep.self, BlockingStep.self,
        DuplicateStep.self, StartReceiveStep.self, StartSendStep.self, StartAcceptStep.self, EveryCallStep.self, ChurnStep.self,
        PeerSendStep.self, PeerReadStep.self, PeerCloseStep.self, PeerShutdownStep.self, PeerConnectStep.self, WaitStep.self,
        WireQuietStep.self, CleanupStep.self, BufferUntouchedStep.self, ReleaseStep.self,
    ]

    static let byKeyword: [String: any StepKind.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.keyword, $0) })
}

/// What a step's parser sees: the argument of its keyword and the step's other keys.
struct StepSyntax {
    let reader: NodeReader
    /// The whole step, for errors about it.
    let node: Node
    let keyword: String
    let argument: Node
    let extra: [String: Node]
    /// The handle the step names: `handle:`, else the setup's (`s`, or `l` when listening); a kind whose argument
    /// is the handle sets it.
    var handle: String
    /// `peer:`, else the main peer.
    let peer: String

    func string(_ what: String) throws(CaseFileError) -> String { try reader.string(argument, what) }
    func size(_ what: String) throws(CaseFileError) -> Int { try reader.size(argument, what) }
    func bool(_ what: String) throws(CaseFileError) -> Bool { try reader.bool(argument, what) }
    func fail(_ message: String) -> CaseFileError { reader.fail(argument, message) }

    /// The name `as:` gives what the step makes.
    func named(_ what: String) throws(CaseFileError) -> String {
        guard let node = extra["as"] else { throw reader.fail(self.node, "'\(keyword)' needs 'as: NAME' for the \(what) it makes") }
        return try reader.string(node, "the name")
    }

    /// `bytes:`, else `value`.
    func bytes(default value: Int) throws(CaseFileError) -> Int {
        try extra["bytes"].map { node throws(CaseFileError) in try reader.size(node, "the byte count") } ?? value
    }

    /// The argument as the handle the step names.
    mutating func handleArgument(_ what: String) throws(CaseFileError) {
        handle = try reader.string(argument, what)
    }
}
