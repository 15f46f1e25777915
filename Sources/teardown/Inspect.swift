import ArgumentParser
import Foundation
import PacketCapture
import WireAnalysis

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how each TCP connection in a capture file ended.",
        discussion: """
            Reads any pcap or pcapng file (one of Teardown's, or one made with tcpdump -w or tshark) and, \
            for each connection: who closed first and how (FIN or RST), at which relative sequence number \
            against the bytes sent, the bytes each way, and anomalies: data after a FIN, a FIN before all \
            data, an RST with data in flight, no handshake in the capture.

            Sequence numbers are relative: a side's first data byte is 1, so after N bytes its FIN is at N+1. \
            The JSON form (--json) is described in docs/inspect-json.md.

            Exit codes: 0 the file was read to its end; 2 it could not be read, or it ends in the middle of a \
            packet (the facts before that point are still printed).
            """
    )

    @Argument(help: "The capture file.")
    var file: String

    @Flag(help: "Print the facts as JSON (format teardown-inspect/1).")
    var json = false

    func run() throws {
        let facts: CaptureFacts
        do {
            facts = try CaptureFile.analyze(path: file)
        } catch {
            Self.exit(error.message, code: 2)
        }
        let output = json ? try stableJSON(facts) : TextReport.render(facts, file: file)
        FileHandle.standardOutput.write(Data(output.utf8))
        if let truncated = facts.truncated { Self.exit("the capture is incomplete: \(truncated)", code: 2) }
    }
}
