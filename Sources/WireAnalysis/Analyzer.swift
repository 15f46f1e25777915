/// Turns captured frames into teardown facts, one frame at a time, in the order they were captured.
///
/// Connections are told apart by their 4-tuple and, when a port pair is reused, by a new SYN. Every
/// byte count is by sequence range, so retransmissions and duplicates never count twice.
public struct Analyzer: Sendable {
    public let linkType: LinkType
    private(set) public var packets = 0
    private(set) public var tcpSegments = 0
    private var skipped: [SkipReason: (count: Int, first: Int)] = [:]
    /// The connections followed, in slots that retired connections free for new ones; `numbers` gives each slot's
    /// connection number (the order of their first packet).
    private var slots: [ConnectionState?] = []
    private var numbers: [Int] = []
    private var freeSlots: [Int] = []
    private var nextNumber = 0
    /// Each followed connection's slot.
    private var index: [ConnectionKey: Int] = [:]
    private var lastKey: ConnectionKey?
    private var lastIndex = 0
    private var captureStart: Int64?
    /// Capture time of the last look for connections to retire.
    private var lastRetirement: Int64 = .min
    /// Packet count at the last look for connections to retire.
    private var lastRetirementPacket = 0
    /// When set, every segment is also drawn into this ladder.
    public var ladder: WireLadder?

    public init(linkType: LinkType, ladder: WireLadder? = nil) {
        self.linkType = linkType
        self.ladder = ladder
    }

    /// Decodes and follows one captured frame.
    ///
    /// - Parameters:
    ///   - frame: the captured bytes.
    ///   - wireLength: the frame's length on the wire.
    ///   - time: when it was captured, in nanoseconds since the Unix epoch.
    public mutating func add(frame: UnsafeRawBufferPointer, wireLength: Int, time: Int64) {
        packets += 1
        captureStart = captureStart ?? time
        switch PacketDecoder.decode(frame, linkType: linkType, wireLength: wireLength) {
        case .tcp(let segment): follow(segment, time: time)
        case .skipped(let reason): skip(reason)
        }
    }

    /// Follows one segment that was decoded elsewhere, as the next packet of the capture.
    public mutating func add(_ segment: TCPSegment, time: Int64) {
        packets += 1
        captureStart = captureStart ?? time
        follow(segment, time: time)
    }

    private mutating func skip(_ reason: SkipReason) {
        skipped[reason, default: (0, packets)].count += 1
    }

    private mutating func follow(_ segment: TCPSegment, time: Int64) {
        tcpSegments += 1
        let key = ConnectionKey(segment.source, segment.destination)
        var position: Int
        if key == lastKey {
            position = lastIndex
        } else if let known = index[key] {
            position = known
        } else {
            position = open(segment, key: key, time: time)
            lastKey = key
            lastIndex = position
            return
        }
        if segment.flags.contains(.syn) && !segment.flags.contains(.ack) && startsAnew(slots[position]!, segment) {
            position = open(segment, key: key, time: time)
            lastKey = key
            lastIndex = position
            return
        }
        lastKey = key
        lastIndex = position
        let note = slots[position]!.add(segment, packet: packets, time: time)
        if ladder != nil, let note { draw(note, segment, slot: position) }
    }

