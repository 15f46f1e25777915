import Conformance
import Foundation
import TestSupport
import Testing

/// The Python example provider, broken as `breaks` say (see its docstring), as an `exec:` provider.
func pythonProvider(_ breaks: String...) -> String {
    "exec:python3 \(repositoryRoot.appendingPathComponent("Examples/python-provider/provider.py").path) \(breaks.joined(separator: " "))"
}

/// The verdicts and messages of a run, by instance id.
func outcomes(_ report: RunReport?) throws -> [String: (verdict: Verdict, messages: String)] {
    let report = try #require(report, "the run wrote no results")
    return Dictionary(uniqueKeysWithValues: report.results.map { ($0.id, ($0.verdict, $0.messages.joined(separator: " / "))) })
}

/// Provider processes whose command line holds `marker` that are still running.
func processesHolding(_ marker: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { Int($0) != nil }.compactMap { pid in
        guard let line = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return nil }
        let text = String(decoding: line.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return text.contains(marker) && !text.contains("teardown") ? "\(pid): \(text)" : nil
    }
}

@Suite(.serialized) struct ProviderProcesses {
    @Test("A provider in another process passes cases through the protocol, its handles coming from the harness's upcalls")
    func pythonPasses() throws {
        try withTemporaryDirectory { directory in
            let (run, report) = try runSuite(
                ["--provider", pythonProvider(), "--cases", "close.*", "--cases", "handle.cleanup", "--cases", "linger.abortive*"],
                in: directory)
            #expect(run.status == 0, "\(run.output) \(run.errors)")
            let results = try outcomes(report)
            #expect(results.count > 10)
            #expect(results.values.allSatisfy { $0.verdict == .pass }, "\(results)")
        }
    }

    @Test("A provider process that crashes fails its case, naming the call; the next case gets a fresh process")
    func crash() throws {
        try withTemporaryDirectory { directory in
            let (run, report) = try runSuite(
                ["--provider", pythonProvider("crash-in=close"), "--cases", "close.released-handle*", "--cases", "handle.cleanup"],
                in: directory)
            #expect(run.status == 1, "\(run.output) \(run.errors)")
            let results = try outcomes(report)
            for role in ["client", "server"] {
                let result = try #require(results["close.released-handle[role=\(role)]"])
                #expect(result.verdict == .fail)
                #expect(result.messages.contains("the provider's process killed by signal 11 in close"), "\(result.messages)")
                // The failed call is the crash's: it is not also judged as the provider's answer.
                #expect(!result.messages.contains("systemCallFailure"), "\(result.messages)")
            }
            #expect(results["handle.cleanup"]?.verdict == .pass, "\(results)")
        }
    }

    @Test("A provider process that stops answering costs its case, naming the call, and does not outlive the run")
    func hang() throws {
        let marker = "hang-marker-\(UUID().uuidString)"
        try withTemporaryDirectory { directory in
            let (run, report) = try runSuite(
                ["--provider", pythonProvider("hang-in=close", marker), "--cases", "close.released-handle*", "--watchdog", "2"],
                in: directory)
            #expect(run.status != 0)
            for (id, result) in try outcomes(report) {
                #expect(result.verdict == .error || result.verdict == .fail, "\(id)")
                #expect(result.messages.contains("close"), "\(id): \(result.messages)")
            }
        }
        #expect(try processesHolding(marker).isEmpty)
    }

    @Test("The upcall audit works across the process boundary: handles never given back fail the case")
    func neverRelease() throws {
        try withTemporaryDirectory { directory in
            let (_, report) = try runSuite(
                ["--provider", pythonProvider("never-release"), "--cases", "close.released-handle[role=client]"], in: directory)
            let result = try #require(try outcomes(report)["close.released-handle[role=client]"])
            #expect(result.verdict == .fail)
            #expect(result.messages.contains("HANDLE-1: close of handle"), "\(result.messages)")
        }
    }

    @Test("The descriptor audit looks into the provider's process: a socket left open after cleanup fails the case")
    func leak() throws {
        try withTemporaryDirectory { directory in
            let (_, report) = try runSuite(["--provider", pythonProvider("leak"), "--cases", "handle.cleanup"], in: directory)
            let result = try #require(try outcomes(report)["handle.cleanup"])
            #expect(result.verdict == .fail)
            #expect(result.messages.contains("still open after cleanup (fd "), "\(result.messages)")
            #expect(result.messages.contains("of the provider's process"), "\(result.messages)")
        }
    }

