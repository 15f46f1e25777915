import Foundation
import Harness
import TestSupport
import Testing
import WireAnalysis

@testable import PacketCapture

@Suite struct Capture {
    @Test func anyDropMakesTheEvidenceUnusable() {
        #expect(LiveCapture.dropError(dropped: 0, interfaceDropped: 0) == nil)
        #expect(LiveCapture.dropError(dropped: 1, interfaceDropped: 0)?.kind == .dropped)
        #expect(LiveCapture.dropError(dropped: 0, interfaceDropped: 3)?.message.contains("incomplete") == true)
    }

    @Test func filtersNameThePorts() {
        #expect(LiveCapture.filter(ports: [40001]) == "tcp and (port 40001)")
        #expect(LiveCapture.filter(ports: [1, 2]) == "tcp and (port 1 or port 2)")
    }

    @Test(
        "A filter only lets the named ports through, and a bad filter is a clear error",
        .enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? "")))
    func filterSelectsTraffic() throws {
        let wanted = try PeerListener(.ipv4)
        let other = try PeerListener(.ipv4)
        let (_, result) = try LiveCapture.with(filter: LiveCapture.filter(ports: [wanted.address.port])) { capture in
            let stray = try PeerSocket.connect(to: other.address)
            stray.close()
            let client = try PeerSocket.connect(to: wanted.address)
            let server = try wanted.accept()
            _ = try client.send(Payload.bytes(1000))
            client.close()
            _ = try server.read(within: .seconds(5))
            server.close()
            try capture.wait(for: "a FIN from each side", within: .seconds(5)) { facts in
                facts.connections.contains { $0.directions.allSatisfy { $0.fin != nil } }
            }
        }
        #expect(result.facts.connections.count == 1)
        #expect(result.facts.connections.first?.server == wanted.address.description)
        do throws(CaptureError) {
            _ = try LiveCapture(filter: "tcp port banana")
            Issue.record("a bad filter was accepted")
        } catch {
            #expect(error.kind == .filter)
            #expect(error.message.contains("tcp port banana"))
        }
    }

    @Test(
        "A wait on the capture that is not met ends at its deadline with what it waited for",
        .enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? "")))
    func waitsAreBounded() throws {
        let capture = try LiveCapture(filter: "tcp port 9")
        defer { _ = try? capture.stop() }
        let started = ContinuousClock.now
        do throws(CaptureError) {
            try capture.wait(for: "a packet on the discard port", within: .milliseconds(300)) { !$0.connections.isEmpty }
            Issue.record("the wait was met with no traffic")
        } catch {
            #expect(error.kind == .timeout)
            #expect(error.message.contains("a packet on the discard port"))
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test(
        "Stopping a capture twice gives the same result and closes nothing a second time",
        .enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? "")))
    func stopIsIdempotent() throws {
        let capture = try LiveCapture(filter: "tcp port 9")
        let first = try capture.stop()
        // The lowest free descriptors are the ones the capture just closed: a second close would close these.
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { fds.forEach { _ = close($0) } }
        let second = try capture.stop()
        #expect(second.facts.packets == first.facts.packets)
        for fd in fds { #expect(fcntl(fd, F_GETFD) != -1, "descriptor \(fd) was closed by the second stop") }
    }

    @Test(
        "The ladder a live capture draws is the one drawn from the pcap it wrote, sides told after the segments",
        .enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? "")),
        arguments: scenarios.filter { ["graceful-queued-4mib", "abortive-queued"].contains($0.name) })
    func liveLadderMatchesTheFile(_ scenario: Scenario) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("live.pcap").path
            let listener = try PeerListener(scenario.family, backlog: scenario.backlog, receiveBuffer: scenario.receiveBuffer)
            defer { listener.close() }
            // The live ladder learns its sides (the listener's port on the right) only after the segments came.
            let origin: Int64 = 1_000_000_000
            let capture = try LiveCapture(
                filter: "tcp port \(listener.address.port)", path: path, ladder: WireLadder(sides: .rightPorts([]), origin: origin))
            do {
                _ = try scenario.exchange(listener, capture)
            } catch {
                _ = try? capture.stop()
                throw error
            }
            try capture.stop()
            var live = try #require(capture.ladder)
            live.sides = .rightPorts([listener.address.port])
            let sides = WireLadder.Sides.rightPorts([listener.address.port])
            let file = try #require(CaptureFile.analyze(path: path, drawing: WireLadder(sides: sides, origin: origin)).ladder)
            #expect(!live.finished.events.isEmpty)
            #expect(live.finished.events == file.finished.events)
            #expect(live.finished.omitted == file.finished.omitted)
        }
    }
}