    private mutating func open(_ segment: TCPSegment, key: ConnectionKey, time: Int64) -> Int {
        var state = ConnectionState(first: segment, packet: packets, time: time)
        let note = state.add(segment, packet: packets, time: time)
        let number = nextNumber
        nextNumber += 1
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = state
            numbers[slot] = number
        } else {
            slot = slots.count
            slots.append(state)
            numbers.append(number)
        }
        index[key] = slot
        if ladder != nil, let note { draw(note, segment, slot: slot) }
        return slot
    }

    private mutating func draw(_ note: SegmentNote, _ segment: TCPSegment, slot: Int) {
        let client = slots[slot]!.client.from
        ladder!.add(note, connection: numbers[slot], source: segment.source, client: client)
    }

    /// Whether a SYN on a known port pair begins a new connection rather than repeating the old one's.
    private func startsAnew(_ state: ConnectionState, _ segment: TCPSegment) -> Bool {
        if state.isFinished { return true }
        guard let previous = state.client.synSequence else { return false }
        return previous != segment.sequence
    }

    /// The facts of everything added so far.
    ///
    /// - Parameter truncated: why the capture ended early, if it did.
    public func facts(truncated: String? = nil) -> CaptureFacts {
        let start = captureStart ?? 0
        let skippedList = skipped.sorted { $0.key < $1.key }.map {
            SkippedPackets(reason: $0.key.rawValue, count: $0.value.count, firstPacket: $0.value.first)
        }
        return CaptureFacts(
            linkType: linkType.description, packets: packets, tcpSegments: tcpSegments, skipped: skippedList,
            captureStart: captureStartSeconds, truncated: truncated,
            connections: liveSlots().map { ConnectionFacts(slots[$0]!, index: numbers[$0], captureStart: start) })
    }

    /// The slots holding a connection, in the order of the connections' numbers.
    private func liveSlots() -> [Int] {
        slots.indices.filter { slots[$0] != nil }.sorted { numbers[$0] < numbers[$1] }
    }

    /// How long a finished connection (both FINs, or an RST) is kept after its last packet before `retire` gives
    /// its facts up: 60 s of capture time (Linux's TIME_WAIT, within which its last ACKs and retransmissions
    /// come), or 100,000 packets of the capture, whichever comes first.
    public static let retirementQuiet: (nanoseconds: Int64, packets: Int) = (60_000_000_000, 100_000)

    /// Takes out the connections that have finished and been quiet for `retirementQuiet`, and returns their facts,
    /// by number: the analyzer then holds only the connections still open, or finished a short while ago. Looks at
    /// most every 16,384 packets or second of capture time. A packet that comes for a retired connection after all
    /// begins a new one, as it would if the capture had started there.
    public mutating func retire() -> [ConnectionFacts] {
        guard let start = captureStart, lastIndex < slots.count, let now = slots[lastIndex]?.end,
            packets >= lastRetirementPacket + 16384 || now >= lastRetirement &+ 1_000_000_000
        else { return [] }
        lastRetirement = now
        lastRetirementPacket = packets
        let quiet = Self.retirementQuiet
        let done = liveSlots().filter { slot in
            let state = slots[slot]!
            return state.isFinished && (now &- state.end >= quiet.nanoseconds || packets - state.lastPacket >= quiet.packets)
        }
        return done.map { take($0, captureStart: start) }
    }

    /// Empties a slot, forgetting its connection's 4-tuple; returns the connection's facts.
    private mutating func take(_ slot: Int, captureStart start: Int64) -> ConnectionFacts {
        let state = slots[slot]!
        slots[slot] = nil
        freeSlots.append(slot)
        let key = ConnectionKey(state.client.from, state.server.from)
        if index[key] == slot { index[key] = nil }
        if lastKey == key { lastKey = nil }
        return ConnectionFacts(state, index: numbers[slot], captureStart: start)
    }

    /// Takes out every connection left, by number: the file has ended.
    public mutating func retireAll() -> [ConnectionFacts] {
        let start = captureStart ?? 0
        return liveSlots().map { take($0, captureStart: start) }
    }

    /// The time of the first packet, in seconds since the Unix epoch, as `CaptureFacts.captureStart` gives it.
    public var captureStartSeconds: Double { Double((captureStart ?? 0) / 1000) / 1_000_000 }

}

/// A connection's 4-tuple, the same whichever way a segment goes.
struct ConnectionKey: Hashable {
    let lower: Endpoint
    let upper: Endpoint

    init(_ one: Endpoint, _ other: Endpoint) {
        if one < other { (lower, upper) = (one, other) } else { (lower, upper) = (other, one) }
    }
}

/// Seconds since the capture's first packet.
func seconds(_ time: Int64, since start: Int64) -> Double {
    let (difference, overflow) = time.subtractingReportingOverflow(start)
    guard !overflow else { return (Double(time) - Double(start)) / 1e9 }
    return Double(difference / 1000) / 1_000_000
}