    @Test(
        "Pending is seen in the provider's own thread when it names it, on its word when it does not, and never without",
        arguments: [("", Verdict.fail), ("entered-without-thread", .fail), ("no-entered", .error)])
    func pendingEvidence(breaks: String, verdict: Verdict) throws {
        try withTemporaryDirectory { directory in
            let id = "pend.receive[close=0,role=client,family=ipv4]"
            let (_, report) = try runSuite(["--provider", pythonProvider(breaks), "--cases", id, "--watchdog", "3"], in: directory)
            let result = try #require(try outcomes(report)[id])
            // Python's close does not wake the receive (as Linux's close(2) does not): judged a fail once the call
            // is known to be pending; an error when nothing says it is.
            #expect(result.verdict == verdict, "\(result.messages)")
            if verdict == .error {
                #expect(result.messages.contains("did not become pending"), "\(result.messages)")
                #expect(result.messages.contains("on its way to the provider's process"), "\(result.messages)")
            } else {
                #expect(result.messages.contains("receive on thread reader expected to return at once"), "\(result.messages)")
            }
        }
    }

    @Test(
        "A provider process that cannot be used stops the run with exit 2 and says why",
        arguments: [
            ("python3 -c \"input(); print('provider 2 other -', flush=True)\"", "speaks protocol version 2"),
            ("python3 -c \"input(); print('hello', flush=True)\"", "answered 'hello' instead of"),
            ("python3 -c \"input(); print('provider 1 x teleport', flush=True)\"", "capability 'teleport'"),
            ("/nonexistent/provider", "not found"),
        ])
    func unusable(command: String, said: String) throws {
        try withTemporaryDirectory { directory in
            let (run, _) = try runSuite(["--provider", "exec:\(command)", "--cases", "close.*"], in: directory)
            #expect(run.status == 2, "\(run.output) \(run.errors)")
            #expect(run.errors.contains(said), "\(run.errors)")
        }
    }

    @Test(
        "Java's NIO runs the whole suite: every instance judged, its deviations exactly those its expectations file lists, the same over three rounds",
        .enabled(if: tool("javac") != nil && tool("java") != nil, "needs a JDK (make deps-java installs one)"))
    func javaNIO() throws {
        try withTemporaryDirectory { directory in
            let classes = directory.appendingPathComponent("classes").path
            let source = repositoryRoot.appendingPathComponent("Examples/java-provider/JavaProvider.java").path
            let build = try runProgram(try #require(tool("javac")), ["-Xlint:all", "-Werror", "-d", classes, source], within: 120)
            #expect(build.status == 0, "\(build.errors)")
            let (run, report) = try runSuite(
                [
                    "--provider", "exec:java -XX:+UseSerialGC -cp \(classes) JavaProvider", "--expectations",
                    repositoryRoot.appendingPathComponent("conformance/expectations/java-nio.yaml").path, "--repeat", "3",
                ], in: directory, within: 600)
            #expect(run.status == 0, "\(run.output.suffix(3000)) \(run.errors.suffix(2000))")
            let results = try #require(report).results
            #expect(results.allSatisfy { $0.verdict != .error }, "\(results.filter { $0.verdict == .error }.map(\.id))")
            #expect(results.filter { $0.verdict == .pass }.count > 100)
            #expect(try #require(report).unstable.isEmpty)
        }
    }

    @Test(
        "Wine's Winsock runs the whole suite: every instance judged, its deviations exactly those its expectations file lists, the same over three rounds",
        .enabled(if: tool("x86_64-w64-mingw32-gcc") != nil && wine != nil, "needs Wine and mingw-w64 (make deps-wine installs them)"))
    func wineWinsock() throws {
        try withTemporaryDirectory { directory in
            let program = directory.appendingPathComponent("winsock_provider.exe").path
            let source = repositoryRoot.appendingPathComponent("Examples/winsock-provider/winsock_provider.c").path
            let build = try runProgram(
                try #require(tool("x86_64-w64-mingw32-gcc")),
                ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-o", program, source, "-lws2_32", "-lmswsock"], within: 120)
            #expect(build.status == 0, "\(build.errors)")
            let script = repositoryRoot.appendingPathComponent("Examples/winsock-provider/winsock-provider.sh").path
            // Four cases at a time rather than eight: a Wine call crosses two processes (the adapter and wineserver),
            // and beside the rest of `swift test` on two cores, eight at once once pushed a close past the at-once
            // tolerance in one round of three (mid.delayed.receive, in a fresh-clone CI run).
            let (run, report) = try runSuite(
                [
                    "--provider", "exec:env WINSOCK_PROVIDER=\(program) \(script)", "--expectations",
                    repositoryRoot.appendingPathComponent("conformance/expectations/winsock.yaml").path, "--repeat", "3", "--jobs", "4",
                ], in: directory, within: 900)
            _ = try? runProgram(script, ["--stop"], within: 30)
            #expect(run.status == 0, "\(run.output.suffix(3000)) \(run.errors.suffix(2000))")
            let results = try #require(report).results
            #expect(results.allSatisfy { $0.verdict != .error }, "\(results.filter { $0.verdict == .error }.map(\.id))")
            #expect(results.filter { $0.verdict == .pass }.count > 100)
            #expect(try #require(report).unstable.isEmpty)
        }
    }
}

/// Wine's loader, where Debian puts it.
let wine: String? =
    tool("wine64") ?? tool("wine") ?? (FileManager.default.isExecutableFile(atPath: "/usr/lib/wine/wine64") ? "/usr/lib/wine/wine64" : nil)
