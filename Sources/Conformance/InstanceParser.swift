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
    static let actions: Set<String> = [
        "socket", "listen", "accept", "connect", "send", "fill", "receive", "close", "shutdown", "linger", "dont-linger", "get-linger",
        "blocking", "duplicate", "start-receive", "start-send", "start-accept", "every-call", "churn", "peer-send", "peer-read",
        "peer-close", "peer-shutdown", "peer-connect", "wait", "wire-quiet", "cleanup", "buffer-untouched", "release",
    ]

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
        func named(_ what: String) throws(CaseFileError) -> String {
            guard let node = extra["as"] else { throw reader.fail(node, "'\(name)' needs 'as: NAME' for the \(what) it makes") }
            return try reader.string(node, "the name")
        }
        func bytes(default value: Int) throws(CaseFileError) -> Int {
            try extra["bytes"].map { node throws(CaseFileError) in try reader.size(node, "the byte count") } ?? value
        }
        let action: Action
        switch name {
        case "socket": action = .socket(as: try reader.string(argument, "the new handle's name"))
        case "listen":
            handle = try reader.string(argument, "the handle")
            action = .listen
        case "accept":
            handle = try reader.string(argument, "the listening handle")
            action = .accept(as: try named("handle"))
        case "connect":
            let text = try reader.string(argument, "where to connect")
            guard let target = ConnectTarget(rawValue: text) else {
                throw reader.fail(argument, "expected where to connect as peer or stalled, not '\(text)'")
            }
            action = .connect(to: target)
        case "send": action = .send(bytes: try reader.size(argument, "the bytes to send"))
        case "fill":
            handle = try reader.string(argument, "the handle")
            action = .fill(limit: try extra["bytes"].map { node throws(CaseFileError) in try reader.size(node, "the most bytes to send") })
        case "receive": action = .receive(bytes: try reader.size(argument, "the bytes to receive"))
        case "close", "every-call":
            handle = try reader.string(argument, "the handle")
            action = name == "close" ? .close : .everyCall
        case "shutdown":
            let text = try reader.string(argument, "the direction")
            let directions: [String: Int32] = ["receive": 0, "send": 1, "both": 2]
            guard let direction = directions[text] ?? Int32(text) else {
                throw reader.fail(argument, "expected the direction as send, receive, both or a number, not '\(text)'")
            }
            action = .shutdown(direction)
        case "linger": action = try parseLinger(argument)
        case "dont-linger": action = .dontLinger(try reader.bool(argument, "dont-linger"))
        case "get-linger":
            guard case .setLinger(let linger) = try parseLinger(argument) else {
                throw reader.fail(argument, "expected the linger value to read back as off, 0 or a timeout such as 2s")
            }
            action = .getLinger(expected: linger)
        case "blocking": action = .setBlocking(try reader.bool(argument, "blocking"))
        case "duplicate":
            handle = try reader.string(argument, "the handle")
            action = .duplicate(as: try named("handle"))
        case "start-receive":
            action = .startReceive(as: try reader.string(argument, "the operation's name"), bytes: try bytes(default: 65536))
        case "start-send": action = .startSend(as: try reader.string(argument, "the operation's name"), bytes: try bytes(default: 65536))
        case "start-accept":
            handle = try extra["handle"].map { node throws(CaseFileError) in try reader.string(node, "the handle") } ?? "l"
            action = .startAccept(as: try reader.string(argument, "the operation's name"))
        case "churn": action = .churn(try reader.integer(argument, "how many sockets to create and close", in: 0...100_000))
        case "peer-send": action = .peerSend(peer: peerName, bytes: try reader.size(argument, "the bytes the peer sends"))
        case "peer-read":
            let text = try reader.string(argument, "the bytes the peer reads")
            switch text {
            case "all": action = .peerRead(peer: peerName, bytes: nil)
            case "accepted": action = .peerReadAccepted(peer: peerName)
            default:
                action = .peerRead(peer: peerName, bytes: try reader.size(argument, "the bytes the peer reads (all, accepted or a count)"))
            }
        case "peer-close":
            let text = try reader.string(argument, "how the peer closes")
            guard text == "graceful" || text == "abortive" else {
                throw reader.fail(argument, "expected how the peer closes as graceful or abortive, not '\(text)'")
            }
            action = .peerClose(peer: peerName, abortive: text == "abortive")
        case "peer-shutdown": action = .peerShutdown(peer: try reader.string(argument, "the peer"))
        case "peer-connect": action = .peerConnect(as: try reader.string(argument, "the new peer's name"))
        case "wire-quiet": action = .wireQuiet
        case "cleanup": action = .cleanup
        case "release": action = .release(gate: try reader.string(argument, "the gate"))
        case "buffer-untouched": action = .bufferUntouched(thread: try reader.string(argument, "the thread of the receive"))
        default: action = .wait(try parseWait(argument))
        }
        var expect: CallExpectation?
        if let node = extra["expect"] { expect = try parseResult(node) }
        var timing: Timing?
        if let node = extra["within"] {
            let text = try reader.string(node, "within")
            timing = text == "at-once" ? .atOnce : .within(try reader.duration(node, "within (at-once or a duration)"))
        }
        if let node = extra["about"] { timing = .about(try reader.duration(node, "about")) }
        if thread != "main", case .wait = action { throw reader.fail(node, "a wait runs on the main thread; remove 'thread'") }
        return Step(action: action, handle: handle, thread: thread, expect: expect, timing: timing, line: node.mark?.line ?? 0)
    }

    func parseLinger(_ node: Node) throws(CaseFileError) -> Action {
        if let fields = node.mapping {
            var on: Bool?
            var seconds: Int?
            for (key, value) in try reader.mapping(.mapping(fields), what: "a linger value", allowed: ["on", "seconds"]) {
                if key == "on" {
                    on = try reader.bool(value, "on")
                } else {
                    seconds = try reader.integer(value, "seconds", in: Int(Int32.min)...Int(Int32.max))
                }
            }
            guard let on, let seconds else { throw reader.fail(node, "a raw linger value needs both 'on' and 'seconds'") }
            return .setLingerRaw(on: on, seconds: seconds)
        }
        let text = try reader.string(node, "the linger value")
        if text == "off" { return .setLinger(.off) }
        if let seconds = Int32(text).map(Int.init) ?? NodeReader.parseDuration(text).map({ Int($0.components.seconds) }) {
            return .setLinger(.timeout(seconds))
        }
        throw reader.fail(node, "expected linger as off, a timeout in seconds (0 is abortive) such as 1s, or {on: BOOL, seconds: N}")
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

    func parseWait(_ node: Node) throws(CaseFileError) -> Wait {
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
