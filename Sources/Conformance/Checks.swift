import Foundation
import Harness
import PacketCapture
import ProviderInterface
import WireAnalysis

extension CaseRun {
    /// The bound of a wait on an event that the case expects (a peer ending, a FIN, a byte count).
    static let waitLimit: Duration = .seconds(5)

    func perform(_ wait: Wait, _ step: Step) throws {
        switch wait {
        case .pending(let name):
            guard let thread = threads[name] else { throw CaseAbort("line \(step.line): no call on thread '\(name)' to wait for") }
            do {
                try thread.call.waitUntilBlocked(within: Self.waitLimit)
            } catch {
                if let outcome = thread.call.result(within: .zero) {
                    finding(
                        "\(thread.step.action.name) on thread \(name) returned \(outcome.summary) instead of staying pending",
                        line: step.line)
                    collect(name)
                } else {
                    throw CaseAbort("line \(step.line): \(error)")
                }
            }
        case .returned(let name):
            guard let thread = threads[name] else { throw CaseAbort("line \(step.line): no call on thread '\(name)' to wait for") }
            // A call expected back at once (or by a time) that is still pending later is a finding, not a stuck provider.
            let grace: Duration =
                switch thread.step.timing {
                case .atOnce?: tolerances.atOnce + .seconds(1)
                case .about(let target)?: target + tolerances.late + .seconds(1)
                case .within(let limit)?: limit + .seconds(1)
                case nil: options.watchdog
                }
            if thread.call.result(within: grace) == nil && thread.step.timing != nil {
                finding(
                    "\(thread.step.action.name) on thread \(name) expected to return \(thread.step.timing!); still pending \(format(grace)) later",
                    line: step.line)
                overdue.insert(name)
                return
            }
            try join(name, within: options.watchdog)
        case .peerRead(let name, let bytes):
            let peer = try peer(name, step)
            let target = bytes ?? accepted
            if !peer.wait(within: Self.waitLimit, until: { count, _ in count >= target }) {
                finding("the peer read \(peer.observed.bytes.count) bytes, not the \(target) waited for", line: step.line)
            }
        case .peerEnding(let name, let ending):
            let peer = try peer(name, step)
            if !peer.isReading && peer.observed.ending == .open { try harness { try peer.read(limit: nil, within: Self.waitLimit) } }
            if !peer.wait(within: Self.waitLimit, until: { _, seen in seen == ending }) {
                finding("the peer's reading ended with \(peer.observed.ending.rawValue), not \(ending.rawValue)", line: step.line)
            }
        case .completed(let name):
            guard let operation = operations[name] else { throw CaseAbort("line \(step.line): no operation named '\(name)'") }
            if subject.registry.waitForCompletion(of: operation, within: Self.waitLimit) == nil {
                finding("asynchronous operation \(name) did not complete within \(Self.waitLimit)", line: step.line)
            }
        case .released(let name):
            let handle = try handle(name, step)
            guard subject.auditsHandles else {
                throw CaseAbort("line \(step.line): 'wait: {released: ...}' needs a provider whose handles come from the harness")
            }
            if !subject.registry.waitForRelease(of: handle, within: Self.waitLimit) {
                finding("\(name) was not released within \(Self.waitLimit)", line: step.line)
            }
        case .delivered:
            try waitForAcknowledgement(ofSubject: false, bytes: peerSent, step)
        case .acknowledged:
            try waitForAcknowledgement(ofSubject: true, bytes: accepted, step)
        }
    }

    /// Waits until the wire shows `bytes` of one side's data acknowledged by the other: the subject's accepted
    /// bytes by the peer, or the peer's sent bytes by the subject.
    func waitForAcknowledgement(ofSubject: Bool, bytes: Int, _ step: Step) throws {
        guard let capture, let peerEnd = peers["peer"] else {
            throw CaseAbort(
                "line \(step.line): 'wait: \(ofSubject ? "acknowledged" : "delivered")' needs the main connection under capture")
        }
        let target = Int64(bytes)
        let peerAddress = try harness { try peerEnd.socket.localAddress.description }
        let what = ofSubject ? "every accepted byte acknowledged" : "every byte the peer sent acknowledged"
        do {
            try capture.wait(for: what, within: Self.waitLimit) { facts in
                let direction = ofSubject ? Self.subjectDirection(facts, peer: peerAddress) : Self.peerDirection(facts, peer: peerAddress)
                return direction.map { $0.bytesAcknowledged >= target } ?? false
            }
        } catch {
            finding(
                ofSubject
                    ? "the peer did not acknowledge the \(target) accepted bytes: \(error.message)"
                    : "the subject did not acknowledge the \(target) bytes the peer sent: \(error.message)", line: step.line)
        }
    }

