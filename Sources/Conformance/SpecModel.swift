public import Harness
import ProviderInterface

/// An executable model of SPEC.md's close semantics for one connected socket shared by any number of handles:
/// linger (off, 0, a timeout, don't-linger, read back, out of range), duplicates closed in any order, blocking
/// mode, data sent, data left unread, receives pending in other threads and asynchronous operations on any handle,
/// shutdown(send), stale handles, the provider's cleanup, and the peer reading, not reading, or finished. Given a
/// case instance in that domain, it predicts what each call returns and when, how each pending operation ends, how
/// the peer's reading ends and what the wire carries. It is the oracle of `teardown explore`, and it agrees with
/// every hand-written case in its domain (a test holds it to that).
public enum SpecModel {
    /// What the model says about an instance.
    public struct Prediction: Sendable {
        /// Per step (by index): the call's result and timing, where the model knows them.
        public var results: [Int: CallExpectation] = [:]
        public var timings: [Int: Timing] = [:]
        /// Per `get-linger` step: the value it must read back.
        var readBack: [Int: Linger] = [:]
        /// How each asynchronous operation completes.
        public var operations: [String: CallExpectation] = [:]
        /// The statements each prediction rests on.
        public var statements: Set<String> = []
        public var peerRead: PeerExpectation.Amount?
        /// Bytes the subject's sends accepted: with none, reading every accepted byte is reading nothing.
        public var accepted = 0
        public var peerEnding: Ending?
        public var fin: WireExpectation.Fin?
        public var rst: WireExpectation.Reset?
        /// For the peers of a listener's connections (by name): what each sees.
        public var others: [String: PeerOutcome] = [:]
        /// Steps whose outcome depends on timing the scenario does not fix: a prediction is then refused.
        public var undecided: Set<Int> = []
    }

    /// Why an instance is outside the model's domain.
    public struct Outside: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private struct State {
        var open: [String: Bool] = ["s": true]
        var linger = Linger.off
        var blocking = true
        /// Data the subject queued that the peer has not taken in (a fill the peer does not read).
        var stuck = false
        var unread = 0
        var peerFinished = false
        var peerReads: PeerBehaviour.Reading = .atOnce
        /// How the connection ended: nil while it is up.
        var ending: Ending?
        /// A graceful close whose FIN waits behind data the peer has not read.
        var finWaiting = false
        /// Bytes the subject's sends accepted (a fill accepts some).
        var accepted = 0
        /// Accepted data not yet known to be acknowledged by the peer.
        var inFlight = false

        /// Whether shutdown(send) was called: the FIN is out (or queued behind data the peer does not read).
        var shutSent = false
        /// Whether that FIN was queued behind data stuck in the buffers.
        var finBehindStuck = false
        /// Calls and operations not yet ended, in the order they were started.
        var pending: [Pending] = []

        var openCount: Int { open.values.filter { $0 }.count }
    }

    /// A call pending in another thread (a receive, an accept, a connect), or an asynchronous operation.
    struct Pending {
        enum Kind { case receive, asyncReceive, asyncSend, accept, asyncAccept, connect }
        var kind: Kind
        /// The thread's name, or the operation's.
        var name: String
        var handle: String
        var index: Int
        var bytes: Int
    }

    /// The prediction for `instance`, or why it is outside the model.
    public static func predict(_ instance: CaseInstance) throws(Outside) -> Prediction {
        guard instance.faults.rules.isEmpty else { throw Outside("a fault plan") }
        guard instance.setup.kind == .connected else { return try predictListening(instance) }
        var state = State()
        state.peerReads = instance.peer.reads
        var prediction = Prediction()
        for (index, step) in instance.steps.enumerated() {
            guard step.isMain || step.action is ReceiveStep else { throw Outside("line \(step.line): a step on thread \(step.thread)") }
            try apply(step, index: index, &state, &prediction)
        }
        if let step = prediction.undecided.min() {
            throw Outside("line \(instance.steps[step].line): a close whose outcome depends on timing the steps do not fix")
        }
        guard let ending = state.ending else { throw Outside("the socket is still open when the steps end") }
        if let left = state.pending.first { throw Outside("\(left.name) is still pending when the steps end") }
        guard !state.finWaiting else { throw Outside("a FIN left behind data the peer never reads") }
        // A FIN that went out before an abortive close: the peer has read everything and end-of-stream, and the RST
        // follows the FIN (SHUT-2).
        let finFirst = state.shutSent && !state.finBehindStuck
        prediction.accepted = state.accepted
        prediction.peerEnding = finFirst ? .endOfStream : ending
        prediction.peerRead = ending == .reset && !finFirst ? (state.accepted == 0 ? PeerExpectation.Amount.none : .prefix) : .accepted
        prediction.fin = ending == .reset && !finFirst ? WireExpectation.Fin.none : .afterAccepted
        prediction.rst = ending == .reset ? (finFirst ? .afterFin : .present) : WireExpectation.Reset.none
        return prediction
    }

