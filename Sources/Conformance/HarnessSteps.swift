import Basics
import Foundation
import Harness
import ProviderInterface
import WireAnalysis

// The steps the harness takes itself: the peers' actions, waits, and the case's own bookkeeping.

/// `churn: N`: creates N sockets and keeps them open until the case ends (handle values get reused).
struct ChurnStep: StepKind {
    static let keyword = "churn"
    let count: Int

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        Self(count: try syntax.reader.integer(syntax.argument, "how many sockets to create and close", in: 0...100_000))
    }
    func explain(_ step: Step) -> String { "create and close \(count) sockets" }
    var usesHandle: Bool { false }
    func ladderNote(_ step: Step) -> (lane: LadderEvent.Lane, text: String)? { (.left, "churn: \(count) sockets created and closed") }

    func perform(_ step: Step, in run: CaseRun) throws {
        let (provider, family) = (run.subject.provider, run.family)
        for _ in 0..<count {
            let call = BackgroundCall("socket") { Result { () throws(SocketError) in try provider.socket(family) } }
            guard let result = call.result(within: run.options.watchdog) else {
                throw CaseAbort("provider did not return from socket within \(run.options.watchdog) (line \(step.line))")
            }
            switch result {
            case .success(let handle): run.scene.churned.append(handle)
            case .failure(let error) where [.tooManySockets, .noBuffers].contains(error):
                // A limit of the machine (descriptors, memory), not the provider's mistake: the case cannot be judged.
                throw CaseAbort(
                    "line \(step.line): the system ran out of resources after \(run.scene.churned.count) new sockets (\(error.name)); raise the limit (ulimit -n) or lower churn"
                )
            case .failure(let error):
                run.finding("socket failed with \(error.name) after \(run.scene.churned.count) new sockets", line: step.line)
                return
            }
        }
    }
}

/// `peer-send: SIZE`: the peer sends bytes of its own pattern.
struct PeerSendStep: StepKind {
    static let keyword = "peer-send"
    let peer: String
    let bytes: Int

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        Self(peer: syntax.peer, bytes: try syntax.size("the bytes the peer sends"))
    }
    func explain(_ step: Step) -> String { "the \(peer) sends \(sizeText(bytes))" }
    var usesHandle: Bool { false }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) { try check.needPeer(peer, step.line) }
    func ladderNote(_ step: Step) -> (lane: LadderEvent.Lane, text: String)? {
        (.right, "\(LadderRecorder.peerLabel(peer)) sends \(bytes) bytes")
    }

    func perform(_ step: Step, in run: CaseRun) throws {
        let end = try run.peer(peer, step)
        let sent = try run.harness { try end.socket.send(Payload.bytes(bytes, seed: 0x5A), within: .seconds(10)) }
        if peer == "peer" { run.scene.peerSent += sent.sent }
        if let error = sent.error { run.finding("the peer's send failed with \(error.name) after \(sent.sent) bytes", line: step.line) }
    }
}

/// `peer-read: SIZE | all | accepted`: the peer reads (a peer that reads `never` reads only here).
struct PeerReadStep: StepKind {
    static let keyword = "peer-read"
    enum Amount: Sendable, Codable {
        case count(Int)
        /// Until the stream ends.
        case all
        /// Until it has every byte accepted so far.
        case accepted
    }

    let peer: String
    let amount: Amount

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        let text = try syntax.string("the bytes the peer reads")
        switch text {
        case "all": return Self(peer: syntax.peer, amount: .all)
        case "accepted": return Self(peer: syntax.peer, amount: .accepted)
        default: return Self(peer: syntax.peer, amount: .count(try syntax.size("the bytes the peer reads (all, accepted or a count)")))
        }
    }
    func explain(_ step: Step) -> String {
        switch amount {
        case .count(let bytes): "the \(peer) reads \(sizeText(bytes))"
        case .all: "the \(peer) reads until the stream ends"
        case .accepted: "the \(peer) reads every byte accepted so far"
        }
    }
    var usesHandle: Bool { false }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) { try check.needPeer(peer, step.line) }

    func perform(_ step: Step, in run: CaseRun) throws {
        let end = try run.peer(peer, step)
        switch amount {
        case .count(let bytes): try run.harness { try end.read(limit: bytes, within: .seconds(10)) }
        case .all: try run.harness { try end.read(limit: nil, within: .seconds(10)) }
        case .accepted:
            let missing = run.scene.accepted - end.observed.bytes.count
            if missing > 0 { try run.harness { try end.read(limit: missing, within: .seconds(10)) } }
        }
    }
}

/// `peer-close: graceful | abortive`.
struct PeerCloseStep: StepKind {
    static let keyword = "peer-close"
    let peer: String
    let abortive: Bool

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        let text = try syntax.string("how the peer closes")
        guard text == "graceful" || text == "abortive" else {
            throw syntax.fail("expected how the peer closes as graceful or abortive, not '\(text)'")
        }
        return Self(peer: syntax.peer, abortive: text == "abortive")
    }
    func explain(_ step: Step) -> String { "the \(peer) closes \(abortive ? "abortively (RST)" : "gracefully")" }
    var usesHandle: Bool { false }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) { try check.needPeer(peer, step.line) }
    func ladderNote(_ step: Step) -> (lane: LadderEvent.Lane, text: String)? {
        (.right, "\(LadderRecorder.peerLabel(peer)) closes\(abortive ? " abortively (linger 0)" : "")")
    }

    func perform(_ step: Step, in run: CaseRun) throws { try run.peer(peer, step).close(abortive: abortive) }
}

