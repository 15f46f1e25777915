/// A ladder diagram of one exchange: what one side did (left), the segments on the wire between the two
/// sides, and what the other side saw (right), in time order. `teardown inspect` draws a capture's ladder
/// (client left, server right); a case's ladder has the subject's calls on the left and the harness's peer
/// on the right. The text and SVG drawings both lay it out with `rows`.
public struct Ladder: Sendable, Codable, Equatable {
    public var left: String
    public var right: String
    public var events: [LadderEvent]
    /// Events left out once the ladder reached its limit.
    public var omitted: Int

    public init(left: String, right: String, events: [LadderEvent], omitted: Int = 0) {
        self.left = left
        self.right = right
        self.events = events
        self.omitted = omitted
    }

    /// One row per event, and two for a call that other events happen during (its start, then its return).
    public var rows: [LadderRow] {
        let order = events.indices.sorted { (events[$0].time, $0) < (events[$1].time, $1) }
        var rows: [LadderRow] = []
        for index in order {
            let event = events[index]
            guard let end = event.end, event.kind == .call else {
                rows.append(LadderRow(time: event.time, event: index, part: .whole))
                continue
            }
            let overlapped = events.indices.contains { other in
                other != index && events[other].time > event.time && events[other].time < end
            }
            if overlapped {
                rows.append(LadderRow(time: event.time, event: index, part: .start))
                rows.append(LadderRow(time: end, event: index, part: .end))
            } else {
                rows.append(LadderRow(time: event.time, event: index, part: .whole))
            }
        }
        return rows.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }

    /// Whether the events belong to more than one connection, so that each says which.
    public var connectionCount: Int { Set(events.compactMap(\.connection)).count }

    /// The rows in order, each with its words: what the text and the SVG drawings both lay out.
    public var lines: [(row: LadderRow, text: String)] {
        let numbered = connectionCount > 1
        return rows.map { ($0, text(of: $0, numbered: numbered)) }
    }

    /// The words of a row in its column; `numbered` when segments say which connection they belong to.
    func text(of row: LadderRow, numbered: Bool) -> String {
        let event = events[row.event]
        let thread = event.thread.map { $0 == "main" ? "" : " [\($0)]" } ?? ""
        let connection = numbered ? event.connection.map { "#\($0) " } ?? "" : ""
        let duration = event.end.map { " (\(Ladder.format(duration: $0 - event.time)))" } ?? ""
        switch (event.kind, row.part) {
        case (.call, .whole): return "\(event.text)\(thread) -> \(event.result ?? "?")\(duration)"
        case (.call, .start): return "\(event.text)\(thread) ..."
        case (.call, .end): return "... \(event.text)\(thread) -> \(event.result ?? "?")\(duration)"
        case (.fault, _): return "FAULT \(event.text)"
        default: return connection + event.text
        }
    }

    /// "12.345 ms" below a second, "1.234 s" above.
    public static func format(duration seconds: Double) -> String {
        seconds < 1 ? formatted(seconds * 1000, "ms") : formatted(seconds, "s")
    }

    static func formatted(_ value: Double, _ unit: String) -> String {
        "\(decimal(value, places: 3)) \(unit)"
    }
}

/// One thing in a ladder: a call on the left, an observation or step on the right, or a segment between.
public struct LadderEvent: Sendable, Codable, Equatable {
    public enum Lane: String, Sendable, Codable {
        case left, right
        /// A segment from the left side to the right, or back.
        case toRight, toLeft
    }

    public enum Kind: String, Sendable, Codable {
        /// A call with its result; `end` is when it returned.
        case call
        /// What a side saw (bytes read, end of stream, reset).
        case observation
        /// Something a side did that is not a provider call (the peer sends, closes).
        case step
        /// A fault injected into the call that follows it.
        case fault
        case handshake, data, fin, rst, ack, retransmission
    }

    /// Seconds since the ladder's origin.
    public var time: Double
    /// For a call, when it returned; for a run of data segments, the last one's time.
    public var end: Double?
    public var lane: Lane
    public var kind: Kind
    public var text: String
    /// A call's result.
    public var result: String?
    /// Whether a call failed (returned an error); nil for everything but calls that returned.
    public var failed: Bool?
    /// The thread a call ran on.
    public var thread: String?
    /// The connection a segment belongs to, by its index in the capture.
    public var connection: Int?

    public init(
        time: Double, end: Double? = nil, lane: Lane, kind: Kind, text: String, result: String? = nil, failed: Bool? = nil,
        thread: String? = nil, connection: Int? = nil
    ) {
        self.time = time
        self.end = end
        self.lane = lane
        self.kind = kind
        self.text = text
        self.result = result
        self.failed = failed
        self.thread = thread
        self.connection = connection
    }
}

/// A row of a ladder's layout: an event, or the start or the return of a call that others happen during.
public struct LadderRow: Sendable, Equatable {
    public enum Part: Sendable, Equatable { case whole, start, end }
    public var time: Double
    public var event: Int
    public var part: Part
}

/// Draws a capture's segments as ladder events, as the analyzer follows them: the handshake, runs of
/// consecutive data as sequence ranges, FIN, RST, retransmissions, and the acknowledgement of a FIN.
/// Pure acknowledgements are left out, and duplicates never reach it.
public struct WireLadder: Sendable {
    /// Which side of the ladder a segment comes from.
    public enum Sides: Sendable {
        /// The connection's client on the left (as `teardown inspect` draws).
        case clientLeft
        /// Segments from these ports come from the right; all others from the left.
        case rightPorts(Set<UInt16>)
    }