    private static func apply(_ step: Step, index: Int, _ state: inout State, _ prediction: inout Prediction) throws(Outside) {
        let action = step.action
        if action.usesHandle {
            guard let open = state.open[step.handle] else { throw Outside("line \(step.line): handle \(step.handle) is not the socket's") }
            guard open else {
                prediction.results[index] = .error(.notSocket)
                prediction.statements.insert(action is EveryCallStep ? "CLOSE-3" : "CLOSE-2")
                return
            }
        }
        switch action {
        case let linger as LingerStep:
            if linger.raw && !Linger.validSeconds.contains(linger.linger.seconds) {
                // Out of range: refused, and the previous setting stays (LINGER-8).
                prediction.results[index] = .error(.invalidArgument)
                prediction.statements.insert("LINGER-8")
            } else {
                state.linger = linger.linger
                prediction.results[index] = .ok
            }
        case is GetLingerStep:
            // Options belong to the socket, whichever handle reads them (SHARE-3); the timeout survives
            // don't-linger (LINGER-7).
            prediction.results[index] = .ok
            prediction.readBack[index] = state.linger
        case let shutdown as ShutdownStep:
            guard shutdown.direction == 1, !state.shutSent else { throw Outside("line \(step.line): shutdown other than one send") }
            // At once, whatever the linger option; the FIN follows the queued data (SHUT-1).
            state.shutSent = true
            state.finBehindStuck = state.stuck
            // The FIN is in flight until acknowledged, as data is (LINGER-6 waits for it too).
            state.inFlight = true
            prediction.results[index] = .ok
            prediction.timings[index] = .atOnce
            prediction.statements.insert("SHUT-1")
        case let receive as ReceiveStep:
            guard !step.isMain else { throw Outside("line \(step.line): a receive on the main thread") }
            guard state.unread == 0 && !state.peerFinished else { throw Outside("line \(step.line): a receive with data waiting") }
            guard state.blocking else { throw Outside("line \(step.line): a receive on a nonblocking socket") }
            state.pending.append(Pending(kind: .receive, name: step.thread, handle: step.handle, index: index, bytes: receive.bytes))
        case let start as StartReceiveStep:
            guard state.unread == 0 && !state.peerFinished else { throw Outside("line \(step.line): a receive with data waiting") }
            state.pending.append(Pending(kind: .asyncReceive, name: start.operation, handle: step.handle, index: index, bytes: start.bytes))
            prediction.results[index] = .ok
        case let start as StartSendStep:
            guard state.stuck else { throw Outside("line \(step.line): an asynchronous send that can complete") }
            state.pending.append(Pending(kind: .asyncSend, name: start.operation, handle: step.handle, index: index, bytes: start.bytes))
            prediction.results[index] = .ok
        case is ChurnStep:
            break
        case is EveryCallStep:
            // An open handle would answer each call differently: only a closed one is in the model.
            throw Outside("line \(step.line): every-call on an open handle")
        case is CleanupStep:
            // Every handle still open is closed abortively (HANDLE-5), which aborts what is pending on it.
            let open = state.open.filter { $0.value }.keys.sorted()
            guard !open.isEmpty else { throw Outside("line \(step.line): a cleanup with no handle open") }
            for handle in open { abort(pendingOn: handle, &state.pending, &prediction) }
            for handle in open { state.open[handle] = false }
            state.ending = .reset
            state.finWaiting = false
            prediction.statements.insert("HANDLE-5")
        case let dont as DontLingerStep:
            state.linger.isOn = !dont.flag
            prediction.results[index] = .ok
        case let duplicate as DuplicateStep:
            guard state.open[duplicate.name] == nil else { throw Outside("line \(step.line): a handle name used twice") }
            state.open[duplicate.name] = true
            prediction.results[index] = .ok
        case let blocking as BlockingStep:
            state.blocking = blocking.flag
            prediction.results[index] = .ok
        case let send as SendStep:
            guard state.peerReads != .never else { throw Outside("line \(step.line): a send to a peer that never reads") }
            guard state.blocking else { throw Outside("line \(step.line): a nonblocking send") }
            prediction.results[index] = .ok
            state.accepted += send.bytes
            state.inFlight = state.inFlight || send.bytes > 0
        case is FillStep:
            guard state.peerReads == .never else { throw Outside("line \(step.line): a fill the peer reads away") }
            state.stuck = true
            state.inFlight = true
            state.accepted += 1
        case let send as PeerSendStep:
            guard send.peer == "peer" else { throw Outside("line \(step.line): another peer") }
            let receivers = state.pending.filter { $0.kind != .asyncSend && state.open[$0.handle] == true }
            guard let receiver = receivers.first else {
                state.unread += send.bytes
                return
            }
            // A receive pending on an open handle takes the bytes, at once (SHARE-5: closing another handle left it).
            guard receivers.count == 1, send.bytes <= receiver.bytes else {
                throw Outside("line \(step.line): bytes that more than one receive, or more than a receive, would take")
            }
            end(receiver.name, with: .ok, &state, &prediction)
        case let shutdown as PeerShutdownStep:
            guard shutdown.peer == "peer" else { throw Outside("line \(step.line): another peer") }
            state.peerFinished = true
        case let read as PeerReadStep:
            guard read.peer == "peer" else { throw Outside("line \(step.line): another peer") }
            switch read.amount {
            case .accepted:
                state.stuck = false
            case .all:
                state.stuck = false
                state.finWaiting = false
            case .count:
                throw Outside("line \(step.line): a peer read of a count")
            }
        case let wait as WaitStep:
            switch wait.event {
            case .pending, .returned, .completed:
                try checkWait(wait.event, state.pending, step)
            case .peerEnding(let peer, let ending):
                guard peer == "peer", ending == .endOfStream, state.shutSent, !state.finBehindStuck, state.ending == nil else {
                    throw Outside("line \(step.line): a wait for the peer's ending")
                }
            case .delivered:
                // The peer's bytes (and FIN) have reached the subject: nothing changes on the subject's side.
                break
            case .acknowledged:
                guard !state.stuck else { throw Outside("line \(step.line): a wait for data the peer never reads") }
                state.inFlight = false
            default: throw Outside("line \(step.line): wait \(wait.event)")
            }
        case is WireQuietStep:
            guard !state.shutSent else { throw Outside("line \(step.line): a quiet wire after shutdown's FIN") }
            guard state.ending == nil || state.finWaiting else { throw Outside("line \(step.line): a quiet wire after the close") }
        case is CloseStep:
            close(step, index: index, &state, &prediction)
        default:
            throw Outside("line \(step.line): step \(action.name)")
        }
    }

