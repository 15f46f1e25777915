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

            Each connection is printed once it has ended and gone quiet (60 s of capture time, or 100,000 \
            packets), the others at the end of the file, then the totals: only the connections still open are \
            held, so any length of capture is read in the same memory.

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
        let output = BufferedOutput()
        var json = json ? StreamedJSON() : nil
        var result: (facts: CaptureFacts, connections: Int, ladder: WireLadder?)
        do {
            // Each connection is printed once it has ended, so the file is never held whole.
            result = try CaptureFile.stream(
                path: file, drawing: ladder && json == nil ? WireLadder(sides: .clientLeft, limit: ladderLimit) : nil
            ) { linkType in
                if json == nil { output.write(TextReport.title(file: file, linkType: linkType.description)) }
            } emit: { connection, captureStart in
                if json != nil {
                    output.write(json!.add(connection, captureStart: captureStart))
                } else {
                    output.write(TextReport.block(connection))
                }
            }
        } catch {
            throw CommandFailure(error.message, code: 2)
        }
        if json != nil {
            output.write(try json!.finish(result.facts))
        } else {
            output.write(TextReport.totals(result.facts, connections: result.connections))
        }
        if let drawn = result.ladder?.finished {
            output.write("\n" + TextLadder.render(Ladder(left: "client", right: "server", events: drawn.events, omitted: drawn.omitted)))
        }
        output.flush()
        if let truncated = result.facts.truncated { throw CommandFailure("the capture is incomplete: \(truncated)", code: 2) }
    }
}

/// `inspect --json` written as it goes, byte for byte what `stableJSON` makes of the whole `CaptureFacts`: the
/// keys before `connections` once the first connection is known, each connection as it comes, the keys after
/// `connections` at the end.
struct StreamedJSON {
    private var started = false

    /// The text for one more connection (the document's head first, for the first), `captureStart` being the
    /// capture's: its JSON, two levels in.
    mutating func add(_ connection: ConnectionFacts, captureStart: Double) -> Data {
        var text = Data((started ? ",\n" : Self.head(captureStart: captureStart)).utf8)
        started = true
        text.append(contentsOf: FactsJSON.connection(connection, depth: 2))
        return text
    }

    /// The text before the first connection: only `captureStart` comes before `connections`.
    static func head(captureStart: Double) -> String {
        let facts = CaptureFacts(linkType: "", packets: 0, tcpSegments: 0, skipped: [], captureStart: captureStart, connections: [])
        let lines = skeleton(facts)
        guard let open = lines.firstIndex(where: { $0.hasPrefix("  \"connections\" : [") }) else { return "" }
        return lines[...open].joined(separator: "\n") + "\n"
    }

    /// The facts as JSON with no connections, line by line. (Encoding these plain values cannot fail.)
    static func skeleton(_ facts: CaptureFacts) -> [Substring] {
        var empty = facts
        empty.connections = []
        return ((try? stableJSON(empty)) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The text after the last connection (or the whole document when there was none).
    func finish(_ facts: CaptureFacts) throws -> String {
        guard started else { return try stableJSON(facts) }
        let lines = Self.skeleton(facts)
        guard let close = lines.firstIndex(where: { $0 == "  ]," || $0 == "  ]" }) else { return "" }
        return "\n" + lines[close...].joined(separator: "\n")
    }
}

/// Standard output in chunks of 64 KiB. A reader that goes away (a closed pipe) ends the writing quietly.
final class BufferedOutput {
    private var buffer = Data()
    private var closed = false

    func write(_ text: String) { write(Data(text.utf8)) }

    func write(_ bytes: Data) {
        buffer.append(bytes)
        if buffer.count >= 65536 { flush() }
    }

    func flush() {
        guard !closed, !buffer.isEmpty else { return }
        do {
            try FileHandle.standardOutput.write(contentsOf: buffer)
        } catch {
            closed = true
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
