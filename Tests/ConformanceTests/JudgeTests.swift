import ProviderInterface
import Testing

@testable import Conformance
@testable import Harness
@testable import WireAnalysis

/// The judges are pure: an expectation and the evidence gathered for it give the findings, with no provider, peer
/// or capture. Each statement of their reasoning can be checked, and each can fail.
@Suite struct Judges {
    func direction(bytesSent: Int64, fin: Int64? = nil, reset: Int64? = nil) -> DirectionFacts {
        DirectionFacts(
            side: .client, from: "127.0.0.1:1", to: "127.0.0.1:2", segments: 3, bytesSent: bytesSent, bytesInOrder: bytesSent,
            bytesAcknowledged: bytesSent, retransmissions: 0, duplicates: 0, firstData: nil, lastData: nil,
            fin: fin.map {
                FinFacts(sequence: $0, followsAllData: $0 == bytesSent + 1, onData: false, retransmissions: 0, packet: 5, time: 0)
            },
            resets: reset.map {
                [
                    ResetFacts(
                        sequence: $0, ack: true, acknowledgement: 1, afterOwnFin: false, afterPeerFin: false, unacknowledgedBytes: 0,
                        peerUnacknowledgedBytes: 0, packet: 6, time: 0)
                ]
            } ?? [], dataAfterFin: 0)
    }

    @Test func aFinAtNPlusOneAfterTheAcceptedBytesHoldsAndAnywhereElseIsAFinding() {
        let expectation = WireExpectation(
            side: "subject", connection: "peer", fin: .afterAccepted, rst: WireExpectation.Reset.none, line: 3)
        #expect(Judge.wire(expectation, direction(bytesSent: 1000, fin: 1001), accepted: 1000).isEmpty)
        #expect(
            Judge.wire(expectation, direction(bytesSent: 500, fin: 501), accepted: 1000)
                == ["expected FIN at seq 1001 after 1000 bytes; saw FIN at seq 501, 500 queued bytes discarded"])
        #expect(
            Judge.wire(expectation, direction(bytesSent: 1000, reset: 1001), accepted: 1000) == [
                "expected FIN at seq 1001 after 1000 bytes; saw RST at seq 1001", "expected no RST from the subject; saw RST at seq 1001",
            ])
        #expect(Judge.wire(expectation, nil, accepted: 0) == ["the capture holds no segment of the subject on connection peer"])
    }

    @Test func aPeerThatReadMoreThanWasAcceptedIsToldSo() {
        let prefix = PeerExpectation(peer: "peer", read: .prefix, ending: .endOfStream, line: 7)
        #expect(Judge.peer(prefix, read: Payload.bytes(100), ending: .endOfStream, accepted: 1000).isEmpty)
        #expect(
            Judge.peer(prefix, read: Payload.bytes(8), ending: .endOfStream, accepted: 0)
                == ["expected the peer to read an intact prefix of the 0 accepted bytes; it read 8, more than were accepted"])
        var damaged = Payload.bytes(100)
        damaged[50] ^= 0xFF
        #expect(
            Judge.peer(prefix, read: damaged, ending: .reset, accepted: 1000) == [
                "expected the peer to read an intact prefix of the 1000 accepted bytes; its 100 bytes differ",
                "expected the peer's reading to end with end-of-stream; it ended with reset after 100 bytes",
            ])
    }

    @Test func aReceivesZeroBytesIsTheEndOfTheStreamAndAnotherCallsIsSuccess() {
        #expect(Judge.matches(.success(.count(0)), .endOfStream, zeroIsEndOfStream: true))
        #expect(!Judge.matches(.success(.count(0)), .ok, zeroIsEndOfStream: true))
        #expect(Judge.matches(.success(.count(0)), .ok, zeroIsEndOfStream: false))
        #expect(!Judge.matches(.success(.count(0)), .partial, zeroIsEndOfStream: false))
        #expect(Judge.matches(.failure(.interrupted), .oneOf([.error(.interrupted), .partial]), zeroIsEndOfStream: false))
        #expect(!Judge.matches(.failure(.notSocket), .error(.interrupted), zeroIsEndOfStream: false))
    }

    @Test func anOperationThatNeverCompletedOrCompletedOtherwiseIsAFinding() {
        let aborted = OperationExpectation(operation: "r", result: .error(.operationAborted), line: 9)
        #expect(Judge.operation(aborted, nil) == ["asynchronous r never completed"])
        #expect(
            Judge.operation(
                aborted, HandleRegistry.Completion(operation: OperationID(rawValue: 1), result: .failed(.operationAborted), time: .now)
            ).isEmpty)
        #expect(
            Judge.operation(aborted, HandleRegistry.Completion(operation: OperationID(rawValue: 1), result: .received([]), time: .now))
                .count == 1)
    }
}
