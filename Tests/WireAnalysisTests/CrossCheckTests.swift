import Foundation
import PacketCapture
import TestSupport
import Testing
import WireAnalysis

/// Every committed capture.
let committedCaptures: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtureDirectory.path)) ?? []
    return names.filter { $0.hasSuffix(".pcap") }.sorted()
}()

let tshark = tool("tshark")

/// The facts tshark's own dissector gives, per connection and direction, computed from its fields.
struct TsharkDirection: Equatable, CustomStringConvertible {
    var bytesSent: Int64 = 0
    var finSequence: Int64?
    var resetSequences: [Int64] = []
    var description: String { "sent \(bytesSent), FIN \(finSequence.map(String.init) ?? "none"), RST \(resetSequences)" }
}

func tsharkFacts(_ path: String) throws -> [String: TsharkDirection] {
    let fields = ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "tcp.seq", "tcp.len", "tcp.flags.fin", "tcp.flags.reset"]
    let result = try runProgram(tshark!, ["-r", path, "-T", "fields", "-E", "separator=,"] + fields.flatMap { ["-e", $0] })
    guard result.status == 0 else { throw TestFailure("tshark -r \(path) exited \(result.status): \(result.errors)") }
    var directions: [String: TsharkDirection] = [:]
    for line in result.output.split(separator: "\n") {
        let value = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard value.count == fields.count, let seq = Int64(value[4]), let length = Int64(value[5]) else { continue }
        let address = value[1].isEmpty ? "[\(value[2])]" : value[1]
        let key = "\(value[0]) \(address):\(value[3])"
        var direction = directions[key] ?? TsharkDirection()
        if length > 0 { direction.bytesSent = max(direction.bytesSent, seq + length - 1) }
        if ["1", "True"].contains(value[6]) && direction.finSequence == nil { direction.finSequence = seq + length }
        if ["1", "True"].contains(value[7]) { direction.resetSequences.append(seq) }
        directions[key] = direction
    }
    return directions
}

@Suite struct CrossCheck {
    @Test(
        "teardown inspect --json agrees with tshark on every committed capture",
        .enabled(if: tshark != nil, "tshark is not installed (make deps installs it as root)"),
        arguments: committedCaptures)
    func agreesWithTshark(_ name: String) throws {
        let path = fixtureDirectory.appendingPathComponent(name).path
        let ours = try inspectJSON(path)
        let theirs = try tsharkFacts(path)
        #expect(theirs.count == ours.connections.count * 2, "tshark sees \(theirs.count / 2) connections")
        for connection in ours.connections {
            for direction in connection.directions {
                let key = "\(connection.index) \(direction.from)"
                let expected = theirs[key]
                #expect(expected != nil, "tshark has no stream \(key)")
                guard let expected else { continue }
                let mine = TsharkDirection(
                    bytesSent: direction.bytesSent, finSequence: direction.fin?.sequence,
                    resetSequences: direction.resets.map(\.sequence))
                #expect(mine == expected, "\(name) #\(connection.index) \(direction.side): ours \(mine), tshark \(expected)")
            }
        }
    }
}
