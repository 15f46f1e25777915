import FaultInjection
import Harness
import ProviderInterface
import Yams

/// Turns one case's substituted YAML into an instance: setup, peer, steps and expectations.
struct InstanceParser {
    let reader: NodeReader
    let header: Header
    let parameters: [(name: String, value: String)]

    static let stepKeys: Set<String> = ["handle", "thread", "expect", "within", "about", "as", "peer", "bytes"]
    static let actions = Set(StepKinds.byKeyword.keys)

    func parse(_ root: Node) throws(CaseFileError) -> CaseInstance {
        let fields = Dictionary(try reader.mapping(root, what: "a case"), uniquingKeysWith: { first, _ in first })
        let setup = try fields["setup"].map { node throws(CaseFileError) in try parseSetup(node) } ?? Setup()
        let peer = try fields["peer"].map { node throws(CaseFileError) in try parsePeer(node) } ?? PeerBehaviour()
        guard let stepsNode = fields["steps"] else { throw reader.fail(root, "the case has no 'steps'") }
        guard let stepList = stepsNode.sequence, !stepList.isEmpty else {
            throw reader.fail(stepsNode, "expected 'steps' as a list of steps")
        }
        var steps: [Step] = []
        for node in stepList { steps.append(try parseStep(node, setup: setup)) }
        let faults = try FaultPlanLoader.parse(fields["faults"], reader)
        let expect = try fields["expect"].map { node throws(CaseFileError) in try parseExpect(node, setup: setup) } ?? FinalExpectations()
        let suffix = parameters.isEmpty ? "" : "[" + parameters.map { "\($0.name)=\($0.value)" }.joined(separator: ",") + "]"
        var requires = header.requires
        var requirementNames = header.requirementNames
        if setup.family == .ipv6 && !requires.contains(.ipv6) {
            requires.insert(.ipv6)
            requirementNames.append("ipv6")
        }
        return CaseInstance(
            id: header.id + suffix, caseID: header.id, title: header.title, statements: header.statements, level: header.level,
            requires: requires, requirementNames: requirementNames, why: header.why, exclusive: header.exclusive, parameters: parameters,
            setup: setup, peer: peer,
            steps: steps, faults: faults, expect: expect, location: header.location)
    }

    func parseSetup(_ node: Node) throws(CaseFileError) -> Setup {
        var setup = Setup()
        for (key, value) in try reader.mapping(node, what: "setup", allowed: ["kind", "role", "family", "subject-send-buffer", "backlog"]) {
            switch key {
            case "kind":
                let text = try reader.string(value, "the setup kind")
                guard let kind = Setup.Kind(rawValue: text) else {
                    throw reader.fail(value, "expected the setup kind as connected, listening or none, not '\(text)'")
                }
                setup.kind = kind
            case "role":
                let text = try reader.string(value, "the role")
                guard let role = Role(rawValue: text) else {
                    throw reader.fail(value, "expected the role as client or server, not '\(text)'")
                }
                setup.role = role
            case "family":
                let text = try reader.string(value, "the family")
                guard let family = SocketAddress.Family(rawValue: text) else {
                    throw reader.fail(value, "expected the family as ipv4 or ipv6, not '\(text)'")
                }
                setup.family = family
            case "subject-send-buffer": setup.subjectSendBuffer = try reader.size(value, "the subject's send buffer")
            default: setup.backlog = try reader.integer(value, "the backlog", in: 0...65535)
            }
        }
        return setup
    }

    func parsePeer(_ node: Node) throws(CaseFileError) -> PeerBehaviour {
        var peer = PeerBehaviour()
        for (key, value) in try reader.mapping(node, what: "peer", allowed: ["reads", "receive-buffer", "chunk", "pause"]) {
            switch key {
            case "reads":
                let text = try reader.string(value, "how the peer reads")
                switch text {
                case "at-once": peer.reads = .atOnce
                case "never": peer.reads = .never
                case "slowly": peer.reads = .slowly(chunk: 16384, pause: .milliseconds(1))
                default: throw reader.fail(value, "expected how the peer reads as at-once, slowly or never, not '\(text)'")
                }
            case "receive-buffer": peer.receiveBuffer = try reader.size(value, "the peer's receive buffer")
            case "chunk", "pause":
                guard case .slowly(var chunk, var pause) = peer.reads else {
                    throw reader.fail(value, "'\(key)' needs 'reads: slowly' before it")
                }
                if key == "chunk" { chunk = try reader.size(value, "the chunk") } else { pause = try reader.duration(value, "the pause") }
                peer.reads = .slowly(chunk: chunk, pause: pause)
            default: break
            }
        }
        return peer
    }

