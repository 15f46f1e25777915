import ArgumentParser
import Foundation
import Harness
import ProviderCatalogue
import ProviderInterface
import ProviderProcess

/// What a provider in another process costs: each call through the provider protocol against the same call made in
/// this process, and the whole suite's wall time for each subject.
struct ProviderBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract: "Time a call through the provider protocol against the same call in process, and the suite for each subject.",
        discussion: """
            The call is getsockopt(SO_LINGER) on one socket (option(.linger)): the posix provider makes it in this \
            process; the Python, Java and Wine providers make it in theirs, through the protocol. A subject whose \
            command cannot start (Java or Wine missing) is said so and left out.
            """
    )

    @Option(help: "The teardown binary, for the suite's wall times.")
    var teardown = "teardown"

    @Option(help: "The suite directory.")
    var suite = "conformance"

    @Option(help: "Calls timed per provider (1 to 1000000).")
    var calls = 2000

    @Option(help: "The Java provider's command (exec: without the prefix).")
    var java = "java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp .build/java-provider JavaProvider"

    @Option(help: "The Winsock provider's command.")
    var wine = "Examples/winsock-provider/winsock-provider.sh"

    @Option(help: "The Python provider's command.")
    var python = "python3 Examples/python-provider/provider.py"

    @Flag(help: "Time the calls only, not the suites.")
    var callsOnly = false

    func validate() throws {
        guard (1...1_000_000).contains(calls) else { throw ValidationError("--calls must be 1 to 1000000, not \(calls)") }
    }

    func run() throws {
        let inProcess = try perCall(ProviderKind.posix.make(upcalls: HandleRegistry()))
        print(String(format: "per call, in process (posix): %.1f µs (getsockopt, %d calls)", inProcess * 1e6, calls))
        var subjects: [(name: String, command: String, expectations: String)] = [
            ("python", python, ""), ("java-nio", java, "java-nio.yaml"), ("winsock", wine, "winsock.yaml"),
        ]
        subjects = subjects.filter { subject in
            do {
                let host = try ProviderProcessHost(command: subject.command)
                defer { host.end() }
                let seconds = try perCall(ProcessProvider(host: host, upcalls: HandleRegistry()))
                print(
                    "per call through the protocol (\(subject.name)): "
                        + String(format: "%.1f µs, %.0fx the call in process", seconds * 1e6, seconds / inProcess))
                return true
            } catch {
                print("\(subject.name): left out: \(error)")
                return false
            }
        }
        guard !callsOnly else { return }
        for subject in subjects where !subject.expectations.isEmpty {
            let (seconds, status, _) = try SuiteBench.timedRun(
                teardown: teardown,
                arguments: [
                    "--suite", suite, "--provider", "exec:\(subject.command)", "--expectations",
                    "\(suite)/expectations/\(subject.expectations)", "--quiet",
                ], name: "providers-\(subject.name)", quiet: true)
            print("suite against \(subject.name) with its expectations: " + String(format: "%.1f s wall, exit %d", seconds, status))
        }
    }

    /// Seconds per option(.linger) call, after a warm-up.
    func perCall(_ provider: any SocketProvider) throws -> Double {
        let handle = try provider.socket(.ipv4)
        defer {
            try? provider.close(handle)
            provider.cleanup()
        }
        for _ in 0..<50 { _ = try provider.option(handle, .linger) }
        let start = ContinuousClock.now
        for _ in 0..<calls { _ = try provider.option(handle, .linger) }
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) / Double(calls)
    }
}
