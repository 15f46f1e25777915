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
        subcommands: [WireBench.self, GapBench.self, SuiteBench.self, FaultBench.self, ProviderBench.self, PowerBench.self]
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
            ("teardown inspect --no-ladder", [teardown, "inspect", "--no-ladder", capture]),
            ("teardown inspect --json", [teardown, "inspect", "--json", capture]),
        ]
        for (name, arguments) in [
            ("tcpdump -r -w /dev/null", ["tcpdump", "-r", capture, "-w", "/dev/null"]), ("tcpdump -r", ["tcpdump", "-n", "-r", capture]),
            ("tshark -r", ["tshark", "-r", capture]),
        ] {
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
            let label = name.padding(toLength: 28, withPad: " ", startingAt: 0)
            print(label + String(format: " best %7.3f s of %d  (%6.0f ns/packet)", times.min()!, runs, perPacket))
        }
        let ours = best["teardown inspect"]!
        if let tshark = best["tshark -r"] {
            print(String(format: "ratio tshark / teardown:  %6.1fx  (target: at least 10x)", tshark / ours))
        }
        if let tcpdump = best["tcpdump -r"] {
            print(String(format: "ratio tcpdump / teardown: %6.1fx  (target: at least 1x)", tcpdump / ours))
        }
        let text = best["teardown inspect --no-ladder"]!
        if let bare = best["tcpdump -r -w /dev/null"] {
            print(
                String(
                    format: "inspect --no-ladder / libpcap's bare read (tcpdump -r F -w /dev/null): %5.2fx  (target: at most 2.5x)",
                    text / bare))
        }
        print(
            String(format: "inspect --json / inspect --no-ladder: %5.2fx  (target: at most 1.3x)", best["teardown inspect --json"]! / text))
        try memoryRows(packets: written)
    }

    /// Peak memory of `inspect --json` on this capture and on one four times as long (as many connections open at
    /// once, four times as many in all): the analysis holds the open connections, not the file.
    func memoryRows(packets written: Int) throws {
        let longer = capture + ".4x.pcap"
        defer { try? FileManager.default.removeItem(atPath: longer) }
        let (longPackets, longConnections) = try SyntheticCapture(seed: seed).write(to: longer, packets: written * 4)
        let short = try peak([teardown, "inspect", "--json", capture])
        let long = try peak([teardown, "inspect", "--json", longer])
        print(String(format: "inspect --json peak memory: %.1f MiB for %d packets", Double(short) / 1024, written))
        print(
            String(
                format: "inspect --json peak memory: %.1f MiB for %d packets, %d connections", Double(long) / 1024, longPackets,
                longConnections))
        print(String(format: "peak memory, 4x the packets / 1x: %5.2fx  (target: at most 1.2x)", Double(long) / Double(short)))
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

/// The peak resident memory, in KiB, of one run of `command` (its output discarded), from wait4's resource usage.
func peak(_ command: [String]) throws -> Int {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    let arguments = command.map { strdup($0) } + [nil]
    defer { for argument in arguments { free(argument) } }
    let spawned = posix_spawn(&pid, command[0], &actions, nil, arguments, environ)
    guard spawned == 0 else { throw ValidationError("\(command[0]): cannot start (\(String(cString: strerror(spawned))))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
        guard errno == EINTR else { throw ValidationError("wait4: \(String(cString: strerror(errno)))") }
    }
    guard status == 0 else { throw ValidationError("\(command.joined(separator: " ")) exited with status \(status)") }
    return usage.ru_maxrss
}
