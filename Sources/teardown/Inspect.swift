import ArgumentParser
import Foundation
import PacketCapture
import Reporting
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

    @Flag(inversion: .prefixedNo, help: "Draw the ladder of the exchange after the facts (client left, server right).")
    var ladder = true

    @Option(help: "The most events the ladder draws before it stops.")
    var ladderLimit = 200

    func validate() throws {
        guard ladderLimit >= 1 else { throw ValidationError("--ladder-limit must be at least 1") }
    }

    func run() throws {
        let facts: CaptureFacts
        var drawn: WireLadder?
        do {
            (facts, drawn) = try CaptureFile.analyze(
                path: file, drawing: ladder && !json ? WireLadder(sides: .clientLeft, limit: ladderLimit) : nil)
        } catch {
            throw CommandFailure(error.message, code: 2)
        }
        var output = json ? try stableJSON(facts) : TextReport.render(facts, file: file)
        if let drawn = drawn?.finished {
            output += "\n" + TextLadder.render(Ladder(left: "client", right: "server", events: drawn.events, omitted: drawn.omitted))
        }
        FileHandle.standardOutput.write(Data(output.utf8))
        if let truncated = facts.truncated { throw CommandFailure("the capture is incomplete: \(truncated)", code: 2) }
    }
}