    func parseStep(_ node: Node, setup: Setup) throws(CaseFileError) -> Step {
        let pairs = try reader.mapping(node, what: "a step", allowed: Self.stepKeys.union(Self.actions))
        let actionPairs = pairs.filter { Self.actions.contains($0.0) }
        guard actionPairs.count == 1, let (name, argument) = actionPairs.first else {
            throw reader.fail(
                node, "expected exactly one action in a step (\(Self.actions.sorted().joined(separator: ", "))), found \(actionPairs.count)"
            )
        }
        let extra = Dictionary(pairs.filter { !Self.actions.contains($0.0) }, uniquingKeysWith: { first, _ in first })
        let defaultHandle = setup.kind == .listening ? "l" : "s"
        var handle = try extra["handle"].map { node throws(CaseFileError) in try reader.string(node, "the handle") } ?? defaultHandle
        let thread = try extra["thread"].map { node throws(CaseFileError) in try reader.string(node, "the thread") } ?? "main"
        let peerName = try extra["peer"].map { node throws(CaseFileError) in try reader.string(node, "the peer") } ?? "peer"
        var syntax = StepSyntax(reader: reader, node: node, keyword: name, argument: argument, extra: extra, handle: handle, peer: peerName)
        let action = try StepKinds.byKeyword[name]!.parse(&syntax)
        handle = syntax.handle
        var expect: CallExpectation?
        if let node = extra["expect"] { expect = try parseResult(node) }
        var timing: Timing?
        if let node = extra["within"] {
            let text = try reader.string(node, "within")
            timing = text == "at-once" ? .atOnce : .within(try reader.duration(node, "within (at-once or a duration)"))
        }
        if let node = extra["about"] { timing = .about(try reader.duration(node, "about")) }
        if thread != "main", action is WaitStep { throw reader.fail(node, "a wait runs on the main thread; remove 'thread'") }
        return Step(action: action, handle: handle, thread: thread, expect: expect, timing: timing, line: node.mark?.line ?? 0)
    }

    func parseResult(_ node: Node) throws(CaseFileError) -> CallExpectation {
        let names = try reader.strings(node, "the expected result")
        var results: [CallExpectation] = []
        for name in names {
            switch name {
            case "ok": results.append(.ok)
            case "end-of-stream": results.append(.endOfStream)
            case "partial": results.append(.partial)
            default:
                guard let error = SocketError(name: name) else {
                    throw reader.fail(
                        node, "expected the result as ok, end-of-stream, partial or a named error such as notSocket, not '\(name)'")
                }
                results.append(.error(error))
            }
        }
        return results.count == 1 ? results[0] : .oneOf(results)
    }

    func parseExpect(_ node: Node, setup: Setup) throws(CaseFileError) -> FinalExpectations {
        var expect = FinalExpectations()
        for (key, value) in try reader.mapping(node, what: "expect", allowed: ["peer", "wire", "operations"]) {
            let items = value.sequence.map(Array.init) ?? [value]
            switch key {
            case "peer":
                for item in items { expect.peers.append(try parsePeerExpectation(item)) }
            case "wire":
                guard setup.kind != .none else {
                    throw reader.fail(
                        value, "wire expectations need a connection or a listener to capture ('setup: kind: none' has neither)")
                }
                for item in items { expect.wire.append(try parseWire(item)) }
            default:
                for (operation, result) in try reader.mapping(value, what: "operations") {
                    expect.operations.append(
                        OperationExpectation(operation: operation, result: try parseResult(result), line: result.mark?.line ?? 0))
                }
            }
        }
        return expect
    }

    func parsePeerExpectation(_ node: Node) throws(CaseFileError) -> PeerExpectation {
        var expectation = PeerExpectation(peer: "peer", line: node.mark?.line ?? 0)
        for (key, value) in try reader.mapping(node, what: "a peer expectation", allowed: ["peer", "read", "ending"]) {
            switch key {
            case "peer": expectation.peer = try reader.string(value, "the peer")
            case "read":
                switch try reader.string(value, "what the peer read") {
                case "accepted": expectation.read = .accepted
                case "prefix": expectation.read = .prefix
                case "none": expectation.read = PeerExpectation.Amount.none
                default: expectation.read = .exactly(try reader.size(value, "what the peer read (accepted, prefix, none or a count)"))
                }
            default:
                let text = try reader.string(value, "the ending")
                guard let ending = Ending(rawValue: text) else {
                    throw reader.fail(value, "expected the ending as end-of-stream, reset or open, not '\(text)'")
                }
                expectation.ending = ending
            }
        }
        return expectation
    }

    func parseWire(_ node: Node) throws(CaseFileError) -> WireExpectation {
        var expectation = WireExpectation(side: "subject", connection: "peer", line: node.mark?.line ?? 0)
        for (key, value) in try reader.mapping(node, what: "a wire expectation", allowed: ["side", "connection", "fin", "rst"]) {
            let text = try reader.string(value, key)
            switch key {
            case "side": expectation.side = text
            case "connection": expectation.connection = text
            case "fin":
                switch text {
                case "after-accepted": expectation.fin = .afterAccepted
                case "none": expectation.fin = WireExpectation.Fin.none
                case "present": expectation.fin = .present
                default: throw reader.fail(value, "expected fin as after-accepted, present or none, not '\(text)'")
                }
            default:
                switch text {
                case "none": expectation.rst = WireExpectation.Reset.none
                case "present": expectation.rst = .present
                case "after-fin": expectation.rst = .afterFin
                default: throw reader.fail(value, "expected rst as none, present or after-fin, not '\(text)'")
                }
            }
        }
        guard expectation.side == "subject" || expectation.side == "peer" else {
            throw reader.fail(node, "expected side as subject or peer, not '\(expectation.side)'")
        }
        return expectation
    }
}
