import ArgumentParser
import Basics
import FaultInjection
import Foundation
import Harness
import ProviderCatalogue
import ProviderInterface

struct FaultBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract:
            "Time a loopback bulk transfer through the bare reference provider, the fault layer with an empty plan, and with 100 rules that match nothing.",
        discussion: """
            Each configuration sends --gigabytes through the provider's send in 256 KiB calls to a plain kernel socket that \
            reads as fast as it can; the three run in turn, --rounds times, and the best time of each is kept. Targets: \
            the empty plan within 2% of bare, 100 rules within 5%.
            """
    )

    @Option(help: "GiB to send per transfer.")
    var gigabytes = 1

    @Option(help: "Rounds; the best time of each configuration is kept.")
    var rounds = 3

    func run() throws {
        let bytes = gigabytes << 30
        let nothing = FaultPlan(
            rules: (1...100).map { FaultRule(operations: "*", handle: "h\($0)", action: .delayOnEntry(.seconds(1)), source: "bench:\($0)") }
        )
        let configurations: [(String, @Sendable (HandleRegistry) -> any SocketProvider)] = [
            ("bare reference", { ProviderKind.reference.make(upcalls: $0) }),
            (
                "fault layer, empty plan",
                { FaultLayer(wrapping: ProviderKind.reference.make(upcalls: $0), plan: FaultPlan(), seed: 1, context: FaultContext()) }
            ),
            (
                "fault layer, 100 rules",
                { FaultLayer(wrapping: ProviderKind.reference.make(upcalls: $0), plan: nothing, seed: 1, context: FaultContext()) }
            ),
        ]
        var best = Array(repeating: Double.infinity, count: configurations.count)
        for round in 1...rounds {
            for (index, (name, make)) in configurations.enumerated() {
                let seconds = try transfer(bytes, make)
                best[index] = min(best[index], seconds)
                print(
                    String(format: "round %d  %-24@ %6.3f s  %6.0f MiB/s", round, name as NSString, seconds, Double(bytes >> 20) / seconds))
            }
        }
        for (index, (name, _)) in configurations.enumerated() {
            print(String(format: "best %-24@ %6.3f s  %6.0f MiB/s", name as NSString, best[index], Double(bytes >> 20) / best[index]))
        }
        print(String(format: "empty plan / bare: %.3f  (target: at most 1.02)", best[1] / best[0]))
        print(String(format: "100 rules / bare:  %.3f  (target: at most 1.05)", best[2] / best[0]))
        // A transfer on two cores varies by a few percent from run to run, more than the layer costs; the cost of
        // one call through the layer, measured on a cheap call, says what it adds to each send.
        let calls = 200_000
        var perCall: [Double] = []
        for (_, make) in configurations { perCall.append(try costPerCall(calls, make)) }
        let sends = Double(bytes / (256 << 10))
        for (index, (name, _)) in configurations.enumerated() {
            print(
                String(format: "per call %-24@ %7.0f ns (getsockopt, best of 3 x %d calls)", name as NSString, perCall[index] * 1e9, calls))
        }
        for index in 1..<configurations.count {
            let added = (perCall[index] - perCall[0]) * sends / best[0] * 100
            print(
                String(
                    format: "%@ adds %.3f%% to the bare transfer (%.0f ns on each of %.0f sends)", configurations[index].0 as NSString,
                    added, (perCall[index] - perCall[0]) * 1e9, sends))
        }
    }

    /// Seconds per call of a cheap provider call (reading the linger option), best of three.
    func costPerCall(_ calls: Int, _ make: @escaping @Sendable (HandleRegistry) -> any SocketProvider) throws -> Double {
        let provider = make(HandleRegistry())
        defer { provider.cleanup() }
        let handle = try provider.socket(.ipv4)
        var best = Double.infinity
        for _ in 0..<3 {
            let start = ContinuousClock.now
            for _ in 0..<calls { _ = try Result { () throws(SocketError) in try provider.option(handle, .linger) }.get() }
            best = min(best, start.duration(to: .now).seconds / Double(calls))
        }
        try provider.close(handle)
        return best
    }

    /// Sends `bytes` through a fresh provider to a kernel socket reading on a thread of its own; the seconds it took.
    func transfer(_ bytes: Int, _ make: @escaping @Sendable (HandleRegistry) -> any SocketProvider) throws -> Double {
        let registry = HandleRegistry()
        let provider = make(registry)
        defer { provider.cleanup() }
        let listener = try PeerListener(.ipv4)
        defer { listener.close() }
        let handle = try provider.socket(.ipv4)
        try provider.connect(handle, to: listener.address)
        let peer = try listener.accept()
        let flags = fcntl(peer.fd, F_GETFL)
        _ = fcntl(peer.fd, F_SETFL, flags & ~O_NONBLOCK)
        let done = DispatchSemaphore(value: 0)
        let start = ContinuousClock.now
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var total = 0
            while total < bytes {
                let count = buffer.withUnsafeMutableBytes { recv(peer.fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                total += count
            }
            done.signal()
        }
        let chunk = [UInt8](repeating: 0x5A, count: 256 << 10)
        var sent = 0
        try chunk.withUnsafeBytes { raw in
            while sent < bytes {
                let piece = UnsafeRawBufferPointer(rebasing: raw.prefix(min(raw.count, bytes - sent)))
                sent += try Result { () throws(SocketError) in try provider.send(handle, piece) }.get()
            }
        }
        guard done.wait(timeout: .now() + 120) == .success else { throw ValidationError("the reader did not finish within 120 s") }
        let elapsed = start.duration(to: .now)
        try provider.close(handle)
        peer.close()
        return elapsed.seconds
    }
}
