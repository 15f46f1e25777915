import Conformance
import Foundation
import TestSupport
import Testing

/// Builds the example provider in C, with `defines` (its deliberately broken variants), into `directory`.
func buildExample(_ name: String, defines: [String] = [], in directory: URL) throws -> String {
    let compiler = try #require(tool("cc") ?? tool("gcc"), "a C compiler (cc or gcc)")
    let output = directory.appendingPathComponent("lib\(name).so").path
    let source = repositoryRoot.appendingPathComponent("Examples/c-provider/example_provider.c").path
    let include = repositoryRoot.appendingPathComponent("Sources/CTeardownProvider/include").path
    let build = try runProgram(
        compiler,
        ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-fPIC", "-pthread", "-shared", "-I", include] + defines + [
            "-o", output, source,
        ],
        within: 120)
    guard build.status == 0 else { throw TestFailure("cc failed: \(build.errors)") }
    return output
}

func runPlugin(_ library: String, _ arguments: [String], in directory: URL) throws -> ProcessOutput {
    try runProgram(
        teardownBinary,
        ["run", "--suite", repositoryRoot.appendingPathComponent("conformance").path, "--provider", "plugin:\(library)"] + arguments + [
            "--report-dir", directory.appendingPathComponent("run-\(UUID().uuidString)").path, "--json",
            directory.appendingPathComponent("results.json").path,
        ], within: 300)
}

/// The verdicts of the last run's results.json, by instance id.
func verdicts(in directory: URL) throws -> [String: (verdict: String, messages: [String])] {
    let data = try Data(contentsOf: directory.appendingPathComponent("results.json"))
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let results = try #require(object["results"] as? [[String: Any]])
    var verdicts: [String: (String, [String])] = [:]
    for result in results {
        verdicts[result["id"] as! String] = (result["verdict"] as! String, result["messages"] as? [String] ?? [])
    }
    return verdicts
}

@Suite struct Plugins {
    @Test("The example provider in C passes cases of every kind through the C interface, each in a worker process")
    func examplePasses() throws {
        try withTemporaryDirectory { directory in
            let library = try buildExample("example", in: directory)
            let run = try runPlugin(
                library,
                [
                    "--cases", "pend.receive[close=0,role=client,family=ipv4]", "--cases", "linger.timeout-expires*", "--cases", "share.*",
                    "--cases", "handle.*", "--cases", "close.stale-handle", "--cases", "unread.close-resets*", "--cases", "pend.async",
                    "--cases", "mid.closed-by-fault*",
                ], in: directory)
            #expect(run.status == 0, "\(run.output) \(run.errors)")
            let results = try verdicts(in: directory)
            #expect(results.count > 12)
            #expect(results.values.allSatisfy { $0.verdict == "pass" }, "\(results)")
            #expect(results["pend.async"]?.verdict == "pass")
        }
    }

