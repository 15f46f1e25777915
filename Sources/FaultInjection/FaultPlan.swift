public import ProviderInterface

/// The provider operations a fault rule can name, and the errors each can really return.
public enum FaultOperation: String, Sendable, CaseIterable, Codable {
    case socket, bind, listen, accept, connect, send, receive, shutdown, close, option, setOption, duplicate, setBlocking
    case startSend, startReceive, startAccept

    /// The errors this operation can return (the WSP* documentation's lists, less the ones that only a
    /// misuse by the caller provokes); a plan that injects any other is rejected when it is loaded.
    public var possibleErrors: Set<SocketError> {
        let always: Set<SocketError> = [.networkDown, .interrupted, .notSocket]
        switch self {
        case .socket: return [.networkDown, .addressFamilyNotSupported, .tooManySockets, .noBuffers]
        case .bind: return always.union([.addressInUse, .addressNotAvailable, .invalidArgument, .noBuffers])
        case .listen: return always.union([.addressInUse, .invalidArgument, .noBuffers, .operationNotSupported])
        case .accept: return always.union([.connectionReset, .invalidArgument, .tooManySockets, .noBuffers, .wouldBlock])
        case .connect:
            return always.union([
                .addressInUse, .alreadyInProgress, .addressNotAvailable, .connectionRefused, .alreadyConnected, .networkUnreachable,
                .hostUnreachable, .noBuffers, .timedOut, .wouldBlock,
            ])
        case .send, .startSend:
            return always.union([
                .connectionAborted, .connectionReset, .noBuffers, .notConnected, .shutdown, .timedOut, .wouldBlock, .operationAborted,
            ])
        case .receive, .startReceive:
            return always.union([.connectionAborted, .connectionReset, .notConnected, .shutdown, .timedOut, .wouldBlock, .operationAborted])
        case .shutdown: return always.union([.invalidArgument, .notConnected])
        case .close: return always.union([.wouldBlock])
        case .option, .setOption: return always.union([.invalidArgument])
        case .duplicate: return always.union([.invalidArgument, .tooManySockets, .noBuffers])
        case .setBlocking: return always.union([.invalidArgument])
        case .startAccept: return always.union([.connectionReset, .invalidArgument, .tooManySockets, .noBuffers, .operationAborted])
        }
    }

    /// Whether the operation moves bytes, so that a rule can make it transfer fewer.
    public var transfers: Bool { self == .send || self == .receive }
}

/// A fault plan: rules tried in order on every call; the first that matches acts.
public struct FaultPlan: Sendable, Codable {
    public var rules: [FaultRule]

    public init(rules: [FaultRule] = []) { self.rules = rules }

    public var isEmpty: Bool { rules.isEmpty }
}

/// One rule: which calls, when, and what to do to them.
public struct FaultRule: Sendable, Codable {
    /// When, among the calls the rule matches, it acts.
    public enum When: Sendable, Equatable, Codable {
        case always
        /// The nth matching call (1-based).
        case nth(Int)
        /// Calls from, through to (inclusive, nil for no end), every step-th.
        case range(from: Int, to: Int?, step: Int)
        /// Each matching call with this probability, drawn from the run's seeded generator.
        case probability(Double)
    }

    /// What the rule does.
    public enum Action: Sendable, Equatable, Codable {
        /// Waits before the call reaches the provider; a close of the handle meanwhile ends the call with `interrupted`.
        case delayOnEntry(Duration)
        /// Waits after the provider returned, before the result reaches the caller; a close meanwhile makes it `interrupted`.
        case delayOnExit(Duration)
        /// Fails at once with this error, without calling the provider.
        case fail(SocketError)
        /// Passes at most this many bytes to the provider's send or receive.
        case short(Int)
        /// Keeps the call pending until the case releases the gate (or the handle is closed: `interrupted`).
        case hold(gate: String)
        /// Closes the handle from another thread while the call is pending inside the provider.
        case closeWhilePending
        /// Closes the handle from another thread once sends on it have accepted at least this many bytes in all.
        case closeAfterBytes(Int)
    }

    /// A glob over operation names (`send`, `recv*`, `*`).
    public var operations: String
    /// The handle, by the name a case gives it; nil for any.
    public var handle: String?
    public var when: When
    public var action: Action
    /// Where the rule was written, for the fault log.
    public var source: String

    public init(operations: String, handle: String? = nil, when: When = .always, action: Action, source: String) {
        self.operations = operations
        self.handle = handle
        self.when = when
        self.action = action
        self.source = source
    }
}
