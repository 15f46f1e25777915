import Foundation
import Harness
import PacketCapture
import ProviderInterface
import TestSupport
import Testing
import WireAnalysis

/// What the sockets themselves reported while a scenario was recorded: the other half of the evidence,
/// known only when the scenario runs live.
struct Observed: Sendable {
    var clientQueued = 0
    var serverRead = 0
}

/// A typical ending of a connection, made with plain kernel sockets under capture. The same scenario
/// records the committed fixture (`make fixtures`), runs live as a test where capture is allowed, and
/// states the facts both must show.
struct Scenario: Sendable, CustomStringConvertible {
    let name: String
    let family: SocketAddress.Family
    var backlog: Int32 = 16
    var receiveBuffer: Int? = nil
    /// Runs the exchange and waits, on the capture, for its ending.
    let exchange: @Sendable (PeerListener, LiveCapture) throws -> Observed
    /// Checks the facts; `observed` is nil for a committed fixture.
    let check: @Sendable (CaptureFacts, Observed?) -> Void

    var description: String { name }
    var fixture: URL { fixtureDirectory.appendingPathComponent("\(name).pcap") }

    /// Records the scenario into `path` and returns the live facts and observations.
    func record(to path: String) throws -> (CaptureFacts, Observed) {
        let listener = try PeerListener(family, backlog: backlog, receiveBuffer: receiveBuffer)
        defer { listener.close() }
        let (observed, result) = try LiveCapture.with(filter: "tcp port \(listener.address.port)", path: path) { capture in
            try exchange(listener, capture)
        }
        return (result.facts, observed)
    }
}

/// Waits until the first connection in the capture satisfies `predicate`.
func waitFor(_ capture: LiveCapture, _ what: String, _ predicate: @escaping (ConnectionFacts) -> Bool) throws {
    try capture.wait(for: what, within: .seconds(10)) { facts in facts.connections.first.map(predicate) ?? false }
}

func bothFins(_ connection: ConnectionFacts) -> Bool { connection.directions.allSatisfy { $0.fin != nil } }

func reset(by side: Side) -> (ConnectionFacts) -> Bool { { !$0.direction(side).resets.isEmpty } }

/// The checks every graceful ending shares: a handshake, FIN after all data both ways, no RST, nothing odd.
func expectGraceful(_ connection: ConnectionFacts, clientBytes: Int64, serverBytes: Int64) {
    #expect(connection.handshake)
    #expect(connection.anomalies == [])
    for (side, bytes) in [(Side.client, clientBytes), (.server, serverBytes)] {
        let direction = connection.direction(side)
        #expect(direction.bytesSent == bytes, "\(side) bytes sent")
        #expect(direction.bytesInOrder == bytes, "\(side) bytes in order")
        #expect(direction.bytesAcknowledged == bytes, "\(side) bytes acknowledged")
        #expect(direction.fin?.sequence == bytes + 1, "\(side) FIN at N+1")
        #expect(direction.fin?.followsAllData == true)
        #expect(direction.resets == [], "\(side) sent no RST")
        #expect(direction.dataAfterFin == 0)
    }
}

let fourMiB = 4 << 20