    /// Waits for a thread's call and checks it against its step.
    func join(_ name: String, within timeout: Duration) throws {
        guard let thread = threads[name] else { return }
        guard thread.call.result(within: timeout) != nil else {
            noteStuckCall(Self.callText(thread.step), thread: name, started: thread.call.startedAt)
            throw CaseAbort(
                "provider did not return from \(thread.step.action.name) (thread \(name), line \(thread.step.line)) within \(timeout)")
        }
        collect(name)
    }

    func collect(_ name: String) {
        guard var thread = threads[name], !thread.checked, let outcome = thread.call.result(within: .zero) else { return }
        thread.checked = true
        threads[name] = thread
        // "At once" for a pending call counts from the last main-thread step before it returned: the one that ended it.
        let reference = mainStepStarts.last { $0 <= outcome.returnedAt } ?? outcome.startedAt
        let step = thread.step
        var name: String?
        var operation: String?
        switch step.action {
        case .socket(let new), .accept(let new), .duplicate(let new): name = new
        case .startReceive(let op, _), .startSend(let op, _), .startAccept(let op): operation = op
        default: break
        }
        absorb(outcome, of: step, naming: name, operation: operation, reference: reference, expected: .ok)
    }

    /// Nothing from the subject (FIN or RST) reaches the wire within the settle time.
    func checkQuiet(_ step: Step) throws {
        guard let capture, let peerEnd = peers["peer"] else {
            throw CaseAbort("line \(step.line): 'wire-quiet' needs the main connection under capture")
        }
        let peerAddress = try harness { try peerEnd.socket.localAddress.description }
        let seen: Void? = try? capture.wait(for: "a FIN or RST from the subject", within: options.settle) { facts in
            Self.subjectDirection(facts, peer: peerAddress).map { $0.fin != nil || !$0.resets.isEmpty } ?? false
        }
        if seen != nil, let direction = Self.subjectDirection(capture.facts, peer: peerAddress) {
            finding("expected nothing from the subject on the wire; saw \(Self.describe(direction))", line: step.line)
        }
    }

    static func subjectDirection(_ facts: CaptureFacts, peer: String) -> DirectionFacts? {
        guard let connection = facts.connections.last(where: { $0.client == peer || $0.server == peer }) else { return nil }
        return connection.directions.first { $0.from != peer }
    }

    static func peerDirection(_ facts: CaptureFacts, peer: String) -> DirectionFacts? {
        guard let connection = facts.connections.last(where: { $0.client == peer || $0.server == peer }) else { return nil }
        return connection.directions.first { $0.from == peer }
    }

    /// How a direction ended, in words: "FIN at seq 65537", "RST at seq 1048577", "neither FIN nor RST".
    static func describe(_ direction: DirectionFacts) -> String {
        var parts: [String] = []
        if let fin = direction.fin { parts.append("FIN at seq \(fin.sequence)") }
        for reset in direction.resets { parts.append("RST at seq \(reset.sequence)") }
        return parts.isEmpty ? "neither FIN nor RST" : parts.joined(separator: ", ")
    }

    // MARK: - Final expectations

    func checkFinalExpectations() throws {
        try checkFaultInvariant()
        for expectation in instance.expect.peers { try check(expectation) }
        for expectation in instance.expect.wire { try check(expectation) }
        for expectation in instance.expect.operations { try check(expectation) }
    }

    /// With faults injected, a FIN from the subject must still sit at N+1 of the bytes send reported accepted:
    /// bytes accepted = bytes on the wire before the FIN (what the peer reads is checked by the case's expectations).
    func checkFaultInvariant() throws {
        guard let faultLayer, !faultLayer.plan.isEmpty, let capture, let peer = peers["peer"],
            instance.expect.wire.contains(where: { $0.side == "subject" && $0.connection == "peer" && $0.fin != WireExpectation.Fin.none })
        else { return }
        let address = try harness { try peer.socket.localAddress.description }
        try? capture.wait(for: "the subject's FIN or RST", within: Self.waitLimit) { facts in
            Self.subjectDirection(facts, peer: address).map { $0.fin != nil || !$0.resets.isEmpty } ?? false
        }
        guard let direction = Self.subjectDirection(capture.facts, peer: address), let fin = direction.fin else { return }
        let n = Int64(accepted)
        if fin.sequence != n + 1 || direction.bytesSent != n {
            finding(
                "with faults injected, send reported \(n) bytes accepted but the wire carried \(direction.bytesSent) before the FIN at seq \(fin.sequence)"
            )
        }
    }

