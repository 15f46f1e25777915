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

/// What the case's ladder records as it runs: the subject's calls, the peer's steps, the faults.
extension CaseRun {
    /// A subject call that returned (or, with no outcome, one that never did).
    func noteCall(_ text: String, thread: String, started: ContinuousClock.Instant, returned: ContinuousClock.Instant?, result: String) {
        timeline.append(
            LadderEvent(
                time: origin.seconds(started), end: returned.map(origin.seconds), lane: .left, kind: .call, text: text, result: result,
                thread: thread))
    }

    /// Something the harness's peer did, or a step on the subject's side that is not a provider call.
    func noteStep(_ step: Step) {
        let (lane, text): (LadderEvent.Lane, String)
        switch step.action {
        case .peerSend(let name, let bytes): (lane, text) = (.right, "\(Self.peerLabel(name)) sends \(bytes) bytes")
        case .peerClose(let name, let abortive):
            (lane, text) = (.right, "\(Self.peerLabel(name)) closes\(abortive ? " abortively (linger 0)" : "")")
        case .peerShutdown(let name): (lane, text) = (.right, "\(Self.peerLabel(name)) shuts down sending")
        case .peerConnect(let name): (lane, text) = (.right, "\(Self.peerLabel(name)) connects")
        case .release(let gate): (lane, text) = (.left, "release gate '\(gate)'")
        case .churn(let count): (lane, text) = (.left, "churn: \(count) sockets created and closed")
        default: return
        }
        timeline.append(LadderEvent(time: origin.seconds(.now), lane: lane, kind: .step, text: text))
    }

    static func peerLabel(_ name: String) -> String { name == "peer" ? "peer" : "peer \(name)" }

    /// The call's words in the ladder: the step's action, its handle, and how many bytes it asked for.
    static func callText(_ step: Step) -> String {
        switch step.action {
        case .send(let bytes): "send \(bytes) bytes on \(step.handle)"
        case .receive(let bytes): "receive \(bytes) bytes on \(step.handle)"
        case .startSend(_, let bytes): "start-send \(bytes) bytes on \(step.handle)"
        case .startReceive(_, let bytes): "start-receive \(bytes) bytes on \(step.handle)"
        case .setLinger(let linger): "set \(linger) on \(step.handle)"
        default: "\(step.action.name) on \(step.handle)"
        }
    }

    /// The ladder of the case as it ran: its notes, the peer's reads, the faults, and the capture's segments.
    func drawLadder() -> Ladder {
        var events = timeline
        events += peerReadEvents()
        for (event, at) in faultLayer?.timedLog ?? [] {
            events.append(LadderEvent(time: origin.seconds(at), lane: .left, kind: .fault, text: event.description))
        }
        var omitted = 0
        if capture != nil, let pcapPath, FileManager.default.fileExists(atPath: pcapPath) {
            let ports = peerPorts.union(listeners.map(\.address.port))
            let wire = WireLadder(sides: .rightPorts(ports), origin: origin.wallNanoseconds)
            if let drawn = try? CaptureFile.analyze(path: pcapPath, drawing: wire).ladder {
                events += drawn.drawn
                omitted = drawn.omittedCount
            }
        }
        return Ladder(left: "subject (\(options.provider.name))", right: "peer (harness)", events: events, omitted: omitted)
    }

    /// The peers' reads, consecutive ones merged while nothing else of the case happens between them.
    func peerReadEvents() -> [LadderEvent] {
        let others = (timeline.map(\.time) + (faultLayer?.timedLog.map { origin.seconds($0.at) } ?? [])).sorted()
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
                    let text = read.ending == .reset ? "connection reset" : "end of stream"
                    events.append(LadderEvent(time: time, lane: .right, kind: .observation, text: "\(Self.peerLabel(name)): \(text)"))
                }
            }
            flush()
        }
        return events
    }
}
