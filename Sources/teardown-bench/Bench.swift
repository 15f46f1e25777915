import ArgumentParser
import Basics
import Foundation
import PacketCapture
import WireAnalysis

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teardown-bench",
        abstract: "Teardown's benchmarks: each prints its figures and the ratios measured in the same run.",
        subcommands: [WireBench.self, GapBench.self, SuiteBench.self, FaultBench.self]
    )
}

struct WireBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire",
        abstract: "Time teardown inspect against tshark -r and tcpdump -r on one generated capture.",
        discussion: """
            Generates a deterministic capture (Ethernet, IPv4 and IPv6, thousands of connections ending by FIN, \
            FIN then RST, or RST, with retransmissions) and runs each reader on it with its output to /dev/null, \
            best of --runs. Targets: teardown inspect at least 10 times faster than tshark, and no slower than \
            tcpdump, though it follows every connection and tcpdump only prints packets.
            """
    )

    @Option(help: "Packets in the generated capture.")
    var packets = 1_000_000

    @Option(help: "Runs of each reader; the best time is kept.")
    var runs = 3

    @Option(help: "The teardown binary to time.")
    var teardown = "teardown"

    @Option(help: "Where to write the capture.")
    var capture = "/tmp/teardown-bench-wire.pcap"

    @Option(help: "The generator's seed.")
    var seed: UInt64 = 1

    func validate() throws {
        guard packets > 0, runs > 0 else { throw ValidationError("--packets and --runs must be positive") }
    }

    func run() throws {
        let started = ContinuousClock.now
        let (written, connections) = try SyntheticCapture(seed: seed).write(to: capture, packets: packets)
        let size = (try? FileManager.default.attributesOfItem(atPath: capture)[.size] as? Int) ?? 0
        print(
            "capture: \(capture): \(written) packets, \(connections) connections, \(size >> 20) MiB, written in \(started.duration(to: .now))"
        )
        // The analysis must follow every connection before it is timed.
        let facts = try CaptureFile.analyze(path: capture)
        guard facts.packets == written, facts.connections.count == connections else {
            throw ValidationError("teardown read \(facts.packets) packets and \(facts.connections.count) connections back")
        }
        var readers: [(String, [String])] = [
            ("teardown inspect", [teardown, "inspect", capture]),
            ("teardown inspect --json", [teardown, "inspect", "--json", capture]),
        ]
        for (name, arguments) in [("tcpdump -r", ["tcpdump", "-n", "-r", capture]), ("tshark -r", ["tshark", "-r", capture])] {
            if let path = which(arguments[0]) {
                readers.append((name, [path] + arguments.dropFirst()))
            } else {
                print("\(name): not installed (make deps installs it as root); no ratio against it")
            }
        }
        var best: [String: Double] = [:]
        for (name, command) in readers {
            var times: [Double] = []
            for _ in 0..<runs { times.append(try timed(command)) }
            best[name] = times.min()
            let perPacket = times.min()! / Double(written) * 1e9
            let label = name.padding(toLength: 24, withPad: " ", startingAt: 0)
            print(label + String(format: " best %7.3f s of %d  (%6.0f ns/packet)", times.min()!, runs, perPacket))
        }
        let ours = best["teardown inspect"]!
        if let tshark = best["tshark -r"] {
            print(String(format: "ratio tshark / teardown:  %6.1fx  (target: at least 10x)", tshark / ours))
        }
        if let tcpdump = best["tcpdump -r"] {
            print(String(format: "ratio tcpdump / teardown: %6.1fx  (target: at least 1x)", tcpdump / ours))
        }
    }

    private func which(_ name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/sbin"]
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Wall time of one run of `command`, its output discarded.
func timed(_ command: [String]) throws -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    let start = ContinuousClock.now
    try process.run()
    process.waitUntilExit()
    let elapsed = start.duration(to: .now)
    guard process.terminationStatus == 0 else {
        throw ValidationError("\(command.joined(separator: " ")) exited \(process.terminationStatus)")
    }
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}