    @Test("A plugin that writes into the harness's peer socket disturbs the evidence: the case is an error saying so, not a verdict")
    func strayWritesAreAnError() throws {
        try withTemporaryDirectory { directory in
            let library = try buildExample("stray", defines: ["-DEXAMPLE_WRITE_STRAY"], in: directory)
            let run = try runPlugin(
                library, ["--cases", "linger.graceful[payload=0,blocking=true,role=client,family=ipv4]"], in: directory)
            #expect(run.status == 2, "\(run.output) \(run.errors)")
            let results = try verdicts(in: directory)
            #expect(results.count == 1)
            for (id, result) in results {
                #expect(result.verdict == "error", "\(id) \(result)")
                #expect(
                    result.messages.first?.hasPrefix("evidence disturbed: the wire carried 8 bytes from the harness's peer, which sent 0")
                        == true, "\(result.messages)")
            }
        }
    }

    @Test("A plugin that segfaults in an abortive close fails those cases, naming the call; the others still run and pass")
    func crashFailsTheCase() throws {
        try withTemporaryDirectory { directory in
            let library = try buildExample("crash", defines: ["-DEXAMPLE_CRASH_IN_ABORTIVE_CLOSE"], in: directory)
            let run = try runPlugin(
                library, ["--cases", "linger.abortive[payload=0,*", "--cases", "linger.graceful[payload=0,*"], in: directory)
            #expect(run.status == 1, "\(run.output) \(run.errors)")
            let results = try verdicts(in: directory)
            for (id, result) in results {
                if id.hasPrefix("linger.abortive") {
                    #expect(
                        result.verdict == "fail"
                            && result.messages == ["provider crashed: signal 11 (SIGSEGV) in close; the case went no further"],
                        "\(id) \(result)")
                } else {
                    #expect(result.verdict == "pass", "\(id) \(result)")
                }
            }
            #expect(results.count == 16)
        }
    }

    @Test("A plugin whose receive never returns fails the case that bounds its return, naming the call; the others still run and pass")
    func hangFailsTheBoundedCall() throws {
        try withTemporaryDirectory { directory in
            let library = try buildExample("hang", defines: ["-DEXAMPLE_HANG_IN_RECEIVE"], in: directory)
            let run = try runPlugin(
                library,
                [
                    "--cases", "pend.receive[close=0,role=client,family=ipv4]", "--cases", "linger.graceful[payload=64KiB,*", "--watchdog",
                    "2",
                ],
                in: directory)
            #expect(run.status == 1, "\(run.output) \(run.errors)")
            let results = try verdicts(in: directory)
            let hung = try #require(results["pend.receive[close=0,role=client,family=ipv4]"])
            // The case says the receive must return at once once the handle is closed: never returning fails it.
            #expect(hung.verdict == "fail")
            #expect(
                hung.messages.contains {
                    $0.contains("receive on thread reader expected to return at once; it had not returned when the watchdog gave up on it")
                }, "\(hung)")
            #expect(results.filter { $0.key.hasPrefix("linger.graceful") }.allSatisfy { $0.value.verdict == "pass" }, "\(results)")
            #expect(results.count == 9)
        }
    }

    @Test("The handle audit sees through the process boundary: a plugin that never releases a handle fails HANDLE-1")
    func auditAcrossProcesses() throws {
        try withTemporaryDirectory { directory in
            let library = try buildExample("leaky", defines: ["-DEXAMPLE_NEVER_RELEASE"], in: directory)
            let run = try runPlugin(library, ["--cases", "handle.lifecycle"], in: directory)
            #expect(run.status == 1, "\(run.output) \(run.errors)")
            let result = try #require(try verdicts(in: directory)["handle.lifecycle"])
            #expect(result.verdict == "fail")
            #expect(result.messages.contains { $0.contains("HANDLE-1") }, "\(result)")
        }
    }

    @Test("An expectations file names a plugin by --provider's text, its path, its file name, or the name it reports")
    func expectationsNameAPluginAsAUserWould() throws {
        try withTemporaryDirectory { directory in
            let library = try buildExample("example", in: directory)
            for name in ["plugin:\(library)", library, "libexample.so", "example-c"] {
                let file = directory.appendingPathComponent("expect.yaml")
                try "provider: \(name)\ndeviations: []\n".write(to: file, atomically: true, encoding: .utf8)
                let run = try runPlugin(library, ["--cases", "close.never-a-handle", "--expectations", file.path], in: directory)
                #expect(run.status == 0, "\(name): \(run.errors)")
            }
            let file = directory.appendingPathComponent("other.yaml")
            try "provider: myprovider\ndeviations: []\n".write(to: file, atomically: true, encoding: .utf8)
            let refused = try runPlugin(library, ["--cases", "close.never-a-handle", "--expectations", file.path], in: directory)
            #expect(refused.status == 64)
            #expect(
                refused.errors.contains("'libexample.so'") && refused.errors.contains("'example-c' (the name it reports)"),
                "\(refused.errors)")
        }
    }

    @Test("A plugin of another interface version, or without the startup function, is refused with a clear error")
    func refusals() throws {
        try withTemporaryDirectory { directory in
            let later = try buildExample("later", defines: ["-DEXAMPLE_ABI_VERSION=2"], in: directory)
            let refused = try runPlugin(later, ["--cases", "handle.lifecycle"], in: directory)
            #expect(refused.status == 2)
            #expect(refused.errors.contains("speaks provider interface version 2; this Teardown speaks 1"), "\(refused.errors)")
            let empty = directory.appendingPathComponent("empty.c")
            try "int nothing_here(void) { return 0; }\n".write(to: empty, atomically: true, encoding: .utf8)
            let library = directory.appendingPathComponent("libempty.so").path
            let compiler = try #require(tool("cc") ?? tool("gcc"))
            #expect(try runProgram(compiler, ["-shared", "-fPIC", "-o", library, empty.path]).status == 0)
            let missing = try runPlugin(library, ["--cases", "handle.lifecycle"], in: directory)
            #expect(missing.status == 2)
            #expect(missing.errors.contains("does not export td_provider_startup"), "\(missing.errors)")
            let notThere = try runPlugin(directory.appendingPathComponent("nothing.so").path, [], in: directory)
            #expect(notThere.status == 64)
            #expect(notThere.errors.contains("no such file"), "\(notThere.errors)")
        }
    }
}

