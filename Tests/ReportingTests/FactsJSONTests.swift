import Foundation
import PacketCapture
import Reporting
import TestSupport
import Testing
import WireAnalysis

@Suite struct FactsJSONForm {
    @Test("The hand-written JSON of a connection is JSONEncoder's, byte for byte, on every committed capture and on awkward strings")
    func sameBytesAsJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let directory = repositoryRoot.appendingPathComponent("captures")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".pcap") }.sorted()
        var connections: [ConnectionFacts] = []
        for file in files { connections += try CaptureFile.analyze(path: directory.appendingPathComponent(file).path).connections }
        #expect(connections.count >= 10)
        // What the fixtures lack: an anomaly without a side, a reset with and without its acknowledgement, escapes.
        if var odd = connections.first {
            odd.anomalies.append(Anomaly(kind: .noHandshake, side: nil, detail: "quote \" backslash \\ slash / tab \t bell \u{7} é"))
            odd.end = 1e-7
            connections.append(odd)
        }
        var checked = 0
        for connection in connections {
            let expected = try encoder.encode(connection)
            let ours = FactsJSON.connection(connection, depth: 0)
            #expect(Data(ours) == expected, "\(String(decoding: ours, as: UTF8.self))\n---\n\(String(decoding: expected, as: UTF8.self))")
            checked += connection.directions.reduce(0) { $0 + $1.resets.count }
        }
        #expect(checked > 0, "some connection has a reset")
    }
}