    func check(_ expectation: PeerExpectation) throws {
        guard let peer = peers[expectation.peer] else {
            throw CaseAbort("line \(expectation.line): no peer named '\(expectation.peer)'")
        }
        let target = accepted
        if peer.isReading {
            _ = peer.wait(within: Self.waitLimit) { count, ending in
                ending != .open || (expectation.ending == nil && expectation.read == .accepted && count >= target)
            }
        } else if expectation.ending != nil && peer.observed.ending == .open {
            try harness { try peer.read(limit: nil, within: .seconds(3)) }
        }
        let (bytes, ending) = peer.observed
        let sent = Payload.bytes(target)
        let intact = bytes.count <= sent.count && sent.starts(with: bytes)
        let line = expectation.line
        switch expectation.read {
        case .accepted?:
            if bytes.count != target || !intact {
                finding(
                    "expected the peer to read all \(target) accepted bytes intact; it read \(bytes.count)\(intact ? "" : ", not intact")",
                    line: line)
            }
        case .prefix?:
            if !intact {
                finding(
                    "expected the peer to read an intact prefix of the \(target) accepted bytes; its \(bytes.count) bytes differ",
                    line: line)
            }
        case .exactly(let count)?:
            if bytes.count != count || !intact {
                finding("expected the peer to read \(count) bytes intact; it read \(bytes.count)", line: line)
            }
        case .none?:
            if !bytes.isEmpty { finding("expected the peer to read nothing; it read \(bytes.count) bytes", line: line) }
        case nil:
            break
        }
        if let wanted = expectation.ending, wanted != ending {
            finding(
                "expected the peer's reading to end with \(wanted.rawValue); it ended with \(ending.rawValue) after \(bytes.count) bytes",
                line: line)
        }
    }

    func check(_ expectation: WireExpectation) throws {
        guard let capture else { return }  // capture turned off: the wire is not checked
        guard let peer = peers[expectation.connection] else {
            throw CaseAbort("line \(expectation.line): no connection named '\(expectation.connection)'")
        }
        let peerAddress = try harness { try peer.socket.localAddress.description }
        let ofSubject = expectation.side == "subject"
        func direction(_ facts: CaptureFacts) -> DirectionFacts? {
            ofSubject ? Self.subjectDirection(facts, peer: peerAddress) : Self.peerDirection(facts, peer: peerAddress)
        }
        let wantsEvent =
            expectation.fin == .afterAccepted || expectation.fin == .present || expectation.rst == .present
            || expectation.rst == .afterFin
        let ended: (CaptureFacts) -> Bool = { facts in
            guard let seen = direction(facts) else { return false }
            if expectation.rst == .present || expectation.rst == .afterFin { return !seen.resets.isEmpty }
            return seen.fin != nil || !seen.resets.isEmpty
        }
        if wantsEvent {
            try? capture.wait(for: "the \(expectation.side)'s FIN or RST", within: Self.waitLimit, until: ended)
        } else {
            try? capture.wait(for: "any FIN or RST from the \(expectation.side)", within: options.settle, until: ended)
        }
        let facts = capture.facts
        guard let seen = direction(facts) else {
            finding(
                "the capture holds no segment of the \(expectation.side) on connection \(expectation.connection)", line: expectation.line)
            return
        }
        let n = Int64(accepted)
        let observed = Self.describe(seen)
        let discarded = n > seen.bytesSent ? ", \(n - seen.bytesSent) queued bytes discarded" : ""
        switch expectation.fin {
        case .afterAccepted?:
            if seen.fin?.sequence != n + 1 || !seen.resets.isEmpty && expectation.rst == WireExpectation.Reset.none
                || seen.fin?.followsAllData != true
            {
                finding("expected FIN at seq \(n + 1) after \(n) bytes; saw \(observed)\(discarded)", line: expectation.line)
            }
        case .present?:
            if seen.fin == nil { finding("expected a FIN from the \(expectation.side); saw \(observed)", line: expectation.line) }
        case .none?:
            if let fin = seen.fin {
                finding("expected no FIN from the \(expectation.side); saw FIN at seq \(fin.sequence)", line: expectation.line)
            }
        case nil:
            break
        }
        switch expectation.rst {
        case .none?:
            if let reset = seen.resets.first {
                finding(
                    "expected no RST from the \(expectation.side); saw RST at seq \(reset.sequence)\(discarded)", line: expectation.line)
            }
        case .present?:
            if seen.resets.isEmpty { finding("expected an RST from the \(expectation.side); saw \(observed)", line: expectation.line) }
        case .afterFin?:
            if seen.resets.isEmpty || seen.fin == nil || !(seen.resets.first?.afterOwnFin ?? false) {
                finding("expected an RST after the \(expectation.side)'s FIN; saw \(observed)", line: expectation.line)
            }
        case nil:
            break
        }
    }

