import Foundation
public import WireAnalysis

/// A ladder drawn in text for a terminal: time, the left side, the wire, the right side.
public enum TextLadder {
    static let timeWidth = 11
    static let wireWidth = 46

    public static func render(_ ladder: Ladder) -> String {
        let lines = ladder.lines
        func widest(_ lane: LadderEvent.Lane) -> Int {
            lines.filter { ladder.events[$0.row.event].lane == lane }.map(\.text.count).max() ?? 0
        }
        // The left column is as wide as its longest text (a capture's ladder has none), up to 64.
        let sideWidth = min(64, max(ladder.left.count, widest(.left)))
        let rightWidth = max(ladder.right.count, widest(.right))
        var output = [
            pad("time", timeWidth, right: true) + "  " + pad(ladder.left, sideWidth) + "  " + pad("wire", wireWidth) + "  "
                + ladder.right,
            String(repeating: "-", count: timeWidth + sideWidth + wireWidth + 6 + min(rightWidth, 48)),
        ]
        for (row, text) in lines {
            let event = ladder.events[row.event]
            let time = pad(Ladder.format(duration: row.time), timeWidth, right: true)
            var left = "", wire = "", right = ""
            switch event.lane {
            case .left: left = text
            case .right: right = text
            case .toRight: wire = arrow(text, toRight: true)
            case .toLeft: wire = arrow(text, toRight: false)
            }
            let line = time + "  " + pad(left, sideWidth) + "  " + pad(wire, wireWidth) + "  " + right
            output.append(String(line.reversed().drop { $0 == " " }.reversed()))
        }
        if ladder.omitted > 0 { output.append("... and \(ladder.omitted) more events") }
        if ladder.events.isEmpty { output.append("(nothing to draw)") }
        return output.joined(separator: "\n") + "\n"
    }

    /// "text ----->" or "<----- text", as wide as the wire column when the text leaves room.
    static func arrow(_ text: String, toRight: Bool) -> String {
        let dashes = String(repeating: "-", count: max(3, wireWidth - text.count - 2))
        return toRight ? "\(text) \(dashes)>" : "<\(dashes) \(text)"
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let space = String(repeating: " ", count: width - text.count)
        return right ? space + text : text + space
    }
}