    private static func close(_ step: Step, index: Int, _ state: inout State, _ prediction: inout Prediction) {
        // Not the last handle: the socket lives on, and the close returns at once (SHARE-1, SHARE-2).
        if state.openCount > 1 {
            state.open[step.handle] = false
            abort(pendingOn: step.handle, &state.pending, &prediction)
            if prediction.statements.contains("PEND-1") || prediction.statements.contains("PEND-5") {
                prediction.statements.insert("SHARE-5")
            }
            prediction.results[index] = .ok
            prediction.timings[index] = .atOnce
            prediction.statements.formUnion(["SHARE-1", "SHARE-2"])
            return
        }
        prediction.statements.insert("CLOSE-1")
        if state.shutSent && state.peerFinished && (state.unread > 0 || (state.linger.isOn && state.linger.seconds == 0)) {
            // Both FINs are out: whether an abortive close finds a connection left to reset depends on whether the
            // ACK of the subject's FIN has come back (a closed TCP connection sends no RST).
            prediction.undecided.insert(index)
            return
        }
        if state.unread > 0 {
            // Data the application never read: the connection is reset, whatever the linger option (UNREAD-1).
            finish(abortively: true, step, index, &state, &prediction)
            prediction.statements.insert("UNREAD-1")
        } else if state.linger.isOn && state.linger.seconds == 0 {
            finish(abortively: true, step, index, &state, &prediction)
            prediction.statements.insert("LINGER-3")
        } else if state.linger.isOn {
            if !state.stuck && !state.blocking && state.inFlight {
                // Whether a nonblocking close can complete at once depends on whether the data in flight has been
                // acknowledged at that instant (LINGER-6): not a prediction the model can make.
                prediction.undecided.insert(index)
                return
            } else if !state.stuck {
                // Everything can be delivered: a graceful close, at once when nothing is left to deliver, else within
                // the timeout (LINGER-4).
                finish(abortively: false, step, index, &state, &prediction)
                if state.inFlight { prediction.timings[index] = .within(.seconds(state.linger.seconds)) }
                prediction.statements.insert("LINGER-4")
            } else if !state.blocking {
                // It would have to wait: a nonblocking socket fails with wouldBlock and stays open (LINGER-6).
                prediction.results[index] = .error(.wouldBlock)
                prediction.timings[index] = .atOnce
                prediction.statements.insert("LINGER-6")
            } else {
                // The timeout runs out with data still queued: the connection is reset after it (LINGER-5).
                finish(abortively: true, step, index, &state, &prediction)
                prediction.timings[index] = .about(.seconds(state.linger.seconds))
                prediction.statements.insert("LINGER-5")
            }
        } else {
            finish(abortively: false, step, index, &state, &prediction)
            prediction.statements.insert("LINGER-2")
        }
    }