extension ConnectionFacts {
    init(_ state: ConnectionState, index: Int, captureStart: Int64) {
        let sides: [Side] = [.client, .server]
        var anomalies: [Anomaly] = []
        if !(state.handshakeSyn && state.handshakeSynAck) {
            let missing = state.handshakeSyn ? "SYN-ACK" : state.handshakeSynAck ? "SYN" : "SYN and SYN-ACK"
            anomalies.append(Anomaly(kind: .noHandshake, side: nil, detail: "the capture holds no \(missing) for this connection"))
        }
        let directions = state.directions.enumerated().map { offset, direction in
            DirectionFacts(direction, side: sides[offset], captureStart: captureStart, anomalies: &anomalies)
        }
        let first = state.closeEvents.first.map { event in
            CloseEvent(
                by: sides[event.side], kind: event.kind, sequence: event.sequence, bytesSent: directions[event.side].bytesSent,
                packet: event.packet, time: seconds(event.time, since: captureStart))
        }
        self.init(
            index: index, family: state.client.from.family, client: state.client.from.description,
            server: state.server.from.description, handshake: state.handshakeSyn && state.handshakeSynAck,
            firstPacket: state.firstPacket, lastPacket: state.lastPacket, start: seconds(state.start, since: captureStart),
            end: seconds(state.end, since: captureStart), firstClose: first, directions: directions, anomalies: anomalies)
    }
}

extension DirectionFacts {
    init(_ state: DirectionState, side: Side, captureStart: Int64, anomalies: inout [Anomaly]) {
        var fin = state.fin
        if var known = fin {
            known.followsAllData = known.sequence == state.highestEnd && state.nextInOrder == state.highestEnd
            known.time = seconds(state.finTime, since: captureStart)
            known.acknowledged = (state.acknowledged ?? 0) > known.sequence
            fin = known
            if known.sequence < state.highestEnd {
                anomalies.append(
                    Anomaly(
                        kind: .finBeforeAllData, side: side,
                        detail: "\(side) FIN at seq \(known.sequence) but data up to seq \(state.highestEnd - 1)"))
            }
            if state.nextInOrder < min(known.sequence, state.highestEnd) {
                anomalies.append(
                    Anomaly(
                        kind: .gapBeforeFin, side: side,
                        detail: "\(side) bytes from seq \(state.nextInOrder) not all in the capture before its FIN at \(known.sequence)"))
            }
        }
        if state.dataAfterFin > 0 {
            anomalies.append(
                Anomaly(kind: .dataAfterFin, side: side, detail: "\(side) sent \(state.dataAfterFin) new bytes after its FIN"))
        }
        if let conflicting = state.conflictingFin, let known = fin {
            anomalies.append(
                Anomaly(
                    kind: .conflictingFin, side: side, detail: "\(side) sent a FIN at seq \(conflicting) after one at \(known.sequence)"))
        }
        let resets = zip(state.resets, state.resetTimes).map { reset, time in
            var converted = reset
            converted.time = seconds(time, since: captureStart)
            if reset.unacknowledgedBytes > 0 || reset.peerUnacknowledgedBytes > 0 {
                anomalies.append(
                    Anomaly(
                        kind: .resetWithDataInFlight, side: side,
                        detail: "\(side) RST at seq \(reset.sequence) with \(reset.unacknowledgedBytes) of its bytes and "
                            + "\(reset.peerUnacknowledgedBytes) of the \(side.other)'s unacknowledged"))
            }
            return converted
        }
        let acknowledged = min(max((state.acknowledged ?? 1) - 1, 0), state.highestEnd - 1)
        self.init(
            side: side, from: state.from.description, to: state.to.description, segments: state.segments, bytesSent: state.bytesSent,
            bytesInOrder: state.bytesInOrder, bytesAcknowledged: acknowledged, retransmissions: state.retransmissions,
            duplicates: state.duplicates, firstData: state.firstData.map { seconds($0, since: captureStart) },
            lastData: state.lastData.map { seconds($0, since: captureStart) }, fin: fin, resets: resets,
            dataAfterFin: state.dataAfterFin)
    }
}
