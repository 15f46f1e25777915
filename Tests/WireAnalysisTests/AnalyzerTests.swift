import Foundation
import PacketCapture
import TestSupport
import Testing
import WireAnalysis

/// Builds the segments of one connection by hand, with chosen initial sequence numbers, so that each
/// rule of the analysis can be checked on an exchange no kernel would produce on demand.
struct Conversation {
    let client = Endpoint(family: .ipv4, low: 0x7F00_0001, port: 40000)
    let server = Endpoint(family: .ipv4, low: 0x7F00_0001, port: 80)
    var clientISN: UInt32
    var serverISN: UInt32
    var analyzer = Analyzer(linkType: .ethernet)
    var time: Int64 = 1_000_000_000
    var identification: UInt16 = 1

    init(clientISN: UInt32 = 1000, serverISN: UInt32 = 5000, handshake: Bool = true) {
        self.clientISN = clientISN
        self.serverISN = serverISN
        if handshake {
            send(.client, seq: 0, ack: nil, flags: .syn)
            send(.server, seq: 0, ack: 1, flags: [.syn, .ack])
            send(.client, seq: 1, ack: 1, flags: .ack)
        }
    }

    /// Sends a segment; `seq` and `ack` are relative (0 is the SYN).
    mutating func send(_ side: Side, seq: Int64, ack: Int64?, flags: TCPFlags = .ack, length: Int = 0, sameIdentification: Bool = false) {
        let (from, to, isn, peerISN) = side == .client ? (client, server, clientISN, serverISN) : (server, client, serverISN, clientISN)
        var allFlags = flags
        if ack != nil { allFlags.insert(.ack) }
        if !sameIdentification { identification &+= 1 }
        time += 1000
        analyzer.add(
            TCPSegment(
                source: from, destination: to, sequence: isn &+ UInt32(truncatingIfNeeded: seq),
                acknowledgement: ack.map { peerISN &+ UInt32(truncatingIfNeeded: $0) } ?? 0, flags: allFlags, payloadLength: length,
                ipIdentification: identification), time: time)
    }

    var connection: ConnectionFacts { analyzer.facts().connections[0] }
}

@Suite struct AnalyzerRules {
    @Test func gracefulCloseFinAtNPlusOne() {
        var talk = Conversation()
        talk.send(.client, seq: 1, ack: 1, length: 1000)
        talk.send(.client, seq: 1001, ack: 1, flags: .fin, length: 500)
        talk.send(.server, seq: 1, ack: 1502, flags: .fin)
        talk.send(.client, seq: 1502, ack: 2)
        let connection = talk.connection
        let client = connection.direction(.client)
        #expect(client.bytesSent == 1500 && client.bytesInOrder == 1500 && client.bytesAcknowledged == 1500)
        #expect(client.fin?.sequence == 1501)
        #expect(client.fin?.followsAllData == true)
        #expect(client.fin?.onData == true)
        #expect(connection.firstClose?.by == .client && connection.firstClose?.kind == .fin && connection.firstClose?.sequence == 1501)
        #expect(connection.anomalies == [])
    }

    @Test func retransmissionsAndDuplicatesCountOnce() {
        var talk = Conversation()
        talk.send(.client, seq: 1, ack: 1, length: 1000)
        talk.send(.client, seq: 1, ack: 1, length: 1000, sameIdentification: true)  // captured twice
        talk.send(.client, seq: 1, ack: 1, length: 1000)  // resent
        talk.send(.client, seq: 501, ack: 1, length: 1000)  // overlaps
        talk.send(.client, seq: 1501, ack: 1, flags: .fin)
        talk.send(.client, seq: 1501, ack: 1, flags: .fin)  // FIN resent
        let client = talk.connection.direction(.client)
        #expect(client.bytesSent == 1500)
        #expect(client.bytesInOrder == 1500)
        #expect(client.duplicates == 1)
        #expect(client.retransmissions == 3)
        #expect(client.fin?.retransmissions == 1)
        #expect(client.fin?.followsAllData == true)
    }

    @Test func gapsFillOutOfOrder() {
        var talk = Conversation()
        talk.send(.client, seq: 2001, ack: 1, length: 1000)
        talk.send(.client, seq: 1, ack: 1, length: 1000)
        var client = talk.connection.direction(.client)
        #expect(client.bytesSent == 3000 && client.bytesInOrder == 1000)
        talk.send(.client, seq: 3001, ack: 1, flags: .fin)
        #expect(talk.connection.anomalies.map(\.kind) == [.gapBeforeFin])
        #expect(talk.connection.direction(.client).fin?.followsAllData == false)
        talk.send(.client, seq: 1001, ack: 1, length: 1000)
        client = talk.connection.direction(.client)
        #expect(client.bytesInOrder == 3000)
        #expect(client.fin?.followsAllData == true)
        #expect(talk.connection.anomalies == [])
    }

    @Test func finBeforeTheDataAndDataAfterIt() {
        var talk = Conversation()
        talk.send(.client, seq: 1, ack: 1, flags: .fin, length: 100)  // FIN at 101
        talk.send(.client, seq: 101, ack: 1, length: 50)  // then 50 more bytes
        let connection = talk.connection
        #expect(connection.direction(.client).dataAfterFin == 50)
        #expect(connection.direction(.client).fin?.followsAllData == false)
        #expect(Set(connection.anomalies.map(\.kind)) == [.dataAfterFin, .finBeforeAllData])
    }

