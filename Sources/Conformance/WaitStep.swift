import Basics
import Harness
import Yams

/// `wait: EVENT`: waits, on the main thread and with a deadline, for an event the case expects; an event that
/// does not come is a finding.
struct WaitStep: StepKind {
    static let keyword = "wait"
    let event: Wait

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        Self(event: try parseEvent(syntax.argument, syntax.reader))
    }

    static func parseEvent(_ node: Node, _ reader: NodeReader) throws(CaseFileError) -> Wait {
        if node.scalar != nil {
            let text = try reader.string(node, "the event")
            switch text {
            case "acknowledged": return .acknowledged
            case "delivered": return .delivered
            default: throw reader.fail(node, "expected the event as a mapping such as {pending: sender}, or acknowledged, or delivered")
            }
        }
        let pairs = try reader.mapping(
            node, what: "a wait", allowed: ["pending", "returned", "peer-read", "peer-ending", "completed", "released", "peer"])
        let fields = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        let peer = try fields["peer"].map { node throws(CaseFileError) in try reader.string(node, "the peer") } ?? "peer"
        if let thread = fields["pending"] { return .pending(thread: try reader.string(thread, "the thread")) }
        if let thread = fields["returned"] { return .returned(thread: try reader.string(thread, "the thread")) }
        if let operation = fields["completed"] { return .completed(operation: try reader.string(operation, "the operation")) }
        if let handle = fields["released"] { return .released(handle: try reader.string(handle, "the handle")) }
        if let amount = fields["peer-read"] {
            let text = try reader.string(amount, "the bytes")
            return .peerRead(peer: peer, bytes: text == "accepted" ? nil : try reader.size(amount, "the bytes the peer has read"))
        }
        if let ending = fields["peer-ending"] {
            let text = try reader.string(ending, "the ending")
            guard let parsed = Ending(rawValue: text), parsed != .open else {
                throw reader.fail(ending, "expected the peer's ending as end-of-stream or reset, not '\(text)'")
            }
            return .peerEnding(peer: peer, ending: parsed)
        }
        throw reader.fail(node, "a wait needs one of pending, returned, peer-read, peer-ending, completed")
    }

    func explain(_ step: Step) -> String {
        switch event {
        case .pending(let thread): "wait until the call on thread \(thread) is pending inside the provider"
        case .returned(let thread): "wait until the call on thread \(thread) returns"
        case .peerRead(let peer, let bytes): "wait until the \(peer) has read \(bytes.map(sizeText) ?? "every accepted byte")"
        case .peerEnding(let peer, let ending): "wait until the \(peer)'s reading ends with \(ending.rawValue)"
        case .completed(let operation): "wait until \(operation) completes"
        case .acknowledged:
            "wait until the peer has acknowledged every accepted byte, and the FIN once the subject has shut down (on the wire)"
        case .released(let name): "wait until the provider has released \(name) (through the upcalls)"
        case .delivered: "wait until the subject has acknowledged every byte the peer sent, and its FIN once it has shut down (on the wire)"
        }
    }

    var usesHandle: Bool { false }

    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) {
        let line = step.line
        switch event {
        case .pending(let thread), .returned(let thread):
            guard check.threads.contains(thread) else {
                throw check.fail(line, "waits for a call on thread '\(thread)', which no earlier step makes", known: check.threads)
            }
        case .peerRead(let peer, _), .peerEnding(let peer, _):
            try check.needPeer(peer, line)
        case .completed(let operation):
            guard check.operations.contains(operation) else {
                throw check.fail(line, "waits for operation '\(operation)', which no earlier step starts", known: check.operations)
            }
        case .released(let handle):
            guard check.handles.contains(handle) else {
                throw check.fail(line, "waits for the release of '\(handle)', which no step made", known: check.handles)
            }
        case .acknowledged, .delivered:
            break
        }
    }

    func perform(_ step: Step, in run: CaseRun) throws {
        switch event {
        case .pending(let name): try run.waitPending(name, step)
        case .returned(let name): try run.waitReturned(name, step)
        case .peerRead(let name, let bytes):
            let peer = try run.peer(name, step)
            let target = bytes ?? run.scene.accepted
            if !peer.wait(within: run.evidenceBound(CaseRun.waitLimit), until: { count, _ in count >= target }) {
                run.finding("the peer read \(peer.observed.bytes.count) bytes, not the \(target) waited for", line: step.line)
            }
        case .peerEnding(let name, let ending):
            let peer = try run.peer(name, step)
            if !peer.isReading && peer.observed.ending == .open {
                try run.harness { try peer.read(limit: nil, within: run.evidenceBound(CaseRun.waitLimit)) }
            }
            if !peer.wait(within: run.evidenceBound(CaseRun.waitLimit), until: { _, seen in seen == ending }) {
                run.finding("the peer's reading ended with \(peer.observed.ending.rawValue), not \(ending.rawValue)", line: step.line)
            }
        case .completed(let name):
            guard let operation = run.scene.operations[name] else { throw CaseAbort("line \(step.line): no operation named '\(name)'") }
            if run.subject.registry.waitForCompletion(of: operation, within: run.evidenceBound(CaseRun.waitLimit)) == nil {
                run.finding("asynchronous operation \(name) did not complete within \(CaseRun.waitLimit)", line: step.line)
            }
        case .released(let name):
            let handle = try run.handle(name, step)
            guard run.subject.auditsHandles else {
                throw CaseAbort("line \(step.line): 'wait: {released: ...}' needs a provider whose handles come from the harness")
            }
            if !run.subject.registry.waitForRelease(of: handle, within: run.evidenceBound(CaseRun.waitLimit)) {
                run.finding("\(name) was not released within \(CaseRun.waitLimit)", line: step.line)
            }
        case .delivered:
            try run.evidence.waitForAcknowledgement(ofSubject: false, bytes: run.scene.peerSent, step)
        case .acknowledged:
            try run.evidence.waitForAcknowledgement(ofSubject: true, bytes: run.scene.accepted, step)
        }
    }
}
