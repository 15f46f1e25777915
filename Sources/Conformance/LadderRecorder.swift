import FaultInjection
import Foundation
import PacketCapture
import WireAnalysis

/// A case's time 0 on both clocks: calls are timed on the monotonic clock, captured packets on the wall clock.
struct TimeOrigin {
    let instant: ContinuousClock.Instant
    /// Nanoseconds since the Unix epoch, as pcap timestamps are.
    let wallNanoseconds: Int64

    init() {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        instant = .now
        wallNanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    func seconds(_ at: ContinuousClock.Instant) -> Double { (at - instant).seconds }
}

/// What the case's ladder records as it runs: the subject's calls, the peer's steps, the faults; and, at the
/// end, the ladder drawn from them, the peers' reads and the capture's segments.
final class LadderRecorder {
    /// The case's time 0.
    let origin = TimeOrigin()
    /// The calls and steps, in the order they were noted.
    private(set) var timeline: [LadderEvent] = []

    /// A subject call: its result and whether it failed once it returned; with no `returned`, one that never did.
    func noteCall(
        _ text: String, thread: String, started: ContinuousClock.Instant, returned: ContinuousClock.Instant?, result: String,
        failed: Bool
    ) {
        timeline.append(
            LadderEvent(
                time: origin.seconds(started), end: returned.map(origin.seconds), lane: .left, kind: .call, text: text, result: result,
                failed: returned == nil ? nil : failed, thread: thread))
    }

    /// A subject call that returned, as its outcome says.
    func noteCall(_ text: String, thread: String, _ outcome: CallOutcome) {
        let failed: Bool =
            switch outcome.result {
            case .success: false
            case .failure: true
            }
        noteCall(text, thread: thread, started: outcome.startedAt, returned: outcome.returnedAt, result: outcome.summary, failed: failed)
    }

    /// A subject call that did not return before the case gave up on it.
    func noteStuckCall(_ text: String, thread: String, started: ContinuousClock.Instant) {
        noteCall(text, thread: thread, started: started, returned: nil, result: "did not return", failed: false)
    }

    /// Something the harness's peer did, or a step on the subject's side that is not a provider call.
    func noteStep(_ step: Step) {
        guard let (lane, text) = step.action.ladderNote(step) else { return }
        note(lane, text)
    }

    /// Anything else the harness did, now.
    func note(_ lane: LadderEvent.Lane, _ text: String, at time: ContinuousClock.Instant = .now) {
        timeline.append(LadderEvent(time: origin.seconds(time), lane: lane, kind: .step, text: text))
    }

    static func peerLabel(_ name: String) -> String { name == "peer" ? "peer" : "peer \(name)" }

    /// The ladder of the case as it ran: its notes, the peers' reads, the faults, and the segments the capture
    /// drew (`wire`; sides told by the harness's ports, `peerPorts`).
    func draw(
        provider: String, faults: [(event: FaultEvent, at: ContinuousClock.Instant)], peers: [String: PeerEnd], wire: WireLadder?,
        peerPorts: Set<UInt16>
    ) -> Ladder {
        var events =
            timeline + faults.map { event, at in LadderEvent(time: origin.seconds(at), lane: .left, kind: .fault, text: event.description) }
        events += peerReadEvents(peers, between: events.map(\.time).sorted())
        var omitted = 0
        if var wire {
            wire.sides = .rightPorts(peerPorts)
            let drawn = wire.finished
            events += drawn.events
            omitted = drawn.omitted
        }
        return Ladder(left: "subject (\(provider))", right: "peer (harness)", events: events, omitted: omitted)
    }

    /// The peers' reads, consecutive ones merged while nothing else of the case (`others`, times in order) happens between them.
    func peerReadEvents(_ peers: [String: PeerEnd], between others: [Double]) -> [LadderEvent] {
        var events: [LadderEvent] = []
        for (name, peer) in peers.sorted(by: { $0.key < $1.key }) {
            var total = 0
            var pending: (start: Double, last: Double, bytes: Int, total: Int)?
            func flush() {
                guard let run = pending else { return }
                events.append(
                    LadderEvent(
                        time: run.start, end: run.last, lane: .right, kind: .observation,
                        text: "\(Self.peerLabel(name)) read \(run.bytes) bytes (\(run.total) in all)"))
                pending = nil
            }
            for read in peer.readHistory {
                let time = origin.seconds(read.at)
                if read.bytes > 0 {
                    total += read.bytes
                    if let run = pending, !others.contains(where: { $0 > run.last && $0 < time }) {
                        pending = (run.start, time, run.bytes + read.bytes, total)
                    } else {
                        flush()
                        pending = (time, time, read.bytes, total)
                    }
                }
                if read.ending != .open {
                    flush()
                    // Drawn in the colour of what ended the stream on the wire.
                    let (kind, text): (LadderEvent.Kind, String) =
                        read.ending == .reset ? (.rst, "connection reset") : (.fin, "end of stream")
                    events.append(LadderEvent(time: time, lane: .right, kind: kind, text: "\(Self.peerLabel(name)): \(text)"))
                }
            }
            flush()
        }
        return events
    }
}
