import Foundation
import PacketCapture
import Reporting
import Testing
import WireAnalysis

@Suite struct Ladders {
    func ladder(_ fixture: String) throws -> Ladder {
        let path = fixtureDirectory.appendingPathComponent(fixture).path
        let drawn = try #require(try CaptureFile.analyze(path: path, drawing: WireLadder(sides: .clientLeft)).ladder).finished
        return Ladder(left: "client", right: "server", events: drawn.events, omitted: drawn.omitted)
    }

    @Test("A graceful close draws the handshake, the data as ranges that cover every byte, then FIN at N+1")
    func gracefulLadder() throws {
        let ladder = try ladder("graceful-queued-4mib.pcap")
        let events = ladder.events
        #expect(events.first?.text == "SYN" && events.first?.lane == .toRight)
        #expect(events[1].text == "SYN+ACK" && events[1].lane == .toLeft)
        // Runs of new data, in order, end where the next begins, from 1 to the FIN.
        let ranges = events.filter { $0.kind == .data || ($0.kind == .fin && $0.text.hasPrefix("data")) }.map { event -> (Int, Int) in
            let numbers = event.text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            return (numbers[0], numbers[1])
        }
        #expect(ranges.first?.0 == 1)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.1 == $1.0 })
        #expect(ranges.last?.1 == 4_194_305)
        let fin = try #require(events.first { $0.kind == .fin && $0.lane == .toRight })
        #expect(fin.text.hasSuffix("FIN seq 4194305"))
        #expect(events.contains { $0.kind == .retransmission }, "the fixture has a retransmission: \(events.map(\.text))")
        #expect(!events.contains { $0.kind == .rst })
    }

    @Test("An abortive close draws RST from the closing side and no FIN")
    func abortiveLadder() throws {
        let events = try ladder("abortive-queued.pcap").events
        let reset = try #require(events.first { $0.kind == .rst })
        #expect(reset.lane == .toRight && reset.text == "RST seq 49153 ACK 1")
        #expect(!events.contains { $0.kind == .fin })
    }

    @Test("Segments of several connections say which connection they belong to")
    func connectionsAreNamed() throws {
        let ladder = try ladder("listener-closed-queued.pcap")
        #expect(ladder.connectionCount == 2)
        let text = TextLadder.render(ladder)
        #expect(text.contains("#0 SYN ---"))
        #expect(text.contains("<--- #1 RST seq 1 ACK 1") || text.contains("- #1 RST seq 1 ACK 1"), "\(text)")
    }

    @Test("The text ladder puts arrows the right way and splits a call that others happen during")
    func textLayout() {
        let ladder = Ladder(
            left: "subject", right: "peer",
            events: [
                LadderEvent(time: 0, end: 0.010, lane: .left, kind: .call, text: "receive on s", result: "interrupted", thread: "reader"),
                LadderEvent(time: 0.002, end: 0.003, lane: .left, kind: .call, text: "close on s", result: "success", thread: "main"),
                LadderEvent(time: 0.0035, lane: .toRight, kind: .fin, text: "FIN seq 1"),
                LadderEvent(time: 0.004, lane: .toLeft, kind: .ack, text: "ACK of FIN"),
                LadderEvent(time: 0.005, lane: .right, kind: .observation, text: "peer: end of stream"),
            ])
        let rows = ladder.rows
        #expect(rows.map(\.part) == [.start, .whole, .whole, .whole, .whole, .end])
        #expect(rows.last?.event == 0)
        let lines = TextLadder.render(ladder).split(separator: "\n").map(String.init)
        #expect(lines[2].contains("receive on s [reader] ..."))
        #expect(lines[3].contains("close on s -> success (1.000 ms)"))
        #expect(lines[4].contains("FIN seq 1 ---") && lines[4].hasSuffix(">"))
        #expect(lines[5].contains("<--") && lines[5].hasSuffix("ACK of FIN"))
        #expect(lines[6].hasSuffix("peer: end of stream"))
        #expect(lines[7].contains("... receive on s [reader] -> interrupted (10.000 ms)"))
    }
}
