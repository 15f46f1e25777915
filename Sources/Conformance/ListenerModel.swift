public import Harness
import ProviderInterface

/// The model of SPEC.md for a listening socket: its handles (duplicates closed in any order), connections queued
/// and not accepted, a connection accepted before the close, accepts pending in other threads or asynchronously,
/// and a connect pending on a socket of its own. It predicts what each call returns, how each pending operation
/// ends, and for every peer what it reads, how its reading ends and what the wire carries.
extension SpecModel {
    /// What one connection's peer sees: written for each peer of a listener's scenario.
    public struct PeerOutcome: Sendable, Equatable {
        public var read: PeerExpectation.Amount
        public var ending: Ending
        public var fin: WireExpectation.Fin
        public var rst: WireExpectation.Reset
        /// Bytes the subject accepted on the connection.
        public var accepted: Int

        static let reset = PeerOutcome(read: .none, ending: .reset, fin: .none, rst: .present, accepted: 0)
    }

    private struct ListenerState {
        var open: [String: Bool]
        var listeners: Set<String>
        /// Peers connected and not accepted, oldest first.
        var queue: [String] = []
        /// Accepted handles, with their peer and the bytes sent through them.
        var accepted: [String: (peer: String, bytes: Int)] = [:]
        var pending: [Pending] = []
        var listenerOpen: Bool { listeners.contains { open[$0] == true } }
    }

    static func predictListening(_ instance: CaseInstance) throws(Outside) -> Prediction {
        // A listening setup starts with handle l; an empty one with nothing.
        let listening = instance.setup.kind == .listening
        var state = ListenerState(open: listening ? ["l": true] : [:], listeners: listening ? ["l"] : [])
        var prediction = Prediction()
        for (index, step) in instance.steps.enumerated() {
            try applyListening(step, index: index, &state, &prediction)
        }
        if let open = state.open.filter({ $0.value }).keys.sorted().first {
            throw Outside("handle \(open) is still open when the steps end")
        }
        if let left = state.pending.first { throw Outside("\(left.name) is still pending when the steps end") }
        return prediction
    }

    private static func applyListening(_ step: Step, index: Int, _ state: inout ListenerState, _ prediction: inout Prediction)
        throws(Outside)
    {
        let action = step.action
        if action.usesHandle {
            guard let open = state.open[step.handle] else { throw Outside("line \(step.line): handle \(step.handle) is unknown") }
            guard open else {
                prediction.results[index] = .error(.notSocket)
                prediction.statements.insert("CLOSE-2")
                return
            }
        }
        let isListener = state.listeners.contains(step.handle)
        switch action {
        case let connect as PeerConnectStep:
            guard state.listenerOpen, !state.pending.contains(where: { $0.kind == .accept || $0.kind == .asyncAccept }) else {
                throw Outside("line \(step.line): a peer connecting to a closed listener or to a pending accept")
            }
            state.queue.append(connect.name)
        case let accept as AcceptStep:
            guard isListener else { throw Outside("line \(step.line): accept on a connected handle") }
            if step.isMain {
                guard !state.queue.isEmpty else { throw Outside("line \(step.line): an accept with nothing queued") }
                state.accepted[accept.name] = (state.queue.removeFirst(), 0)
                state.open[accept.name] = true
                prediction.results[index] = .ok
            } else {
                guard state.queue.isEmpty else { throw Outside("line \(step.line): a pending accept with a connection queued") }
                state.pending.append(Pending(kind: .accept, name: step.thread, handle: step.handle, index: index, bytes: 0))
            }
        case let start as StartAcceptStep:
            guard isListener, state.queue.isEmpty else { throw Outside("line \(step.line): an asynchronous accept that can complete") }
            state.pending.append(Pending(kind: .asyncAccept, name: start.operation, handle: step.handle, index: index, bytes: 0))
            prediction.results[index] = .ok
        case let duplicate as DuplicateStep:
            guard isListener, state.open[duplicate.name] == nil else { throw Outside("line \(step.line): a duplicate of a connection") }
            state.open[duplicate.name] = true
            state.listeners.insert(duplicate.name)
            prediction.results[index] = .ok
        case let socket as SocketStep:
            guard state.open[socket.name] == nil else { throw Outside("line \(step.line): a handle name used twice") }
            state.open[socket.name] = true
        case let connect as ConnectStep:
            guard !step.isMain, connect.target == .stalled else { throw Outside("line \(step.line): a connect that completes") }
            state.pending.append(Pending(kind: .connect, name: step.thread, handle: step.handle, index: index, bytes: 0))
        case let send as SendStep:
            guard let connection = state.accepted[step.handle] else { throw Outside("line \(step.line): a send on \(step.handle)") }
            state.accepted[step.handle] = (connection.peer, connection.bytes + send.bytes)
            prediction.results[index] = .ok
        case is CloseStep:
            state.open[step.handle] = false
            prediction.results[index] = .ok
            prediction.timings[index] = .atOnce
            prediction.statements.insert("CLOSE-1")
            if isListener && state.listenerOpen && state.pending.contains(where: { $0.handle == step.handle }) {
                // Another listening handle keeps the socket open: only this handle's calls are aborted (SHARE-5).
                prediction.statements.insert("SHARE-5")
            }
            abort(pendingOn: step.handle, &state.pending, &prediction)
            if let connection = state.accepted[step.handle] {
                // A connection accepted before its listener was closed lives on, and closes gracefully (LISTEN-2).
                prediction.others[connection.peer] = PeerOutcome(
                    read: .accepted, ending: .endOfStream, fin: .afterAccepted, rst: .none, accepted: connection.bytes)
                prediction.statements.insert("LISTEN-2")
            } else if isListener && !state.listenerOpen {
                // The last listening handle: every connection still queued is reset (LISTEN-1).
                for peer in state.queue { prediction.others[peer] = .reset }
                if !state.queue.isEmpty { prediction.statements.insert("LISTEN-1") }
                state.queue = []
            } else if isListener {
                prediction.statements.formUnion(["SHARE-1", "SHARE-2"])
            }
        case let wait as WaitStep:
            try checkWait(wait.event, state.pending, step)
        default:
            throw Outside("line \(step.line): step \(action.name) on a listener")
        }
    }
}
