public import FaultInjection
public import Harness
public import ProviderInterface

/// How strict a case is: what a violation of it makes.
public enum Level: String, Sendable, Codable, Comparable {
    /// A MUST statement: a violation is a failure.
    case must
    /// A SHOULD statement: a violation is a non-strict result.
    case should
    /// Behaviour recorded, nothing required.
    case info

    public static func < (lhs: Level, rhs: Level) -> Bool {
        let order: [Level] = [.info, .should, .must]
        return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
    }
}

/// A normative statement of SPEC.md.
public struct Statement: Sendable, Codable, Equatable {
    public var id: String
    public var level: Level
    public var text: String

    public init(id: String, level: Level, text: String) {
        self.id = id
        self.level = level
        self.text = text
    }
}

/// Where something was written: for error messages that name the file and line.
public struct SourceLocation: Sendable, Codable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// A scenario file before its matrix is expanded.
public struct Case: Sendable {
    public var id: String
    public var title: String
    public var statements: [String]
    public var level: Level
    public var requires: ProviderCapabilities
    public var requirementNames: [String]
    public var why: String?
    /// Run alone, after the concurrent cases: the case names released handles, whose values another case's sockets may reuse.
    public var exclusive: Bool
    public var location: SourceLocation
    public var instances: [CaseInstance]
}

/// One instance of a case: its matrix values substituted, ready to run.
public struct CaseInstance: Sendable {
    /// The case's id, plus the matrix values in brackets: `linger.graceful[payload=4MiB,role=server]`.
    public var id: String
    public var caseID: String
    public var title: String
    public var statements: [String]
    public var level: Level
    public var requires: ProviderCapabilities
    public var requirementNames: [String]
    public var why: String?
    public var exclusive: Bool
    public var parameters: [(name: String, value: String)]
    public var setup: Setup
    public var peer: PeerBehaviour
    public var steps: [Step]
    /// The case's own fault plan (empty for most).
    public var faults: FaultPlan
    public var expect: FinalExpectations
    public var location: SourceLocation
}

/// An instance is coded whole for a worker process, which runs it as it is.
extension CaseInstance: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, caseID, title, statements, level, requires, requirementNames, why, exclusive, parameters, setup, peer, steps, faults
        case expect, location
    }

    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        id = try values.decode(String.self, forKey: .id)
        caseID = try values.decode(String.self, forKey: .caseID)
        title = try values.decode(String.self, forKey: .title)
        statements = try values.decode([String].self, forKey: .statements)
        level = try values.decode(Level.self, forKey: .level)
        requires = try values.decode(ProviderCapabilities.self, forKey: .requires)
        requirementNames = try values.decode([String].self, forKey: .requirementNames)
        why = try values.decodeIfPresent(String.self, forKey: .why)
        exclusive = try values.decode(Bool.self, forKey: .exclusive)
        parameters = try values.decode([[String]].self, forKey: .parameters).map { pair in
            guard pair.count == 2 else {
                throw DecodingError.dataCorruptedError(forKey: .parameters, in: values, debugDescription: "a parameter is [name, value]")
            }
            return (pair[0], pair[1])
        }
        setup = try values.decode(Setup.self, forKey: .setup)
        peer = try values.decode(PeerBehaviour.self, forKey: .peer)
        steps = try values.decode([Step].self, forKey: .steps)
        faults = try values.decode(FaultPlan.self, forKey: .faults)
        expect = try values.decode(FinalExpectations.self, forKey: .expect)
        location = try values.decode(SourceLocation.self, forKey: .location)
    }

    public func encode(to encoder: any Encoder) throws {
        var values = encoder.container(keyedBy: CodingKeys.self)
        try values.encode(id, forKey: .id)
        try values.encode(caseID, forKey: .caseID)
        try values.encode(title, forKey: .title)
        try values.encode(statements, forKey: .statements)
        try values.encode(level, forKey: .level)
        try values.encode(requires, forKey: .requires)
        try values.encode(requirementNames, forKey: .requirementNames)
        try values.encodeIfPresent(why, forKey: .why)
        try values.encode(exclusive, forKey: .exclusive)
        try values.encode(parameters.map { [$0.name, $0.value] }, forKey: .parameters)
        try values.encode(setup, forKey: .setup)
        try values.encode(peer, forKey: .peer)
        try values.encode(steps, forKey: .steps)
        try values.encode(faults, forKey: .faults)
        try values.encode(expect, forKey: .expect)
        try values.encode(location, forKey: .location)
    }
}

/// What exists when the steps begin.
public struct Setup: Sendable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// A connection between subject handle `s` and the peer `peer`.
        case connected
        /// A subject handle `l` listening; peers connect with `peer-connect`.
        case listening
        /// Nothing: the steps create what they need.
        case none
    }

    public var kind: Kind = .connected
    public var role: Role = .client
    public var family: SocketAddress.Family = .ipv4
    public var subjectSendBuffer: Int?
    public var backlog = 4
}

/// How the harness's peer reads.
public struct PeerBehaviour: Sendable, Codable {
    public enum Reading: Sendable, Equatable, Codable {
        /// Reads everything as it arrives.
        case atOnce
        /// Reads `chunk` bytes, then waits `pause`: a slow reader.
        case slowly(chunk: Int, pause: Duration)
        /// Reads only when a step says so.
        case never
    }

    public var reads: Reading = .atOnce
    public var receiveBuffer: Int?
}

