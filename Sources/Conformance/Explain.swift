import Harness
import ProviderInterface
import WireAnalysis

/// Case instances in words, for `teardown explain`.
public enum Explainer {
    public static func explain(_ instance: CaseInstance, statements: [Statement]) -> String {
        var lines = ["\(instance.id): \(instance.title)", "  file: \(instance.location)", "  level: \(instance.level.rawValue)"]
        if !instance.requirementNames.isEmpty { lines.append("  requires: \(instance.requirementNames.joined(separator: ", "))") }
        lines.append("")
        for id in instance.statements {
            let statement = statements.first { $0.id == id }
            lines.append("\(id) (\(statement?.level.rawValue.uppercased() ?? "?")): \(statement?.text ?? "")")
        }
        if let why = instance.why { lines += ["", "Why: \(why)"] }
        lines += ["", "Setup: " + describe(instance.setup, instance.peer), "", "Steps:"]
        for (index, step) in instance.steps.enumerated() { lines.append("  \(index + 1). \(describe(step))") }
        let expect = instance.expect
        if !expect.peers.isEmpty || !expect.wire.isEmpty || !expect.operations.isEmpty {
            lines += ["", "Expected at the end:"]
            for peer in expect.peers { lines.append("  - " + describe(peer)) }
            for wire in expect.wire { lines.append("  - " + describe(wire)) }
            for operation in expect.operations {
                lines.append("  - asynchronous \(operation.operation) completes exactly once, with \(operation.result)")
            }
        }
        lines += [
            "", "Always: every handle the provider obtained is released exactly once and never named again (HANDLE-1..4),",
            "no socket of the case is left open in the process, and no call is left pending.",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// A result in words: its verdict, what did not hold, its pcap, and its ladder.
    public static func outcome(_ result: CaseResult) -> String {
        var lines = ["  verdict: \(result.verdict.rawValue)" + (result.expectedDeviation.map { " (known deviation: \($0))" } ?? "")]
        for message in result.messages { lines.append("  - \(message)") }
        for fault in result.faults ?? [] { lines.append("  fault \(fault)") }
        if let pcap = result.pcap { lines.append("  pcap: \(pcap)") }
        var text = lines.joined(separator: "\n") + "\n"
        if let ladder = result.ladder { text += "\n" + TextLadder.render(ladder) }
        return text
    }

    static func describe(_ setup: Setup, _ peer: PeerBehaviour) -> String {
        let reading: String =
            switch peer.reads {
            case .atOnce: "reads at once"
            case .never: "does not read unless a step says so"
            case .slowly(let chunk, let pause): "reads slowly (\(sizeText(chunk)) then a \(pause) pause)"
            }
        let buffer = peer.receiveBuffer.map { ", receive buffer \(sizeText($0))" } ?? ""
        switch setup.kind {
        case .none: return "nothing; the steps create the sockets (\(setup.family))."
        case .listening:
            return "subject handle l listens on \(setup.family) loopback (backlog \(setup.backlog)); the peer \(reading)\(buffer)."
        case .connected:
            return
                "subject handle s is the \(setup.role) of an \(setup.family == .ipv4 ? "IPv4" : "IPv6") loopback connection; the harness's peer \(reading)\(buffer)."
        }
    }

    static func describe(_ step: Step) -> String {
        let on = " on \(step.handle)"
        var text: String
        switch step.action {
        case .socket(let name): text = "create a socket, named \(name)"
        case .listen: text = "listen\(on)"
        case .accept(let name): text = "accept\(on), naming the new handle \(name)"
        case .connect(let target):
            text =
                target == .stalled
                ? "connect\(on) to a listener whose queue is full (stays in progress)" : "connect\(on) to the peer's listener"
        case .send(let bytes): text = "send \(sizeText(bytes))\(on)"
        case .fill(let limit):
            text = "send\(on) without blocking until the provider would block (the peer's window and the buffers are full)"
            if let limit { text += " or \(sizeText(limit)) are accepted" }
        case .receive(let bytes): text = "receive up to \(sizeText(bytes))\(on)"
        case .close: text = "close \(step.handle)"
        case .shutdown(let direction):
            text =
                "shutdown(\(["receive", "send", "both"].indices.contains(Int(direction)) ? ["receive", "send", "both"][Int(direction)] : String(direction)))\(on)"
        case .setLinger(let linger): text = "set \(linger)\(on)"
        case .setLingerRaw(let on_, let seconds): text = "set linger {on: \(on_), seconds: \(seconds)}\(on)"
        case .dontLinger(let flag): text = "set SO_DONTLINGER \(flag)\(on)"
        case .getLinger(let expected): text = "read linger\(on); it must read back \(expected)"
        case .setBlocking(let flag): text = "make \(step.handle) \(flag ? "blocking" : "nonblocking")"
        case .duplicate(let name): text = "duplicate \(step.handle), naming the copy \(name)"
        case .startReceive(let name, let bytes): text = "start an asynchronous receive of \(sizeText(bytes))\(on), named \(name)"
        case .startSend(let name, let bytes): text = "start an asynchronous send of \(sizeText(bytes))\(on), named \(name)"
        case .startAccept(let name): text = "start an asynchronous accept\(on), named \(name)"
        case .everyCall: text = "call send, receive, shutdown, options, blocking, duplicate and close\(on)"
        case .churn(let count): text = "create and close \(count) sockets"
        case .peerSend(let peer, let bytes): text = "the \(peer) sends \(sizeText(bytes))"
        case .peerRead(let peer, let bytes): text = "the \(peer) reads \(bytes.map(sizeText) ?? "until the stream ends")"
        case .peerReadAccepted(let peer): text = "the \(peer) reads every byte accepted so far"
        case .peerClose(let peer, let abortive): text = "the \(peer) closes \(abortive ? "abortively (RST)" : "gracefully")"
        case .peerShutdown(let peer): text = "the \(peer) shuts down sending (FIN)"
        case .peerConnect(let name): text = "a new peer, \(name), connects to the subject's listener"
        case .wireQuiet: text = "nothing from the subject reaches the wire (no FIN, no RST)"
        case .cleanup: text = "run the provider's cleanup (every handle still open is closed abortively and released)"
        case .release(let gate): text = "release the calls the fault plan holds on gate \(gate)"
        case .bufferUntouched(let thread):
            text = "the buffer of the receive on thread \(thread) holds nothing written after the call returned"
        case .wait(let wait):
            switch wait {
            case .pending(let thread): text = "wait until the call on thread \(thread) is pending inside the provider"
            case .returned(let thread): text = "wait until the call on thread \(thread) returns"
            case .peerRead(let peer, let bytes): text = "wait until the \(peer) has read \(bytes.map(sizeText) ?? "every accepted byte")"
            case .peerEnding(let peer, let ending): text = "wait until the \(peer)'s reading ends with \(ending.rawValue)"
            case .completed(let operation): text = "wait until \(operation) completes"
            case .acknowledged: text = "wait until the peer has acknowledged every accepted byte (on the wire)"
            case .released(let name): text = "wait until the provider has released \(name) (through the upcalls)"
            case .delivered: text = "wait until the subject has acknowledged every byte the peer sent (on the wire)"
            }
        }
        if !step.isMain { text += ", on thread \(step.thread)" }
        if let expect = step.expect { text += "; expect \(expect)" }
        if let timing = step.timing { text += ", \(timing)" }
        return text + "   (line \(step.line))"
    }

    static func describe(_ peer: PeerExpectation) -> String {
        var parts: [String] = []
        switch peer.read {
        case .accepted?: parts.append("reads every byte send accepted, intact")
        case .prefix?: parts.append("reads an intact prefix of the accepted bytes")
        case .exactly(let count)?: parts.append("reads exactly \(sizeText(count)), intact")
        case .none?: parts.append("reads nothing")
        case nil: break
        }
        if let ending = peer.ending { parts.append("then \(ending.rawValue)") }
        return "the \(peer.peer) " + parts.joined(separator: ", ")
    }

    static func describe(_ wire: WireExpectation) -> String {
        var parts: [String] = []
        switch wire.fin {
        case .afterAccepted?: parts.append("FIN at N+1, N the bytes send accepted")
        case .present?: parts.append("a FIN")
        case .none?: parts.append("no FIN")
        case nil: break
        }
        switch wire.rst {
        case .none?: parts.append("no RST")
        case .present?: parts.append("an RST")
        case .afterFin?: parts.append("an RST after its FIN")
        case nil: break
        }
        return "on the wire the \(wire.side) sends " + parts.joined(separator: ", ")
            + (wire.connection == "peer" ? "" : " (connection \(wire.connection))")
    }
}
