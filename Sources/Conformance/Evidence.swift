import FaultInjection
import Harness
import PacketCapture
import ProviderInterface
import WireAnalysis

/// Gathering the evidence for a case's expectations, from outside the provider: what the peers read, what the
/// wire carried, how operations completed. Each wait has a deadline; what it gathers goes to a `Judge`, and the
/// judge's findings to the run.
struct Evidence: CaseStage {
    unowned let run: CaseRun

    var faultLayer: FaultLayer? { run.faultLayer }
    static var waitLimit: Duration { CaseRun.waitLimit }

    // MARK: - The wire

    /// The main connection's capture and the peer's address on it, for the steps that look at the wire.
    func mainConnection(_ step: Step, _ what: String) throws -> (LiveCapture, String) {
        guard let capture = scene.capture, let peerEnd = scene.peers["peer"] else {
            throw CaseAbort("line \(step.line): '\(what)' needs the main connection under capture")
        }
        return (capture, try harness { try peerEnd.socket.localAddress.description })
    }

    /// Waits until the wire shows `bytes` of one side's data acknowledged by the other: the subject's accepted
    /// bytes by the peer, or the peer's sent bytes by the subject.
    func waitForAcknowledgement(ofSubject: Bool, bytes: Int, _ step: Step) throws {
        let (capture, peerAddress) = try mainConnection(step, "wait: \(ofSubject ? "acknowledged" : "delivered")")
        let target = Int64(bytes)
        // Once a side has shut down, its FIN is part of what it sent: acknowledged (or delivered) means that too.
        let withFin = ofSubject ? scene.subjectShutDown : scene.peerShutDown
        let what =
            ofSubject
            ? "every accepted byte\(withFin ? " and the FIN" : "") acknowledged"
            : "every byte the peer sent\(withFin ? " and its FIN" : "") acknowledged"
        do {
            try capture.wait(for: what, within: run.evidenceBound(Self.waitLimit)) { facts in
                Scene.direction(facts, peer: peerAddress, fromPeer: !ofSubject).map {
                    $0.bytesAcknowledged >= target && (!withFin || $0.fin?.acknowledged == true)
                } ?? false
            }
        } catch {
            finding(
                ofSubject
                    ? "the peer did not acknowledge the \(target) accepted bytes\(withFin ? " and the FIN" : ""): \(error.message)"
                    : "the subject did not acknowledge the \(target) bytes the peer sent\(withFin ? " and its FIN" : ""): \(error.message)",
                line: step.line)
        }
    }

    /// Waits until the wire shows every byte the main peer sent acknowledged by the subject, or a reset from the
    /// subject; without a capture, or when nothing was sent, there is nothing to wait for.
    func waitUntilPeerBytesArrived() {
        guard let capture = scene.capture, let address = scene.mainPeerAddress, scene.peerSent > 0 else { return }
        let target = Int64(scene.peerSent)
        try? capture.wait(for: "the peer's bytes acknowledged or reset by the subject", within: run.evidenceBound(Self.waitLimit)) {
            facts in
            let acknowledged = Scene.direction(facts, peer: address, fromPeer: true).map { $0.bytesAcknowledged >= target } ?? false
            let reset = Scene.direction(facts, peer: address, fromPeer: false).map { !$0.resets.isEmpty } ?? false
            return acknowledged || reset
        }
    }

    /// `wire-quiet`: nothing from the subject (FIN or RST) reaches the wire within the settle time.
    func checkQuiet(_ step: Step) throws {
        let (capture, peerAddress) = try mainConnection(step, "wire-quiet")
        let seen: Void? = try? capture.wait(for: "a FIN or RST from the subject", within: run.evidenceBound(options.settle)) { facts in
            Scene.direction(facts, peer: peerAddress, fromPeer: false).map { $0.fin != nil || !$0.resets.isEmpty } ?? false
        }
        let direction = seen == nil ? nil : Scene.direction(capture.facts, peer: peerAddress, fromPeer: false)
        for message in Judge.quiet(direction) { finding(message, line: step.line) }
    }