let scenarios: [Scenario] = [
    Scenario(
        name: "graceful-queued-4mib", family: .ipv4, receiveBuffer: 65536,
        exchange: { listener, capture in
            let client = try PeerSocket.connect(to: listener.address)
            let server = try listener.accept()
            // The server reads slowly on a thread of its own while the client queues 4 MiB and closes at once.
            let reading = BackgroundCall("server read") { try? server.read(within: .seconds(20), chunk: 65536, pace: .milliseconds(1)) }
            let sent = try client.send(Payload.bytes(fourMiB), within: .seconds(20))
            client.close()
            guard let read = reading.result(within: .seconds(25)) ?? nil else { throw TestFailure("the server's read did not end") }
            server.close()
            try waitFor(capture, "a FIN from each side", bothFins)
            return Observed(clientQueued: sent.sent, serverRead: read.ending == .endOfStream ? read.bytes.count : -1)
        },
        check: { facts, observed in
            #expect(facts.connections.count == 1)
            guard let connection = facts.connections.first else { return }
            expectGraceful(connection, clientBytes: Int64(fourMiB), serverBytes: 0)
            #expect(connection.firstClose?.by == .client)
            #expect(connection.firstClose?.kind == .fin)
            #expect(connection.firstClose?.sequence == Int64(fourMiB) + 1)
            if let observed {
                #expect(observed.clientQueued == fourMiB)
                #expect(observed.serverRead == fourMiB)
            }
        }),
    Scenario(
        name: "abortive-queued", family: .ipv4, receiveBuffer: 32768,
        exchange: { listener, capture in
            let client = try PeerSocket.connect(to: listener.address)
            let server = try listener.accept()
            // The server does not read: the client's data piles up, then the client closes with linger 0.
            let queued = try client.sendWithoutWaiting(Payload.bytes(1 << 20))
            client.close(abortive: true)
            try waitFor(capture, "the client's RST", reset(by: .client))
            let read = try server.read(within: .seconds(5))
            server.close()
            return Observed(clientQueued: queued, serverRead: read.ending == .reset ? read.bytes.count : -1)
        },
        check: { facts, observed in
            #expect(facts.connections.count == 1)
            guard let connection = facts.connections.first else { return }
            let client = connection.direction(.client)
            #expect(connection.handshake)
            #expect(client.fin == nil, "an abortive close sends no FIN")
            #expect(client.resets.count == 1)
            #expect(client.resets.first?.sequence == client.bytesSent + 1, "the RST is at the next sequence number")
            #expect(client.bytesSent >= 32768 && client.bytesSent < 1 << 20, "some data went out, not all of it")
            #expect(connection.firstClose?.by == .client)
            #expect(connection.firstClose?.kind == .rst)
            #expect(connection.direction(.server).fin == nil)
            if let observed {
                #expect(Int64(observed.clientQueued) > client.bytesSent, "queued bytes were discarded by the reset")
                #expect(Int64(observed.serverRead) == client.bytesSent, "the server read what reached it, then the reset")
            }
        }),
    Scenario(
        name: "unread-reset", family: .ipv4,
        exchange: { listener, capture in
            let client = try PeerSocket.connect(to: listener.address)
            let server = try listener.accept()
            _ = try client.send(Payload.bytes(10_000))
            // The server closes without reading: RFC 1122 says reset, whatever linger says.
            try capture.wait(for: "the client's data acknowledged", within: .seconds(5)) { facts in
                facts.connections.first?.direction(.client).bytesAcknowledged == 10_000
            }
            server.close()
            try waitFor(capture, "the server's RST", reset(by: .server))
            let read = try client.read(within: .seconds(5))
            client.close()
            return Observed(clientQueued: 10_000, serverRead: read.ending == .reset ? 0 : -1)
        },
        check: { facts, _ in
            #expect(facts.connections.count == 1)
            guard let connection = facts.connections.first else { return }
            let server = connection.direction(.server)
            #expect(connection.handshake)
            #expect(connection.direction(.client).bytesSent == 10_000)
            #expect(connection.direction(.client).bytesAcknowledged == 10_000)
            #expect(server.fin == nil)
            #expect(server.resets.count == 1)
            #expect(server.resets.first?.sequence == 1)
            #expect(server.resets.first?.ack == true)
            #expect(server.resets.first?.acknowledgement == 10_001)
            #expect(connection.firstClose?.by == .server)
            #expect(connection.firstClose?.kind == .rst)
            #expect(connection.firstClose?.sequence == 1)
            #expect(connection.anomalies == [])
        }),
    Scenario(
        name: "half-close", family: .ipv4,
        exchange: { listener, capture in
            let client = try PeerSocket.connect(to: listener.address)
            let server = try listener.accept()
            _ = try client.send(Payload.bytes(65536))
            try client.shutdownSending()
            let request = try server.read(within: .seconds(5))
            // The server answers after the client's FIN: that is allowed, the client only stopped sending.
            _ = try server.send(Payload.bytes(32768, seed: 1))
            server.close()
            let answer = try client.read(within: .seconds(5))
            client.close()
            try waitFor(capture, "a FIN from each side", bothFins)
            return Observed(clientQueued: 65536, serverRead: request.bytes.count + (answer.bytes.count == 32768 ? 0 : -1_000_000))
        },
        check: { facts, observed in
            #expect(facts.connections.count == 1)
            guard let connection = facts.connections.first else { return }
            expectGraceful(connection, clientBytes: 65536, serverBytes: 32768)
            #expect(connection.firstClose?.by == .client)
            #expect(connection.firstClose?.sequence == 65537)
            if let observed { #expect(observed.serverRead == 65536) }
        }),
    Scenario(
        name: "fin-on-last-data", family: .ipv4, receiveBuffer: 16384,
        exchange: { listener, capture in
            let client = try PeerSocket.connect(to: listener.address)
            let server = try listener.accept()
            // The window is full when the client closes, so its FIN joins the last queued segment.
            let queued = try client.sendWithoutWaiting(Payload.bytes(1 << 20))
            client.close()
            let read = try server.read(within: .seconds(10))
            server.close()
            try waitFor(capture, "a FIN from each side", bothFins)
            return Observed(clientQueued: queued, serverRead: read.ending == .endOfStream ? read.bytes.count : -1)
        },
        check: { facts, observed in
            #expect(facts.connections.count == 1)
            guard let connection = facts.connections.first else { return }
            let sent = connection.direction(.client).bytesSent
            expectGraceful(connection, clientBytes: sent, serverBytes: 0)
            #expect(connection.direction(.client).fin?.onData == true, "the FIN rode on the last data segment")
            if let observed {
                #expect(Int64(observed.clientQueued) == sent)
                #expect(observed.serverRead == observed.clientQueued)
            }
        }),
    Scenario(
        name: "listener-closed-queued", family: .ipv4, backlog: 4,
        exchange: { listener, capture in
            // Two connections complete their handshakes in the accept queue; the listener closes without accepting.
            let first = try PeerSocket.connect(to: listener.address)
            let second = try PeerSocket.connect(to: listener.address)
            _ = try first.send(Payload.bytes(100))
            try capture.wait(for: "both handshakes and the data acknowledged", within: .seconds(5)) { facts in
                facts.connections.count == 2 && facts.connections.allSatisfy(\.handshake)
                    && facts.connections[0].direction(.client).bytesAcknowledged == 100
            }
            listener.close()
            try capture.wait(for: "an RST on each connection", within: .seconds(5)) { facts in
                facts.connections.count == 2 && facts.connections.allSatisfy { !$0.direction(.server).resets.isEmpty }
            }
            first.close()
            second.close()
            return Observed()
        },
        check: { facts, _ in
            #expect(facts.connections.count == 2)
            for connection in facts.connections {
                #expect(connection.handshake)
                #expect(connection.firstClose?.by == .server)
                #expect(connection.firstClose?.kind == .rst)
                #expect(connection.direction(.server).bytesSent == 0)
                #expect(connection.direction(.server).fin == nil)
                #expect(connection.direction(.server).resets.first?.sequence == 1)
            }
            #expect(facts.connections.map { $0.direction(.client).bytesSent } == [100, 0])
        }),
    Scenario(
        name: "ipv6-graceful", family: .ipv6,
        exchange: { listener, capture in
            let client = try PeerSocket.connect(to: listener.address)
            let server = try listener.accept()
            _ = try client.send(Payload.bytes(65536))
            client.close()
            let read = try server.read(within: .seconds(5))
            server.close()
            try waitFor(capture, "a FIN from each side", bothFins)
            return Observed(clientQueued: 65536, serverRead: read.ending == .endOfStream ? read.bytes.count : -1)
        },
        check: { facts, observed in
            #expect(facts.connections.count == 1)
            guard let connection = facts.connections.first else { return }
            #expect(connection.family == .ipv6)
            #expect(connection.client.hasPrefix("[::1]:"))
            expectGraceful(connection, clientBytes: 65536, serverBytes: 0)
            if let observed { #expect(observed.serverRead == 65536) }
        }),
]