    func check(_ expectation: OperationExpectation) throws {
        guard let operation = operations[expectation.operation] else {
            throw CaseAbort("line \(expectation.line): no operation named '\(expectation.operation)'")
        }
        guard let completion = subject.registry.waitForCompletion(of: operation, within: Self.waitLimit) else {
            finding("asynchronous \(expectation.operation) never completed", line: expectation.line)
            return
        }
        let ok: Bool =
            switch (completion.result, expectation.result) {
            case (.failed(let error), .error(let wanted)): error == wanted
            case (.failed(let error), .oneOf(let wanted)): wanted.contains(.error(error))
            case (.failed, _): false
            case (.received(let bytes), .endOfStream): bytes.isEmpty
            case (_, .ok): true
            default: false
            }
        if !ok {
            finding(
                "asynchronous \(expectation.operation) expected to complete with \(expectation.result); it completed with \(completion.result)",
                line: expectation.line)
        }
    }

    // MARK: - Teardown and audit

    func tearDown() throws {
        // A call still pending in an accept is ended by a connection (a provider whose close does not wake it).
        if let address = subjectListenAddress, threads.values.contains(where: { $0.call.finishedAt == nil }) {
            let connecting = ContinuousClock.now
            if let socket = try? PeerSocket.connect(to: address, within: .seconds(1)) {
                stalled.append(socket)
                if let local = try? socket.localAddress { peerPorts.insert(local.port) }
                timeline.append(
                    LadderEvent(
                        time: origin.seconds(connecting), lane: .right, kind: .step, text: "harness connects, to end a pending accept"))
            }
        }
        for peer in peers.values { peer.close() }
        for socket in stalled { socket.close() }
        for listener in listeners { listener.close() }
        for handle in churned { subject.discard(handle) }
        churned = []
        cleanUp()
        for name in threads.keys.sorted() {
            // An overdue call was reported already; its late result is not checked again, only drawn.
            if overdue.contains(name), let thread = threads[name], !thread.checked {
                threads[name]?.checked = true
                try join(name, within: options.watchdog)
                if let outcome = thread.call.result(within: .zero) {
                    noteCall(Self.callText(thread.step), thread: name, outcome)
                }
                continue
            }
            try join(name, within: options.watchdog)
        }
        if let capture {
            do {
                try capture.stop()
            } catch {
                throw CaseAbort("capture: \(error.message)")
            }
        }
        let leaked = SocketInventory.descriptors(holding: ownedInodes)
        if !leaked.isEmpty {
            findings.append(
                Finding(
                    level: .must,
                    message:
                        "audit: \(leaked.count) socket descriptor(s) of this case still open after cleanup (fd \(leaked.map(String.init).joined(separator: ", ")))"
                ))
        }
    }

    /// The provider's cleanup and the final audit of its upcalls, once.
    func cleanUp() {
        guard !cleanedUp else { return }
        cleanedUp = true
        for violation in subject.finish() {
            let level: Level = violation.statement == "HANDLE-5" ? .should : .must
            findings.append(Finding(level: level, message: violation.description))
        }
    }

    /// After an error: release what can be released without waiting on the provider.
    func abandon() {
        for peer in peers.values { peer.close() }
        for socket in stalled { socket.close() }
        for listener in listeners { listener.close() }
        _ = try? capture?.stop()
    }
}
