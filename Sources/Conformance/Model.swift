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

/// What exists when the steps begin.
public struct Setup: Sendable {
    public enum Kind: String, Sendable {
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
public struct PeerBehaviour: Sendable {
    public enum Reading: Sendable, Equatable {
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
    public var action: Action
    /// The subject handle it names.
    public var handle: String
    /// The thread that makes the call; `main` waits for it, any other leaves it running.
    public var thread: String
    public var expect: CallExpectation?
    public var timing: Timing?
    public var line: Int

    public var isMain: Bool { thread == "main" }
}

/// What a step does.
public enum Action: Sendable {
    case socket(as: String)
    case listen
    case accept(as: String)
    case connect(to: ConnectTarget)
    case send(bytes: Int)
    /// Sends without blocking until the provider would block, or `limit` bytes.
    case fill(limit: Int?)
    case receive(bytes: Int)
    case close
    case shutdown(Int32)
    case setLinger(Linger)
    case setLingerRaw(on: Bool, seconds: Int)
    /// `SO_DONTLINGER`: true turns linger off and keeps the timeout.
    case dontLinger(Bool)
    case getLinger(expected: Linger)
    case setBlocking(Bool)
    case duplicate(as: String)
    case startReceive(as: String, bytes: Int)
    case startSend(as: String, bytes: Int)
    case startAccept(as: String)
    /// Every call on the handle (send, receive, shutdown, options, duplicate, close), each expected to fail the same way.
    case everyCall
    /// Creates this many sockets and keeps them open until the case ends.
    case churn(Int)
    /// Runs the provider's cleanup now (the end of the case then only audits).
    case cleanup
    /// The buffer of the receive made on this thread still holds only what the call returned.
    case bufferUntouched(thread: String)
    /// Releases the calls a fault plan holds on this gate.
    case release(gate: String)
    case peerSend(peer: String, bytes: Int)
    case peerRead(peer: String, bytes: Int?)
    /// The peer reads until it has every byte accepted so far.
    case peerReadAccepted(peer: String)
    case peerClose(peer: String, abortive: Bool)
    case peerShutdown(peer: String)
    case peerConnect(as: String)
    case wait(Wait)
    /// Nothing from the subject reaches the wire (no FIN, no RST) within the settle time.
    case wireQuiet

    /// The name in the scenario language.
    public var name: String {
        switch self {
        case .socket: "socket"
        case .listen: "listen"
        case .accept: "accept"
        case .connect: "connect"
        case .send: "send"
        case .fill: "fill"
        case .receive: "receive"
        case .close: "close"
        case .shutdown: "shutdown"
        case .setLinger, .setLingerRaw: "linger"
        case .dontLinger: "dont-linger"
        case .getLinger: "get-linger"
        case .setBlocking: "blocking"
        case .duplicate: "duplicate"
        case .startReceive: "start-receive"
        case .startSend: "start-send"
        case .startAccept: "start-accept"
        case .everyCall: "every-call"
        case .churn: "churn"
        case .peerSend: "peer-send"
        case .peerRead, .peerReadAccepted: "peer-read"
        case .peerClose: "peer-close"
        case .peerShutdown: "peer-shutdown"
        case .peerConnect: "peer-connect"
        case .wait: "wait"
        case .wireQuiet: "wire-quiet"
        case .cleanup: "cleanup"
        case .bufferUntouched: "buffer-untouched"
        case .release: "release"
        }
    }
}

/// Where a `connect` step goes.
public enum ConnectTarget: String, Sendable {
    /// A harness listener that accepts.
    case peer
    /// A harness listener whose accept queue is full: the connect stays in progress until the step's thread is woken.
    case stalled
}

/// An event a `wait` step waits for; every wait has a deadline.
public enum Wait: Sendable {
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

/// How a stream of bytes ended for a reader.
public enum Ending: String, Sendable, Codable {
    case endOfStream = "end-of-stream"
    case reset
    case open
}

/// What a call must return.
public enum CallExpectation: Sendable, Equatable, CustomStringConvertible {
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
public enum Timing: Sendable, Equatable, CustomStringConvertible {
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
public struct FinalExpectations: Sendable {
    public var peers: [PeerExpectation] = []
    public var wire: [WireExpectation] = []
    public var operations: [OperationExpectation] = []
}

/// What a peer read.
public struct PeerExpectation: Sendable {
    public enum Amount: Sendable, Equatable {
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
public struct WireExpectation: Sendable {
    public enum Fin: Sendable, Equatable {
        /// At N+1, where N is the total of the byte counts `send` accepted.
        case afterAccepted
        case none
        case present
    }

    public enum Reset: Sendable, Equatable {
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
public struct OperationExpectation: Sendable {
    public var operation: String
    public var result: CallExpectation
    public var line: Int
}
