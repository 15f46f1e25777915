import Foundation
import WireAnalysis

/// A ladder drawn as SVG, row by row as `TextLadder` lays it out: the subject's calls on the left (a bar for
/// a call others happen during), the segments between the two axes, the peer's observations on the right.
enum LadderSVG {
    static let width = 1300
    static let timeRight = 78
    static let leftAxis = 540
    static let rightAxis = 900
    static let rowHeight = 24
    static let top = 46

    static func render(_ ladder: Ladder) -> String {
        let lines = ladder.lines
        let height = top + lines.count * rowHeight + (ladder.omitted > 0 ? 30 : 12)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            role="img" aria-label="ladder diagram">
            <text x="\(timeRight)" y="18" class="head" text-anchor="end">time</text>
            <text x="\(leftAxis)" y="18" class="head" text-anchor="middle">\(Markup.escape(ladder.left))</text>
            <text x="\((leftAxis + rightAxis) / 2)" y="18" class="head" text-anchor="middle">wire</text>
            <text x="\(rightAxis)" y="18" class="head" text-anchor="middle">\(Markup.escape(ladder.right))</text>
            <line x1="\(leftAxis)" y1="26" x2="\(leftAxis)" y2="\(height - 6)" class="axis"/>
            <line x1="\(rightAxis)" y1="26" x2="\(rightAxis)" y2="\(height - 6)" class="axis"/>

            """
        // A bar beside the subject's axis for each call that other events happen during, one column per thread;
        // the calls' text stands clear of all the bars.
        var threads = ["main"]
        for thread in ladder.events.compactMap(\.thread) where !threads.contains(thread) { threads.append(thread) }
        let leftText = leftAxis - 14 - 7 * (threads.count - 1)
        var endRows: [Int: Int] = [:]
        for (index, line) in lines.enumerated() where line.row.part == .end { endRows[line.row.event] = index }
        for (index, line) in lines.enumerated() where line.row.part == .start {
            guard let end = endRows[line.row.event] else { continue }
            let event = ladder.events[line.row.event]
            let x = leftAxis - 8 - 7 * (threads.firstIndex(of: event.thread ?? "main") ?? 0)
            svg +=
                "<line x1=\"\(x)\" y1=\"\(y(index) - 4)\" x2=\"\(x)\" y2=\"\(y(end) - 4)\" class=\"bar bar-\(resultClass(event))\"/>\n"
        }
        for (index, line) in lines.enumerated() {
            svg += draw(ladder.events[line.row.event], line.row, line.text, at: y(index), leftText: leftText)
        }
        if ladder.omitted > 0 {
            svg += "<text x=\"\(leftAxis)\" y=\"\(height - 10)\" class=\"note\">... and \(ladder.omitted) more events</text>\n"
        }
        return svg + "</svg>"
    }

    static func y(_ row: Int) -> Int { top + row * rowHeight }

    static func draw(_ event: LadderEvent, _ row: LadderRow, _ full: String, at y: Int, leftText: Int) -> String {
        let limit = event.lane == .left ? 64 : event.lane == .right ? 56 : 54
        let text = Markup.escape(full.count > limit ? String(full.prefix(limit - 1)) + "\u{2026}" : full)
        let tooltip = full.count > limit ? "<title>\(Markup.escape(full))</title>" : ""
        var svg = "<text x=\"\(timeRight)\" y=\"\(y)\" class=\"time\" text-anchor=\"end\">\(Ladder.format(duration: row.time))</text>"
        switch event.lane {
        case .left:
            let kind = event.kind == .call ? resultClass(event) : event.kind.rawValue
            if event.kind == .fault {
                svg += "<path d=\"M\(leftAxis - 5) \(y - 12) l10 0 l-5 9 z\" class=\"fault-mark\"/>"
            }
            svg +=
                "<text x=\"\(leftText)\" y=\"\(y)\" class=\"t-\(kind)\" text-anchor=\"end\">\(tooltip)\(text)</text>"
        case .right:
            let kind = event.kind.rawValue
            svg += "<text x=\"\(rightAxis + 12)\" y=\"\(y)\" class=\"t-\(kind)\">\(tooltip)\(text)</text>"
        case .toRight, .toLeft:
            let (from, to) = event.lane == .toRight ? (leftAxis, rightAxis) : (rightAxis, leftAxis)
            let kind = event.kind.rawValue
            svg +=
                "<line x1=\"\(from)\" y1=\"\(y + 3)\" x2=\"\(to)\" y2=\"\(y + 9)\" class=\"seg seg-\(kind)\" marker-end=\"url(#arrow-\(kind))\"/>"
            svg +=
                "<text x=\"\((leftAxis + rightAxis) / 2)\" y=\"\(y - 1)\" class=\"t-\(kind) label\" text-anchor=\"middle\">\(tooltip)\(text)</text>"
        }
        return svg + "\n"
    }

    /// A call that failed is drawn in the failure colour, one that never returned in the error colour.
    static func resultClass(_ event: LadderEvent) -> String {
        if event.end == nil { return "stuck" }
        return event.failed == true ? "failed" : "call"
    }

    static let colours: [(kind: String, colour: String)] = [
        ("handshake", "#2e7d32"), ("data", "#37474f"), ("fin", "#1565c0"), ("rst", "#c62828"), ("ack", "#78909c"),
        ("retransmission", "#ef6c00"), ("call", "#222222"), ("failed", "#ad1457"), ("stuck", "#c62828"), ("step", "#4e342e"),
        ("observation", "#4e342e"), ("fault", "#b71c1c"),
    ]

    /// The arrowheads every ladder of a report uses, defined once in the page.
    static let definitions =
        "<svg width=\"0\" height=\"0\" style=\"position:absolute\"><defs>\n"
        + colours.prefix(6).map { kind, colour in
            "<marker id=\"arrow-\(kind)\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
                + "orient=\"auto-start-reverse\"><path d=\"M0 0 L10 5 L0 10 z\" fill=\"\(colour)\"/></marker>"
        }.joined(separator: "\n") + "\n</defs></svg>"

    static let style =
        """
        svg.ladder { font: 11px "DejaVu Sans Mono", ui-monospace, monospace; background: #fff; border: 1px solid #ddd; }
        svg.ladder .head { font-weight: bold; fill: #333; }
        svg.ladder .axis { stroke: #555; stroke-width: 2; }
        svg.ladder .time, svg.ladder .note { fill: #888; }
        svg.ladder line.seg { stroke-width: 1.6; }
        svg.ladder line.seg-retransmission { stroke-dasharray: 6 3; }
        svg.ladder text.label { paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
        svg.ladder .t-fin, svg.ladder .t-rst, svg.ladder .t-stuck, svg.ladder .t-fault { font-weight: bold; }
        svg.ladder .bar { stroke-width: 4; stroke-linecap: round; opacity: 0.5; }
        svg.ladder .fault-mark { fill: #ffb300; stroke: #b71c1c; }

        """
        + colours.map { kind, colour in
            "svg.ladder text.t-\(kind) { fill: \(colour); } svg.ladder line.seg-\(kind), svg.ladder line.bar-\(kind) { stroke: \(colour); }"
        }.joined(separator: "\n")
}