    /// The calls and operations pending on a handle that was just closed: a receive, an accept or a connect fails
    /// with interrupted at once (PEND-1, PEND-3, PEND-4), an asynchronous operation completes once with
    /// operationAborted (PEND-5).
    static func abort(pendingOn handle: String, _ pending: inout [Pending], _ prediction: inout Prediction) {
        for call in pending where call.handle == handle {
            switch call.kind {
            case .receive, .accept, .connect:
                prediction.results[call.index] = .error(.interrupted)
                prediction.timings[call.index] = .atOnce
                prediction.statements.insert(call.kind == .receive ? "PEND-1" : call.kind == .accept ? "PEND-3" : "PEND-4")
            case .asyncReceive, .asyncSend, .asyncAccept:
                prediction.operations[call.name] = .error(.operationAborted)
                prediction.statements.insert("PEND-5")
            }
        }
        pending.removeAll { $0.handle == handle }
    }

    /// A wait for a pending call's thread to be pending, or for a call or operation to have ended: the model must
    /// agree on which it is.
    static func checkWait(_ event: Wait, _ pending: [Pending], _ step: Step) throws(Outside) {
        switch event {
        case .pending(let thread):
            guard pending.contains(where: { $0.name == thread && ![.asyncReceive, .asyncSend, .asyncAccept].contains($0.kind) }) else {
                throw Outside("line \(step.line): a wait for \(thread) to be pending, which the model has ended")
            }
        case .returned(let name), .completed(let name):
            guard !pending.contains(where: { $0.name == name }) else {
                throw Outside("line \(step.line): a wait for \(name), which the model keeps pending")
            }
        default:
            throw Outside("line \(step.line): wait \(event)")
        }
    }

    /// A pending receive, in a thread or asynchronous, that the peer's bytes complete.
    private static func end(_ name: String, with result: CallExpectation, _ state: inout State, _ prediction: inout Prediction) {
        guard let position = state.pending.firstIndex(where: { $0.name == name }) else { return }
        let pending = state.pending.remove(at: position)
        if pending.kind == .receive {
            prediction.results[pending.index] = result
            prediction.timings[pending.index] = .atOnce
        } else {
            prediction.operations[pending.name] = result
        }
    }

    private static func finish(abortively: Bool, _ step: Step, _ index: Int, _ state: inout State, _ prediction: inout Prediction) {
        state.open[step.handle] = false
        abort(pendingOn: step.handle, &state.pending, &prediction)
        state.ending = abortively ? .reset : .endOfStream
        state.finWaiting = !abortively && state.stuck
        prediction.results[index] = .ok
        if prediction.timings[index] == nil { prediction.timings[index] = .atOnce }
    }
}

