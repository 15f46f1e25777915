public import WireAnalysis

/// A connection's facts as `inspect --json` prints them, written by hand: the same bytes as `JSONEncoder` with
/// `.prettyPrinted, .sortedKeys, .withoutEscapingSlashes` makes of `ConnectionFacts` (a test holds them equal on
/// every committed capture), at a fraction of its cost, which was most of the JSON form's time.
public enum FactsJSON {
    /// The connection as a JSON object, its lines indented by `depth` levels of two spaces (the first line too).
    public static func connection(_ connection: ConnectionFacts, depth: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(value(connection), depth: depth, into: &out, indentFirst: true)
        return out
    }

    /// A JSON value before it is written out.
    enum Value {
        case int(Int64)
        case double(Double)
        case bool(Bool)
        case string(String)
        case array([Value])
        /// Keys in any order: they are written sorted.
        case object([(String, Value)])
    }

    static func value(_ c: ConnectionFacts) -> Value {
        var fields: [(String, Value)] = [
            ("anomalies", .array(c.anomalies.map(value))), ("client", .string(c.client)),
            ("directions", .array(c.directions.map(value))), ("end", .double(c.end)), ("family", .string(c.family.rawValue)),
            ("firstPacket", .int(Int64(c.firstPacket))), ("handshake", .bool(c.handshake)), ("index", .int(Int64(c.index))),
            ("lastPacket", .int(Int64(c.lastPacket))), ("server", .string(c.server)), ("start", .double(c.start)),
        ]
        if let close = c.firstClose {
            fields.append(
                (
                    "firstClose",
                    .object([
                        ("by", .string(close.by.rawValue)), ("bytesSent", .int(close.bytesSent)), ("kind", .string(close.kind.rawValue)),
                        ("packet", .int(Int64(close.packet))), ("sequence", .int(close.sequence)), ("time", .double(close.time)),
                    ])
                ))
        }
        return .object(fields)
    }

    static func value(_ a: Anomaly) -> Value {
        var fields: [(String, Value)] = [("detail", .string(a.detail)), ("kind", .string(a.kind.rawValue))]
        if let side = a.side { fields.append(("side", .string(side.rawValue))) }
        return .object(fields)
    }

    static func value(_ d: DirectionFacts) -> Value {
        var fields: [(String, Value)] = [
            ("bytesAcknowledged", .int(d.bytesAcknowledged)), ("bytesInOrder", .int(d.bytesInOrder)), ("bytesSent", .int(d.bytesSent)),
            ("dataAfterFin", .int(d.dataAfterFin)), ("duplicates", .int(Int64(d.duplicates))), ("from", .string(d.from)),
            ("resets", .array(d.resets.map(value))), ("retransmissions", .int(Int64(d.retransmissions))),
            ("segments", .int(Int64(d.segments))), ("side", .string(d.side.rawValue)), ("to", .string(d.to)),
        ]
        if let first = d.firstData { fields.append(("firstData", .double(first))) }
        if let last = d.lastData { fields.append(("lastData", .double(last))) }
        if let fin = d.fin {
            fields.append(
                (
                    "fin",
                    .object([
                        ("acknowledged", .bool(fin.acknowledged)), ("followsAllData", .bool(fin.followsAllData)),
                        ("onData", .bool(fin.onData)),
                        ("packet", .int(Int64(fin.packet))), ("retransmissions", .int(Int64(fin.retransmissions))),
                        ("sequence", .int(fin.sequence)), ("time", .double(fin.time)),
                    ])
                ))
        }
        return .object(fields)
    }

    static func value(_ r: ResetFacts) -> Value {
        var fields: [(String, Value)] = [
            ("ack", .bool(r.ack)), ("afterOwnFin", .bool(r.afterOwnFin)), ("afterPeerFin", .bool(r.afterPeerFin)),
            ("packet", .int(Int64(r.packet))), ("peerUnacknowledgedBytes", .int(r.peerUnacknowledgedBytes)),
            ("sequence", .int(r.sequence)), ("time", .double(r.time)), ("unacknowledgedBytes", .int(r.unacknowledgedBytes)),
        ]
        if let acknowledgement = r.acknowledgement { fields.append(("acknowledgement", .int(acknowledgement))) }
        return .object(fields)
    }

    static func write(_ value: Value, depth: Int, into out: inout [UInt8], indentFirst: Bool = false) {
        if indentFirst { indent(depth, &out) }
        switch value {
        case .int(let number): out.append(contentsOf: String(number).utf8)
        case .double(let number): out.append(contentsOf: format(number).utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .string(let text): string(text, &out)
        case .array(let items):
            out.append(contentsOf: "[\n".utf8)
            if items.isEmpty {
                out.append(newline)
            } else {
                for (position, item) in items.enumerated() {
                    write(item, depth: depth + 1, into: &out, indentFirst: true)
                    if position < items.count - 1 { out.append(comma) }
                    out.append(newline)
                }
            }
            indent(depth, &out)
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(contentsOf: "{\n".utf8)
            let sorted = fields.sorted { $0.0 < $1.0 }
            for (position, field) in sorted.enumerated() {
                indent(depth + 1, &out)
                string(field.0, &out)
                out.append(contentsOf: " : ".utf8)
                write(field.1, depth: depth + 1, into: &out)
                if position < sorted.count - 1 { out.append(comma) }
                out.append(newline)
            }
            indent(depth, &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    static let newline = UInt8(ascii: "\n")
    static let comma = UInt8(ascii: ",")

    static func indent(_ depth: Int, _ out: inout [UInt8]) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    /// A number as JSONEncoder writes it: Swift's shortest form, without the ".0" of a whole number.
    static func format(_ number: Double) -> String {
        let text = number.description
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// A string in quotes, escaped as JSONEncoder escapes it (slashes left alone).
    static func string(_ text: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let plain = text.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        if plain {
            out.append(contentsOf: text.utf8)
        } else {
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out.append(contentsOf: "\\\"".utf8)
                case "\\": out.append(contentsOf: "\\\\".utf8)
                case "\n": out.append(contentsOf: "\\n".utf8)
                case "\r": out.append(contentsOf: "\\r".utf8)
                case "\t": out.append(contentsOf: "\\t".utf8)
                case "\u{8}": out.append(contentsOf: "\\b".utf8)
                case "\u{C}": out.append(contentsOf: "\\f".utf8)
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
                default: out.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