/// `peer-shutdown: PEER`: the peer shuts down sending (FIN).
struct PeerShutdownStep: StepKind {
    static let keyword = "peer-shutdown"
    let peer: String

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self(peer: try syntax.string("the peer")) }
    func explain(_ step: Step) -> String { "the \(peer) shuts down sending (FIN)" }
    var usesHandle: Bool { false }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) { try check.needPeer(peer, step.line) }
    func ladderNote(_ step: Step) -> (lane: LadderEvent.Lane, text: String)? {
        (.right, "\(LadderRecorder.peerLabel(peer)) shuts down sending")
    }

    func perform(_ step: Step, in run: CaseRun) throws {
        let end = try run.peer(peer, step)
        try run.harness { try end.socket.shutdownSending() }
        if peer == "peer" { run.scene.peerShutDown = true }
    }
}

/// `peer-connect: NAME`: a new peer connects to the subject's listener.
struct PeerConnectStep: StepKind {
    static let keyword = "peer-connect"
    let name: String

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self(name: try syntax.string("the new peer's name")) }
    func explain(_ step: Step) -> String { "a new peer, \(name), connects to the subject's listener" }
    var usesHandle: Bool { false }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) {
        guard check.instance.setup.kind == .listening else {
            throw check.fail(step.line, "peer-connect needs a subject listener (setup: kind: listening)", known: [])
        }
        check.peers.insert(name)
    }
    func ladderNote(_ step: Step) -> (lane: LadderEvent.Lane, text: String)? { (.right, "\(LadderRecorder.peerLabel(name)) connects") }

    func perform(_ step: Step, in run: CaseRun) throws {
        guard let address = run.scene.subjectListenAddress else {
            throw CaseAbort("line \(step.line): peer-connect needs a subject listener ('setup: kind: listening')")
        }
        let receiveBuffer = run.instance.peer.receiveBuffer
        let socket = try run.harness { try PeerSocket.connect(to: address, receiveBuffer: receiveBuffer) }
        run.scene.peers[name] = PeerEnd(name: name, socket: socket)
        // The subject's end of the new connection is one of its sockets for the descriptor audit.
        run.scene.recordOwnedSockets(includingListener: false)
    }
}

/// `wire-quiet: true`: nothing from the subject (no FIN, no RST) reaches the wire within the settle time.
struct WireQuietStep: StepKind {
    static let keyword = "wire-quiet"

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self() }
    func explain(_ step: Step) -> String { "nothing from the subject reaches the wire (no FIN, no RST)" }
    var usesHandle: Bool { false }

    func perform(_ step: Step, in run: CaseRun) throws { try run.evidence.checkQuiet(step) }
}

/// `cleanup: true`: the provider's cleanup now; the end of the case then only audits.
struct CleanupStep: StepKind {
    static let keyword = "cleanup"

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self() }
    func explain(_ step: Step) -> String { "run the provider's cleanup (every handle still open is closed abortively and released)" }
    var usesHandle: Bool { false }

    func perform(_ step: Step, in run: CaseRun) throws { run.stages.cleanUp() }
}

/// `buffer-untouched: THREAD`: the buffer of the receive made on that thread holds only what the call returned.
struct BufferUntouchedStep: StepKind {
    static let keyword = "buffer-untouched"
    let thread: String

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        Self(thread: try syntax.string("the thread of the receive"))
    }
    func explain(_ step: Step) -> String { "the buffer of the receive on thread \(thread) holds nothing written after the call returned" }
    var usesHandle: Bool { false }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) {
        guard check.receivingThreads.contains(thread) else {
            throw check.fail(
                step.line, "checks the buffer of a receive on thread '\(thread)', which makes none", known: check.receivingThreads)
        }
    }

    func perform(_ step: Step, in run: CaseRun) throws {
        guard let buffer = run.scene.receiveBuffers[thread] else {
            throw CaseAbort("line \(step.line): no receive was made on thread '\(thread)'")
        }
        // The bytes the peer sent must have reached the subject before the buffer is judged: acknowledged by it,
        // or answered with a reset (its socket is closed), as the wire shows.
        run.evidence.waitUntilPeerBytesArrived()
        // Then a write into the buffer is watched for during the settle time, as `wire-quiet` watches the wire.
        let deadline = Deadline(after: run.evidenceBound(run.options.settle))
        var written = buffer.writtenAfter
        while written == 0 && !deadline.hasPassed {
            // Memory signals nothing when it is written; look again shortly.
            var none: [pollfd] = []
            _ = poll(&none, 0, 1)
            written = buffer.writtenAfter
        }
        if written > 0 {
            run.finding("the receive on thread \(thread) wrote \(written) bytes into its buffer after it had returned", line: step.line)
        }
    }
}

/// `release: GATE`: releases the calls the case's fault plan holds on that gate.
struct ReleaseStep: StepKind {
    static let keyword = "release"
    let gate: String

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self(gate: try syntax.string("the gate")) }
    func explain(_ step: Step) -> String { "release the calls the fault plan holds on gate \(gate)" }
    var usesHandle: Bool { false }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) {
        guard check.instance.faults.rules.contains(where: { $0.action == .hold(gate: gate) }) else {
            throw check.fail(step.line, "releases gate '\(gate)', which no rule of the case's faults holds (hold: \(gate))", known: [])
        }
    }
    func ladderNote(_ step: Step) -> (lane: LadderEvent.Lane, text: String)? { (.left, "release gate '\(gate)'") }

    func perform(_ step: Step, in run: CaseRun) throws {
        guard let faultLayer = run.faultLayer else { throw CaseAbort("line \(step.line): 'release' needs a fault plan that holds calls") }
        faultLayer.context.release(gate)
    }
}