extension SpecModel {
    /// Where a case's written expectations and the model's prediction differ, in words: a step whose result or
    /// timing the case states and the model predicts otherwise (or not at all), or a final expectation that differs.
    public static func differences(_ instance: CaseInstance, _ prediction: Prediction) -> [String] {
        var found: [String] = []
        for (index, step) in instance.steps.enumerated() {
            if let written = step.expect {
                let predicted = prediction.results[index]
                let agrees: Bool =
                    switch written {
                    case .oneOf(let choices): predicted.map { choices.contains($0) } ?? false
                    default: predicted == written
                    }
                if !agrees {
                    found.append("line \(step.line): the case expects \(written), the model \(predicted.map { "\($0)" } ?? "nothing")")
                }
            }
            if let written = step.timing, prediction.timings[index] != written {
                found.append(
                    "line \(step.line): the case expects \(written), the model \(prediction.timings[index].map { "\($0)" } ?? "nothing")")
            }
        }
        for (index, step) in instance.steps.enumerated() {
            guard let written = (step.action as? GetLingerStep)?.expected, written != prediction.readBack[index] else { continue }
            found.append(
                "line \(step.line): the case reads back \(written), the model \(prediction.readBack[index].map { "\($0)" } ?? "nothing")")
        }
        for operation in instance.expect.operations where prediction.operations[operation.operation] != operation.result {
            found.append(
                "line \(operation.line): \(operation.operation) completes with \(operation.result) in the case, "
                    + "\(prediction.operations[operation.operation].map { "\($0)" } ?? "nothing") in the model")
        }
        // A case may expect less than the model predicts (an intact prefix where every byte arrives, a reset where
        // it follows a FIN), never something else.
        func plain(_ amount: PeerExpectation.Amount?) -> PeerExpectation.Amount? {
            prediction.accepted == 0 && (amount == .accepted || amount == .prefix) ? PeerExpectation.Amount.none : amount
        }
        for peer in instance.expect.peers where peer.peer != "peer" {
            let outcome = prediction.others[peer.peer]
            if let read = peer.read, read != outcome?.read {
                found.append(
                    "line \(peer.line): \(peer.peer) reads \(read) in the case, \(outcome.map { "\($0.read)" } ?? "nothing") in the model")
            }
            if let ending = peer.ending, ending != outcome?.ending {
                found.append(
                    "line \(peer.line): \(peer.peer)'s reading ends with \(ending.rawValue) in the case, \(outcome?.ending.rawValue ?? "?") in the model"
                )
            }
        }
        for wire in instance.expect.wire where wire.side == "subject" && wire.connection != "peer" {
            let outcome = prediction.others[wire.connection]
            if let fin = wire.fin, fin != outcome?.fin {
                found.append(
                    "line \(wire.line): FIN \(fin) to \(wire.connection) in the case, \(outcome.map { "\($0.fin)" } ?? "nothing") in the model"
                )
            }
            if let rst = wire.rst, rst != outcome?.rst {
                found.append(
                    "line \(wire.line): RST \(rst) to \(wire.connection) in the case, \(outcome.map { "\($0.rst)" } ?? "nothing") in the model"
                )
            }
        }
        for peer in instance.expect.peers where peer.peer == "peer" {
            if let read = plain(peer.read), read != plain(prediction.peerRead), !(read == .prefix && prediction.peerRead == .accepted) {
                found.append(
                    "line \(peer.line): the peer reads \(read) in the case, \(String(describing: prediction.peerRead)) in the model")
            }
            if let ending = peer.ending, ending != prediction.peerEnding {
                found.append(
                    "line \(peer.line): the peer's reading ends with \(ending.rawValue) in the case, \(prediction.peerEnding?.rawValue ?? "?") in the model"
                )
            }
        }
        for wire in instance.expect.wire where wire.side == "subject" && wire.connection == "peer" {
            if let fin = wire.fin, fin != prediction.fin, !(fin == .present && prediction.fin == .afterAccepted) {
                found.append("line \(wire.line): FIN \(fin) in the case, \(String(describing: prediction.fin)) in the model")
            }
            if let rst = wire.rst, rst != prediction.rst, !(rst == .present && prediction.rst == .afterFin) {
                found.append("line \(wire.line): RST \(rst) in the case, \(String(describing: prediction.rst)) in the model")
            }
        }
        return found
    }
}