/// A suite of one case, `text`, beside the checkout's statements, in `directory`; returns the suite's path.
func suiteOfOne(_ text: String, in directory: URL) throws -> String {
    let suite = directory.appendingPathComponent("suite")
    try FileManager.default.createDirectory(at: suite.appendingPathComponent("cases"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(
        atPath: "\(suiteDirectory)/statements.yaml", toPath: suite.appendingPathComponent("statements.yaml").path)
    try text.write(to: suite.appendingPathComponent("cases/one.yaml"), atomically: true, encoding: .utf8)
    return suite.path
}

@Suite struct Misbehaviour {
    @Test("A provider that crashes after a finding fails the case with that finding kept, then the crash and its call")
    func crashKeepsTheFindings() throws {
        try withTemporaryDirectory { directory in
            let library = try buildExample("crash", defines: ["-DEXAMPLE_CRASH_IN_ABORTIVE_CLOSE"], in: directory)
            let suite = try suiteOfOne(
                """
                id: crash.after-finding
                title: A finding, then a crash
                statements: [LINGER-1]
                steps:
                  - get-linger: 5s
                  - linger: 0
                  - close: s
                """, in: directory)
            let run = try runProgram(
                teardownBinary,
                [
                    "run", "--suite", suite, "--provider", "plugin:\(library)", "--report-dir",
                    directory.appendingPathComponent("run").path,
                    "--json", directory.appendingPathComponent("results.json").path,
                ], within: 120)
            #expect(run.status == 1, "\(run.output) \(run.errors)")
            let result = try #require(try verdicts(in: directory)["crash.after-finding"])
            #expect(result.verdict == "fail")
            #expect(
                result.messages == [
                    "line 5: get-linger read back linger off (0 s kept); expected linger on, 5 s",
                    "provider crashed: signal 11 (SIGSEGV) in close; the case went no further",
                ], "\(result.messages)")
        }
    }

    @Test(
        "A call the case does not bound, left pending by a failure already found, fails the case within a second, not an error after the watchdog"
    )
    func pendingAfterDecidedVerdictFails() throws {
        try withTemporaryDirectory { directory in
            let suite = try suiteOfOne(
                """
                id: pending.after-finding
                title: A finding, then a receive the close does not end
                statements: [PEND-1]
                steps:
                  - receive: 4KiB
                    thread: reader
                    expect: interrupted
                  - wait: {pending: reader}
                  - get-linger: 5s
                  - close: s
                  - wait: {returned: reader}
                """, in: directory)
            let started = Date()
            let run = try runProgram(
                teardownBinary,
                [
                    "run", "--suite", suite, "--provider", "mutant:does-not-abort-pending", "--isolate", "--report-dir",
                    directory.appendingPathComponent("run").path, "--json", directory.appendingPathComponent("results.json").path,
                ], within: 120)
            #expect(run.status == 1, "\(run.output) \(run.errors)")
            let result = try #require(try verdicts(in: directory)["pending.after-finding"])
            #expect(result.verdict == "fail")
            #expect(
                result.messages.contains {
                    $0
                        == "line 5: receive on thread reader had not returned 1.000 s after the verdict was decided; the failure above left it pending"
                }, "\(result.messages)")
            // The watchdog (10 s) was not waited out.
            #expect(Date().timeIntervalSince(started) < 9)
        }
    }

    @Test("A negative linger reaches the plugin, whose own validation is judged: a provider that clamps it fails LINGER-8 there too")
    func negativeLingerReachesThePlugin() throws {
        let patch = try #require(tool("patch"), "patch (make deps installs it)")
        try withTemporaryDirectory { directory in
            try FileManager.default.copyItem(
                at: repositoryRoot.appendingPathComponent("Examples/c-provider/example_provider.c"),
                to: directory.appendingPathComponent("example_provider.c"))
            let mistake = repositoryRoot.appendingPathComponent("Examples/c-provider/mistakes/linger-out-of-range-clamped.patch").path
            let applied = try runProgram(patch, ["-s", "-p1", "-d", directory.path, "-i", mistake])
            #expect(applied.status == 0, "\(applied.errors)")
            let compiler = try #require(tool("cc") ?? tool("gcc"), "a C compiler (cc or gcc)")
            let library = directory.appendingPathComponent("libclamped.so").path
            let built = try runProgram(
                compiler,
                [
                    "-std=c11", "-O2", "-fPIC", "-pthread", "-shared", "-I",
                    repositoryRoot.appendingPathComponent("Sources/CTeardownProvider/include").path, "-o", library,
                    directory.appendingPathComponent("example_provider.c").path,
                ], within: 120)
            #expect(built.status == 0, "\(built.errors)")
            let run = try runPlugin(library, ["--cases", "linger.out-of-range"], in: directory)
            #expect(run.status == 1, "\(run.output) \(run.errors)")
            let result = try #require(try verdicts(in: directory)["linger.out-of-range"])
            #expect(result.messages.contains("line 8: linger expected invalidArgument; got success"), "\(result.messages)")
        }
    }

    @Test("Every mistake in Examples/c-provider/mistakes applies to the example, builds, and names statements of SPEC.md")
    func mistakePatchesApply() throws {
        let compiler = try #require(tool("cc") ?? tool("gcc"), "a C compiler (cc or gcc)")
        let patch = try #require(tool("patch"), "patch (make deps installs it)")
        let mistakes = repositoryRoot.appendingPathComponent("Examples/c-provider/mistakes")
        let patches = try FileManager.default.contentsOfDirectory(atPath: mistakes.path).filter { $0.hasSuffix(".patch") }.sorted()
        #expect(patches.count >= 10)
        let known = Set(statements.map(\.id))
        try withTemporaryDirectory { directory in
            for file in patches {
                let text = try String(contentsOf: mistakes.appendingPathComponent(file), encoding: .utf8)
                let header = text.split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }
                let breaks = header.first { $0.hasPrefix("breaks: ") }.map { $0.dropFirst("breaks: ".count).split(separator: ",") } ?? []
                #expect(header.contains { $0.hasPrefix("summary: ") && $0.count > 20 }, "\(file)")
                #expect(!breaks.isEmpty && breaks.allSatisfy { known.contains($0.trimmingCharacters(in: .whitespaces)) }, "\(file)")
                let copy = directory.appendingPathComponent(file)
                try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
                try FileManager.default.copyItem(
                    at: repositoryRoot.appendingPathComponent("Examples/c-provider/example_provider.c"),
                    to: copy.appendingPathComponent("example_provider.c"))
                let applied = try runProgram(patch, ["-s", "-p1", "-d", copy.path, "-i", mistakes.appendingPathComponent(file).path])
                #expect(applied.status == 0, "\(file): \(applied.output) \(applied.errors)")
                let include = repositoryRoot.appendingPathComponent("Sources/CTeardownProvider/include").path
                let built = try runProgram(
                    compiler,
                    [
                        "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-fPIC", "-pthread", "-shared", "-I", include, "-o",
                        copy.appendingPathComponent("lib.so").path, copy.appendingPathComponent("example_provider.c").path,
                    ], within: 120)
                #expect(built.status == 0, "\(file): \(built.errors)")
            }
        }
    }
}