/// A named thread's call or a harness action, in order.
public struct Step: Sendable {
    /// What the step does: its kind, with everything about it (see `StepKind`).
    var action: any StepKind
    /// The subject handle it names.
    public var handle: String
    /// The thread that makes the call; `main` waits for it, any other leaves it running.
    public var thread: String
    public var expect: CallExpectation?
    public var timing: Timing?
    public var line: Int

    public var isMain: Bool { thread == "main" }

    /// The step's keyword in the scenario language (`send`, `wait`...).
    public var name: String { action.name }

    /// What the step does, in `teardown explain`'s words.
    public var words: String { action.explain(self) }
}

/// A step is coded with its kind's keyword, so that a worker process gets the same kind back.
extension Step: Codable {
    private enum CodingKeys: String, CodingKey {
        case kind, action, handle, thread, expect, timing, line
    }

    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        let keyword = try values.decode(String.self, forKey: .kind)
        guard let kind = StepKinds.byKeyword[keyword] else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: values, debugDescription: "no step kind '\(keyword)'")
        }
        action = try kind.init(from: values.superDecoder(forKey: .action))
        handle = try values.decode(String.self, forKey: .handle)
        thread = try values.decode(String.self, forKey: .thread)
        expect = try values.decodeIfPresent(CallExpectation.self, forKey: .expect)
        timing = try values.decodeIfPresent(Timing.self, forKey: .timing)
        line = try values.decode(Int.self, forKey: .line)
    }

    public func encode(to encoder: any Encoder) throws {
        var values = encoder.container(keyedBy: CodingKeys.self)
        try values.encode(action.name, forKey: .kind)
        try action.encode(to: values.superEncoder(forKey: .action))
        try values.encode(handle, forKey: .handle)
        try values.encode(thread, forKey: .thread)
        try values.encodeIfPresent(expect, forKey: .expect)
        try values.encodeIfPresent(timing, forKey: .timing)
        try values.encode(line, forKey: .line)
    }
}

/// Where a `connect` step goes.
public enum ConnectTarget: String, Sendable, Codable {
    /// A harness listener that accepts.
    case peer
    /// A harness listener whose accept queue is full: the connect stays in progress until the step's thread is woken.
    case stalled
}

/// An event a `wait` step waits for; every wait has a deadline.
public enum Wait: Sendable, Codable {
    /// The call on this thread is pending inside the provider (asleep in a system call).
    case pending(thread: String)
    /// The call on this thread has returned.
    case returned(thread: String)
    /// The peer has read at least this many bytes (nil: every byte accepted so far).
    case peerRead(peer: String, bytes: Int?)
    /// The peer's reading ended this way.
    case peerEnding(peer: String, ending: Ending)
    /// This asynchronous operation has completed.
    case completed(operation: String)
    /// The peer's kernel acknowledged every byte the subject accepted (seen on the wire).
    case acknowledged
    /// The subject's kernel acknowledged every byte the peer sent (seen on the wire).
    case delivered
    /// The provider released the handle through the upcalls (a provider whose handles come from the harness).
    case released(handle: String)
}

/// What a call must return.
public enum CallExpectation: Sendable, Equatable, Codable, CustomStringConvertible {
    case ok
    case error(SocketError)
    /// A receive that returns end-of-stream (0 bytes).
    case endOfStream
    /// A send or receive that returns success with at least one byte: a call that made progress before it was ended.
    case partial
    /// Any one of several results.
    case oneOf([CallExpectation])

    public var description: String {
        switch self {
        case .ok: "success"
        case .error(let error): error.name
        case .endOfStream: "end-of-stream"
        case .partial: "success with some bytes"
        case .oneOf(let results): results.map(\.description).joined(separator: " or ")
        }
    }
}

/// When a call must return, measured from the call (or, for a pending call, from the step that ended it).
public enum Timing: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Within the "at once" tolerance.
    case atOnce
    /// "About t": between t minus the early tolerance and t plus the late one.
    case about(Duration)
    /// No later than this.
    case within(Duration)

    public var description: String {
        switch self {
        case .atOnce: "at once"
        case .about(let duration): "after about \(duration)"
        case .within(let duration): "within \(duration)"
        }
    }
}

/// What must hold when the steps are done.
public struct FinalExpectations: Sendable, Codable {
    public var peers: [PeerExpectation] = []
    public var wire: [WireExpectation] = []
    public var operations: [OperationExpectation] = []
}

/// What a peer read.
public struct PeerExpectation: Sendable, Codable {
    public enum Amount: Sendable, Equatable, Codable {
        /// Every byte `send` accepted.
        case accepted
        /// A prefix, possibly empty, of the accepted bytes.
        case prefix
        case exactly(Int)
        case none
    }

    public var peer: String
    public var read: Amount?
    public var ending: Ending?
    public var line: Int
}

/// What one side put on the wire.
public struct WireExpectation: Sendable, Codable {
    public enum Fin: Sendable, Equatable, Codable {
        /// At N+1, where N is the total of the byte counts `send` accepted.
        case afterAccepted
        case none
        case present
    }

    public enum Reset: Sendable, Equatable, Codable {
        case none
        case present
        /// Present, and after the side's FIN.
        case afterFin
    }

    /// `subject` or a peer's name.
    public var side: String
    /// Which connection: a peer's name (the main connection is `peer`).
    public var connection: String
    public var fin: Fin?
    public var rst: Reset?
    public var line: Int
}

/// How an asynchronous operation must complete.
public struct OperationExpectation: Sendable, Codable {
    public var operation: String
    public var result: CallExpectation
    public var line: Int
}