    /// Which side each segment is drawn from. It may be set after the segments were added (a live capture
    /// learns the harness's ports as the case goes): the sides are resolved when the ladder is finished.
    public var sides: Sides
    /// Nanoseconds since the Unix epoch that time 0 stands for; the first segment's time when nil.
    private var origin: Int64?
    let limit: Int
    /// The events drawn, each with the segment's source and its connection's client, to tell its side at the end.
    private var drawn: [(event: LadderEvent, source: Endpoint, client: Endpoint)] = []
    private(set) var omitted = 0
    private var run:
        (
            connection: Int, source: Endpoint, client: Endpoint, start: Int64, end: Int64, segments: Int, first: Int64, last: Int64
        )?
    /// Per connection and side, the relative sequence number just past its FIN.
    private var finEnds: [Int: [Int64?]] = [:]

    public init(sides: Sides, origin: Int64? = nil, limit: Int = 400) {
        self.sides = sides
        self.origin = origin
        self.limit = limit
    }

    /// Every event drawn so far, the run of data in progress included, each on the side `sides` says, and how many
    /// were left out past the limit.
    public var finished: (events: [LadderEvent], omitted: Int) {
        var copy = self
        copy.flush()
        let events = copy.drawn.map { drawn in
            var event = drawn.event
            event.lane = copy.fromLeft(drawn.source, client: drawn.client) ? .toRight : .toLeft
            return event
        }
        return (events, copy.omitted)
    }

    /// Whether a segment from `source` is drawn from the left.
    func fromLeft(_ source: Endpoint, client: Endpoint) -> Bool {
        switch sides {
        case .clientLeft: source == client
        case .rightPorts(let ports): !ports.contains(source.port)
        }
    }

    mutating func add(_ note: SegmentNote, connection: Int, source: Endpoint, client: Endpoint) {
        let origin = self.origin ?? note.time
        self.origin = origin
        // Drawn from the left for now; `finished` puts each event on its side.
        let lane = LadderEvent.Lane.toRight
        let flags = note.flags
        let bytes = note.dataEnd - note.dataStart
        let time = seconds(note.time, since: origin)
        if flags.contains(.syn) {
            flush()
            let name = flags.contains(.ack) ? "SYN+ACK" : "SYN"
            append(
                source, client,
                LadderEvent(
                    time: time, lane: lane, kind: note.retransmitted ? .retransmission : .handshake,
                    text: note.retransmitted ? "\(name) again" : name, connection: connection))
        } else if flags.contains(.rst) {
            flush()
            let ack = note.acknowledges.map { " ACK \($0)" } ?? ""
            append(
                source, client,
                LadderEvent(time: time, lane: lane, kind: .rst, text: "RST seq \(note.sequence)\(ack)", connection: connection))
        } else if flags.contains(.fin) {
            flush()
            let data = bytes > 0 ? "data \(note.dataStart):\(note.dataEnd) (\(bytes) bytes) + " : ""
            let text = note.retransmitted ? "FIN seq \(note.dataEnd) again" : "\(data)FIN seq \(note.dataEnd)"
            append(
                source, client,
                LadderEvent(
                    time: time, lane: lane, kind: note.retransmitted ? .retransmission : .fin, text: text, connection: connection))
            finEnds[connection, default: [nil, nil]][note.side] = note.dataEnd + 1
        } else if bytes > 0 {
            if note.retransmitted {
                flush()
                append(
                    source, client,
                    LadderEvent(
                        time: time, lane: lane, kind: .retransmission,
                        text: "retransmission \(note.dataStart):\(note.dataEnd) (\(bytes) bytes)", connection: connection))
            } else if let current = run, current.connection == connection, current.source == source, current.end == note.dataStart {
                run = (connection, source, client, current.start, note.dataEnd, current.segments + 1, current.first, note.time)
            } else {
                flush()
                run = (connection, source, client, note.dataStart, note.dataEnd, 1, note.time, note.time)
            }
        } else if let acknowledges = note.acknowledges, let finEnd = finEnds[connection]?[1 - note.side], acknowledges == finEnd {
            flush()
            append(source, client, LadderEvent(time: time, lane: lane, kind: .ack, text: "ACK of FIN", connection: connection))
            finEnds[connection]![1 - note.side] = nil
        }
    }

    private mutating func flush() {
        guard let current = run, let origin else { return }
        run = nil
        let bytes = current.end - current.start
        let segments = current.segments == 1 ? "" : ", \(current.segments) segments"
        append(
            current.source, current.client,
            LadderEvent(
                time: Double(current.first - origin) / 1e9, end: current.segments == 1 ? nil : Double(current.last - origin) / 1e9,
                lane: .toRight, kind: .data, text: "data \(current.start):\(current.end) (\(bytes) bytes\(segments))",
                connection: current.connection))
    }

    private mutating func append(_ source: Endpoint, _ client: Endpoint, _ event: LadderEvent) {
        if drawn.count < limit { drawn.append((event, source, client)) } else { omitted += 1 }
    }
}

/// `value` with `places` digits after the point and its sign ("-0.057147"); a value too large for that
/// (a capture whose clock jumps by centuries) in Swift's own notation, never a trap.
public func decimal(_ value: Double, places: Int) -> String {
    var scale: Int64 = 1
    for _ in 0..<places { scale *= 10 }
    let scaled = (abs(value) * Double(scale)).rounded()
    guard scaled.isFinite, scaled < 9e18 else { return "\(value)" }
    let units = Int64(scaled)
    let fraction = String(units % scale)
    let sign = value < 0 && units != 0 ? "-" : ""
    return "\(sign)\(units / scale).\(String(repeating: "0", count: places - fraction.count))\(fraction)"
}
