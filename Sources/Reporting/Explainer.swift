public import Conformance
import Foundation
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
        var text = step.words
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