    // MARK: - Final expectations

    func judgeFinalExpectations() throws {
        try judgeFaultInvariant()
        for expectation in instance.expect.peers { try judge(expectation) }
        for expectation in instance.expect.wire { try judge(expectation) }
        for expectation in instance.expect.operations { try judge(expectation) }
    }

    /// With faults injected, the subject's FIN must still follow exactly the bytes send reported accepted.
    func judgeFaultInvariant() throws {
        guard let faultLayer, !faultLayer.plan.isEmpty, let capture = scene.capture, let peer = scene.peers["peer"],
            instance.expect.wire.contains(where: { $0.side == "subject" && $0.connection == "peer" && $0.fin != WireExpectation.Fin.none })
        else { return }
        let address = try harness { try peer.socket.localAddress.description }
        try? capture.wait(for: "the subject's FIN or RST", within: run.evidenceBound(Self.waitLimit)) { facts in
            Scene.direction(facts, peer: address, fromPeer: false).map { $0.fin != nil || !$0.resets.isEmpty } ?? false
        }
        guard let direction = Scene.direction(capture.facts, peer: address, fromPeer: false) else { return }
        for message in Judge.faultInvariant(direction, accepted: scene.accepted) { finding(message) }
    }

    func judge(_ expectation: PeerExpectation) throws {
        guard let peer = scene.peers[expectation.peer] else {
            throw CaseAbort("line \(expectation.line): no peer named '\(expectation.peer)'")
        }
        let target = scene.accepted
        if peer.isReading {
            _ = peer.wait(within: run.evidenceBound(Self.waitLimit)) { count, ending in
                ending != .open || (expectation.ending == nil && expectation.read == .accepted && count >= target)
            }
        } else if expectation.ending != nil && peer.observed.ending == .open {
            try harness { try peer.read(limit: nil, within: run.evidenceBound(.seconds(3))) }
        }
        let (bytes, ending) = peer.observed
        for message in Judge.peer(expectation, read: bytes, ending: ending, accepted: target) { finding(message, line: expectation.line) }
    }

    func judge(_ expectation: WireExpectation) throws {
        guard let capture = scene.capture else { return }  // capture turned off: the wire is not checked
        guard let peer = scene.peers[expectation.connection] else {
            throw CaseAbort("line \(expectation.line): no connection named '\(expectation.connection)'")
        }
        let peerAddress = try harness { try peer.socket.localAddress.description }
        let fromPeer = expectation.side != "subject"
        let wantsEvent =
            expectation.fin == .afterAccepted || expectation.fin == .present || expectation.rst == .present
            || expectation.rst == .afterFin
        let ended: (CaptureFacts) -> Bool = { facts in
            guard let seen = Scene.direction(facts, peer: peerAddress, fromPeer: fromPeer) else { return false }
            if expectation.rst == .present || expectation.rst == .afterFin { return !seen.resets.isEmpty }
            return seen.fin != nil || !seen.resets.isEmpty
        }
        if wantsEvent {
            try? capture.wait(for: "the \(expectation.side)'s FIN or RST", within: run.evidenceBound(Self.waitLimit), until: ended)
        } else {
            try? capture.wait(for: "any FIN or RST from the \(expectation.side)", within: run.evidenceBound(options.settle), until: ended)
        }
        let seen = Scene.direction(capture.facts, peer: peerAddress, fromPeer: fromPeer)
        for message in Judge.wire(expectation, seen, accepted: scene.accepted) { finding(message, line: expectation.line) }
    }

    func judge(_ expectation: OperationExpectation) throws {
        guard let operation = scene.operations[expectation.operation] else {
            throw CaseAbort("line \(expectation.line): no operation named '\(expectation.operation)'")
        }
        let completion = subject.registry.waitForCompletion(of: operation, within: run.evidenceBound(Self.waitLimit))
        for message in Judge.operation(expectation, completion) { finding(message, line: expectation.line) }
    }
}
