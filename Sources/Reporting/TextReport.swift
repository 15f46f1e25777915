import Foundation
public import WireAnalysis

/// The human-readable form of a capture's teardown facts, as `teardown inspect` prints it.
public enum TextReport {
    /// The whole report at once: the title, each connection, then the totals.
    public static func render(_ facts: CaptureFacts, file: String) -> String {
        var text = title(file: file, linkType: facts.linkType)
        for connection in facts.connections { text += block(connection) }
        return text + totals(facts, connections: facts.connections.count)
    }

    /// The first line, printed before any packet is read.
    public static func title(file: String, linkType: String) -> String { "\(file) (\(linkType))\n" }

    /// One connection's block, after a blank line, as it is printed when the connection has ended.
    public static func block(_ connection: ConnectionFacts) -> String {
        "\n" + render(connection).joined(separator: "\n") + "\n"
    }

    /// The last lines: how many packets, segments and connections, what was skipped, whether the file was cut short.
    public static func totals(_ facts: CaptureFacts, connections: Int) -> String {
        var lines = [""]
        let skipped = facts.skipped.reduce(0) { $0 + $1.count }
        lines.append(
            "\(facts.packets) packets, \(facts.tcpSegments) TCP segments, \(connections) connection\(connections == 1 ? "" : "s")"
                + (skipped > 0 ? ", \(skipped) skipped" : ""))
        for group in facts.skipped {
            lines.append(
                "  skipped \(group.count) packet\(group.count == 1 ? "" : "s"): \(group.reason) (first: packet \(group.firstPacket))")
        }
        if let truncated = facts.truncated { lines.append("  capture ends early: \(truncated)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func render(_ connection: ConnectionFacts) -> [String] {
        var lines = [
            "#\(connection.index) \(connection.client) -> \(connection.server)"
                + (connection.handshake ? "" : " (no handshake in the capture: roles guessed)")
                + String(format3: connection.start, connection.end)
        ]
        if let close = connection.firstClose {
            let sent = connection.direction(close.by).bytesSent
            let position =
                sent == 0
                ? "having sent no data" : close.sequence == sent + 1 ? "after all \(sent) bytes it sent" : "though it sent \(sent) bytes"
            lines.append(
                "  closed first by the \(close.by): \(close.kind.rawValue) at seq \(close.sequence), \(position) (packet \(close.packet))")
        } else {
            lines.append("  not closed in the capture: no FIN, no RST")
        }
        for direction in connection.directions {
            var text = "  \(direction.side) sent \(direction.bytesSent) bytes, \(direction.bytesInOrder) in order, "
            text += "\(direction.bytesAcknowledged) acknowledged"
            if let fin = direction.fin {
                text += "; FIN at \(fin.sequence)\(fin.followsAllData ? " after all data" : " NOT after all data")"
                if fin.onData { text += " (on the last data segment)" }
                if fin.retransmissions > 0 { text += " (sent \(fin.retransmissions + 1) times)" }
            } else {
                text += "; no FIN"
            }
            for reset in direction.resets {
                text += "; RST at \(reset.sequence)\(reset.ack ? " with ACK" : "")"
                if reset.afterOwnFin { text += " after its FIN" }
            }
            if direction.retransmissions > 0 { text += "; \(direction.retransmissions) retransmitted" }
            if direction.duplicates > 0 { text += "; \(direction.duplicates) duplicates" }
            lines.append(text)
        }
        for anomaly in connection.anomalies {
            lines.append("  ! \(anomaly.kind.rawValue): \(anomaly.detail)")
        }
        return lines
    }
}

extension String {
    /// " (0.000123 s to 0.004567 s)" with microsecond precision.
    fileprivate init(format3 start: Double, _ end: Double) {
        self = " (\(decimal(start, places: 6)) s to \(decimal(end, places: 6)) s)"
    }
}
