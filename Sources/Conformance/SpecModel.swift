public import Harness
import ProviderInterface

/// An executable model of SPEC.md's close semantics for one connected socket shared by any number of handles:
/// linger (off, 0, a timeout, don't-linger), duplicates closed in any order, blocking mode, data sent, data left
/// unread, the peer reading, not reading, or finished. Given a case instance in that domain, it predicts what each
/// call returns and when, how the peer's reading ends and what the wire carries. It is the oracle of
/// `teardown explore`, and it agrees with every hand-written case in its domain (a test holds it to that).
public enum SpecModel {
    /// What the model says about an instance.
    public struct Prediction: Sendable {
        /// Per step (by index): the call's result and timing, where the model knows them.
        public var results: [Int: CallExpectation] = [:]
        public var timings: [Int: Timing] = [:]
        /// The statements each prediction rests on.
        public var statements: Set<String> = []
        public var peerRead: PeerExpectation.Amount?
        public var peerEnding: Ending?
        public var fin: WireExpectation.Fin?
        public var rst: WireExpectation.Reset?
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

        var openCount: Int { open.values.filter { $0 }.count }
    }

    /// The prediction for `instance`, or why it is outside the model.
    public static func predict(_ instance: CaseInstance) throws(Outside) -> Prediction {
        guard instance.setup.kind == .connected else { throw Outside("setup \(instance.setup.kind.rawValue), not a connected socket") }
        guard instance.faults.rules.isEmpty else { throw Outside("a fault plan") }
        guard instance.expect.operations.isEmpty else { throw Outside("asynchronous operations") }
        var state = State()
        state.peerReads = instance.peer.reads
        var prediction = Prediction()
        for (index, step) in instance.steps.enumerated() {
            guard step.isMain else { throw Outside("line \(step.line): a step on thread \(step.thread)") }
            try apply(step, index: index, &state, &prediction)
        }
        if let step = prediction.undecided.min() {
            throw Outside(
                "line \(instance.steps[step].line): a nonblocking lingering close with data in flight, ok or wouldBlock by timing")
        }
        guard let ending = state.ending else { throw Outside("the socket is still open when the steps end") }
        guard !state.finWaiting else { throw Outside("a FIN left behind data the peer never reads") }
        prediction.peerEnding = ending
        prediction.peerRead = ending == .reset ? (state.accepted == 0 ? PeerExpectation.Amount.none : .prefix) : .accepted
        prediction.fin = ending == .reset ? WireExpectation.Fin.none : .afterAccepted
        prediction.rst = ending == .reset ? .present : WireExpectation.Reset.none
        return prediction
    }

    private static func apply(_ step: Step, index: Int, _ state: inout State, _ prediction: inout Prediction) throws(Outside) {
        let action = step.action
        if action.usesHandle {
            guard let open = state.open[step.handle] else { throw Outside("line \(step.line): handle \(step.handle) is not the socket's") }
            guard open else {
                prediction.results[index] = .error(.notSocket)
                prediction.statements.insert("CLOSE-2")
                return
            }
        }
        switch action {
        case let linger as LingerStep:
            guard !linger.raw else { throw Outside("line \(step.line): a raw linger value") }
            state.linger = linger.linger
            prediction.results[index] = .ok
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
            state.unread += send.bytes
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
            case .delivered:
                // The peer's bytes (and FIN) have reached the subject: nothing changes on the subject's side.
                break
            case .acknowledged:
                guard !state.stuck else { throw Outside("line \(step.line): a wait for data the peer never reads") }
                state.inFlight = false
            default: throw Outside("line \(step.line): wait \(wait.event)")
            }
        case is WireQuietStep:
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
            prediction.results[index] = .ok
            prediction.timings[index] = .atOnce
            prediction.statements.formUnion(["SHARE-1", "SHARE-2"])
            return
        }
        prediction.statements.insert("CLOSE-1")
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

    private static func finish(abortively: Bool, _ step: Step, _ index: Int, _ state: inout State, _ prediction: inout Prediction) {
        state.open[step.handle] = false
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
        for peer in instance.expect.peers where peer.peer == "peer" {
            if let read = peer.read, read != prediction.peerRead {
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
            if let fin = wire.fin, fin != prediction.fin {
                found.append("line \(wire.line): FIN \(fin) in the case, \(String(describing: prediction.fin)) in the model")
            }
            if let rst = wire.rst, rst != prediction.rst {
                found.append("line \(wire.line): RST \(rst) in the case, \(String(describing: prediction.rst)) in the model")
            }
        }
        return found
    }
}
