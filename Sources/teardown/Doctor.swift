import ArgumentParser
import Basics
import Foundation
import Harness
import PacketCapture
import ProviderInterface
import WireAnalysis

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that this machine can capture and analyse the suite's traffic.",
        discussion: """
            Finds out how this process can capture on the loopback: directly (root or CAP_NET_RAW) or, as an \
            ordinary user, by re-executing itself in a new user and network namespace (unshare -rn). Then it \
            captures a local connection over IPv4 and IPv6 in which the client sends 64 KiB and closes \
            gracefully, and checks the facts read off the wire: a handshake, every byte in order, the \
            client's FIN at seq 65537, no RST.

            Exit codes: 0 capture works; 2 it does not, with what to do.
            """
    )

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(help: "Bytes the client sends before it closes.")
    var bytes = 65536

    struct Report: Codable {
        var mode: CaptureAccess.Mode
        var libpcap: String
        var checks: [Check]
    }

    struct Check: Codable {
        var family: String
        var ok: Bool
        var problems: [String]
        var connection: ConnectionFacts?
    }

    func validate() throws {
        guard bytes >= 0 && bytes <= 64 << 20 else { throw ValidationError("--bytes must be between 0 and 67108864") }
    }

    func run() throws {
        let mode: CaptureAccess.Mode
        do {
            mode = try CaptureAccess.ensure()
        } catch {
            throw CommandFailure("cannot capture: \(error.message)", code: 2)
        }
        var checks: [Check] = []
        for family in [SocketAddress.Family.ipv4, .ipv6] {
            do {
                checks.append(try check(family))
            } catch {
                checks.append(Check(family: "\(family)", ok: false, problems: ["\(error)"], connection: nil))
            }
        }
        let report = Report(mode: mode, libpcap: CaptureAccess.libraryVersion, checks: checks)
        if json {
            print(try stableJSON(report), terminator: "")
        } else {
            let how = mode == .direct ? "directly" : "inside a user and network namespace made for this run"
            print("capture: on lo, \(how) (\(report.libpcap))")
            for check in checks {
                print("\(check.family): \(check.ok ? "ok" : "FAILED")\(check.ok ? "" : ": " + check.problems.joined(separator: "; "))")
                if check.ok, let connection = check.connection {
                    let client = connection.direction(.client)
                    print(
                        "  \(connection.client) -> \(connection.server): FIN at seq \(client.fin?.sequence ?? 0) after \(client.bytesSent) bytes"
                    )
                }
            }
        }
        if checks.contains(where: { !$0.ok }) { throw ExitCode(2) }
    }

    /// One local connection under capture: the client sends `bytes` and closes; the server reads all and closes.
    private func check(_ family: SocketAddress.Family) throws -> Check {
        let listener = try PeerListener(family)
        defer { listener.close() }
        let payload = Payload.bytes(bytes)
        let (read, result) = try LiveCapture.with(filter: "tcp port \(listener.address.port)") { capture in
            let client = try PeerSocket.connect(to: listener.address)
            let server = try listener.accept()
            let sent = try client.send(payload)
            client.close()
            let read = try server.read(within: .seconds(10))
            server.close()
            try capture.wait(for: "a FIN from each side", within: .seconds(5)) { facts in
                facts.connections.first.map { $0.directions.allSatisfy { $0.fin != nil } } ?? false
            }
            return (sent.sent, read)
        }
        var problems: [String] = []
        if read.1.bytes != payload || read.1.ending != .endOfStream {
            problems.append("the server read \(read.1) instead of \(bytes) bytes then end-of-stream")
        }
        guard result.facts.connections.count == 1, let connection = result.facts.connections.first else {
            problems.append("the capture holds \(result.facts.connections.count) connections instead of 1")
            return Check(family: "\(family)", ok: false, problems: problems, connection: nil)
        }
        let client = connection.direction(.client)
        if !connection.handshake { problems.append("no handshake captured") }
        if client.bytesSent != Int64(bytes) || client.bytesInOrder != Int64(bytes) {
            problems.append("the wire shows \(client.bytesSent) bytes sent, \(client.bytesInOrder) in order, instead of \(bytes)")
        }
        if client.fin?.sequence != Int64(bytes) + 1 || client.fin?.followsAllData != true {
            problems.append("the client's FIN is at \(client.fin.map { "seq \($0.sequence)" } ?? "nowhere") instead of \(bytes + 1)")
        }
        if connection.directions.contains(where: { !$0.resets.isEmpty }) { problems.append("an RST was captured") }
        return Check(family: "\(family)", ok: problems.isEmpty, problems: problems, connection: connection)
    }
}