    @Test func resetWithDataInFlight() {
        var talk = Conversation()
        talk.send(.client, seq: 1, ack: 1, length: 4000)
        talk.send(.server, seq: 1, ack: 1001)
        talk.send(.client, seq: 4001, ack: 1, flags: .rst)
        let connection = talk.connection
        let reset = connection.direction(.client).resets.first
        #expect(reset?.sequence == 4001)
        #expect(reset?.unacknowledgedBytes == 3000)
        #expect(reset?.afterOwnFin == false)
        #expect(connection.firstClose?.kind == .rst)
        #expect(connection.anomalies.map(\.kind) == [.resetWithDataInFlight])
    }

    @Test func resetAfterFinIsMarked() {
        var talk = Conversation()
        talk.send(.server, seq: 1, ack: 1, flags: .fin)
        talk.send(.client, seq: 1, ack: 2, flags: .rst)
        let reset = talk.connection.direction(.client).resets.first
        #expect(reset?.afterPeerFin == true)
        #expect(reset?.afterOwnFin == false)
        #expect(reset?.acknowledgement == 2)
        #expect(talk.connection.firstClose?.by == .server)
    }

    @Test func sequenceNumbersWrapAround() {
        var talk = Conversation(clientISN: UInt32.max - 100)
        talk.send(.client, seq: 1, ack: 1, length: 60000)
        talk.send(.client, seq: 60001, ack: 1, length: 60000)
        talk.send(.client, seq: 120_001, ack: 1, flags: .fin)
        talk.send(.server, seq: 1, ack: 120_002)
        let client = talk.connection.direction(.client)
        #expect(client.bytesSent == 120_000 && client.bytesInOrder == 120_000 && client.bytesAcknowledged == 120_000)
        #expect(client.fin?.sequence == 120_001)
    }

    @Test func connectionWithoutHandshake() {
        var talk = Conversation(handshake: false)
        talk.send(.client, seq: 7001, ack: 1, length: 100)
        talk.send(.server, seq: 1, ack: 7101)
        talk.send(.client, seq: 7101, ack: 1, flags: .fin)
        let connection = talk.connection
        #expect(!connection.handshake)
        #expect(connection.anomalies.map(\.kind) == [.noHandshake])
        // Numbers start from the first segment seen: its first byte is 1.
        #expect(connection.direction(.client).bytesSent == 100)
        #expect(connection.direction(.client).fin?.sequence == 101)
    }

    @Test func aNewSynOnAReusedPortPairIsANewConnection() {
        var talk = Conversation()
        talk.send(.client, seq: 1, ack: 1, flags: .fin)
        talk.send(.server, seq: 1, ack: 2, flags: .fin)
        talk.send(.client, seq: 2, ack: 2)
        talk.clientISN = 900_000
        talk.serverISN = 77
        talk.send(.client, seq: 0, ack: nil, flags: .syn)
        talk.send(.client, seq: 0, ack: nil, flags: .syn)  // the SYN resent stays in the same connection
        talk.send(.server, seq: 0, ack: 1, flags: [.syn, .ack])
        talk.send(.client, seq: 1, ack: 1, length: 10)
        let facts = talk.analyzer.facts()
        #expect(facts.connections.count == 2)
        #expect(facts.connections[1].handshake)
        #expect(facts.connections[1].direction(.client).bytesSent == 10)
        #expect(facts.connections[1].direction(.client).retransmissions == 1)
    }

    @Test func endpointsPrintAndParse() {
        #expect(Endpoint("127.0.0.1:80")?.description == "127.0.0.1:80")
        #expect(Endpoint("[::1]:443")?.description == "[::1]:443")
        #expect(Endpoint("[2001:db8:0:0:1:0:0:1]:1")?.description == "[2001:db8::1:0:0:1]:1")
        #expect(Endpoint("[fe80::]:1")?.address == "fe80::")
        #expect(Endpoint("300.0.0.1:80") == nil)
        #expect(Endpoint("::1") == nil, "no port")
    }
}

@Suite struct Streaming {
    @Test("A finished connection is retired once quiet (60 s of capture time), with the facts it had; open ones stay")
    func finishedConnectionsRetire() {
        var talk = Conversation()
        talk.send(.client, seq: 1, ack: 1, length: 1000)
        talk.send(.client, seq: 1001, ack: 1, flags: .fin)
        talk.send(.server, seq: 1, ack: 1002, flags: .fin)
        talk.send(.client, seq: 1002, ack: 2)
        let finished = talk.connection
        #expect(talk.analyzer.retire().isEmpty, "a connection that has just finished is kept for its late packets")
        // Another connection, a minute later.
        var other = Conversation(clientISN: 7, serverISN: 9, handshake: false)
        other.time = talk.time + 61_000_000_000
        talk.analyzer.add(
            TCPSegment(
                source: Endpoint(family: .ipv4, low: 0x7F00_0001, port: 40001), destination: other.server, sequence: 7,
                acknowledgement: 0, flags: .syn, payloadLength: 0, ipIdentification: 1), time: other.time)
        let retired = talk.analyzer.retire()
        #expect(retired == [finished])
        #expect(talk.analyzer.facts().connections.map(\.index) == [1], "only the open connection is held")
        let rest = talk.analyzer.retireAll()
        #expect(rest.map(\.index) == [1])
        #expect(talk.analyzer.facts().connections.isEmpty)
    }

    @Test("inspect --json, written as the connections end, is the facts of the whole file read at once, on every committed capture")
    func streamedJSONIsTheWholeFacts() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: fixtureDirectory.path).filter { $0.hasSuffix(".pcap") }.sorted()
        #expect(files.count >= 10)
        for path in files.map({ fixtureDirectory.appendingPathComponent($0).path }) {
            let whole = try CaptureFile.analyze(path: path)
            #expect(try inspectJSON(path) == whole, "\(path)")
        }
    }
}
