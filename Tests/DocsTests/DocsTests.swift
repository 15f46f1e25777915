import Conformance
import Foundation
import TestSupport
import Testing
import Yams

/// The documents whose every code block is checked.
let documents: [String] = {
    let fixed = ["README.md", "conformance/README.md", "captures/README.md"]
    let found = ["docs", "docs/guides", "Examples"].flatMap { directory -> [String] in
        let url = repositoryRoot.appendingPathComponent(directory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.sorted().flatMap { name -> [String] in
            let path = "\(directory)/\(name)"
            if name.hasSuffix(".md") { return [path] }
            let readme = "\(path)/README.md"
            return FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent(readme).path) ? [readme] : []
        }
    }
    return (fixed + found).filter { FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent($0).path) }
}()

/// Every shell block and output example of the docs, run in a fresh copy of the checkout (the files git
/// tracks, and the new ones it does not ignore, as they are now; the build is shared), and compared with
/// what it really prints, beyond times and port numbers.
@Suite(.serialized) struct Documentation {
    @Test(arguments: documents) func everyBlockRunsAsItSays(_ document: String) throws {
        let checkout = try FreshCheckout.shared()
        var checked = 0
        for block in try DocBlock.read(document, root: checkout.root) {
            do {
                try checkout.check(block)
            } catch {
                Issue.record("\(error)")
            }
            checked += 1
        }
        print("docs: \(document): \(checked) blocks checked")
        if document == "README.md" { #expect(checked > 5, "README.md has its commands checked") }
    }

    @Test func theMatcherFindsADifference() {
        let example = [
            "capture: on lo, directly", "...", "ipv4: ok", "  127.0.0.1:55036 -> 127.0.0.1:46755: FIN at seq 65537 after 65536 bytes",
        ]
        let real = [
            "capture: on lo, directly", "extra", "ipv4: ok", "  127.0.0.1:41000 -> 127.0.0.1:41001: FIN at seq 65537 after 65536 bytes",
        ]
        #expect(matches(expected: example, actual: real))
        let wrong = ["capture: on lo, directly", "ipv4: ok", "  127.0.0.1:41000 -> 127.0.0.1:41001: FIN at seq 65538 after 65537 bytes"]
        #expect(!matches(expected: example, actual: wrong))
        #expect(!matches(expected: ["a", "b"], actual: ["b", "a"]))
        #expect(matches(expected: ["took 48.9 s: 103 pass"], actual: ["took 3 s: 103 pass"]))
    }

    @Test func aWrongCommandOrOptionFailsTheCheck() throws {
        let checkout = try FreshCheckout.shared()
        let bad = [
            DocBlock(file: "x.md", line: 1, info: "sh", lines: ["teardown inspect no-such-file.pcap"], marker: .none),
            DocBlock(file: "x.md", line: 1, info: "sh", lines: ["teardown run --no-such-option"], marker: .syntaxOnly("test")),
            DocBlock(file: "x.md", line: 1, info: "sh", lines: ["make no-such-target"], marker: .syntaxOnly("test")),
            DocBlock(file: "x.md", line: 1, info: "", lines: ["$ teardown list", "no such line"], marker: .none),
            DocBlock(file: "x.md", line: 1, info: "yaml", lines: ["id: x", "steps: [{close: s}]", "statements: [NOPE-1]"], marker: .none),
            DocBlock(file: "x.md", line: 1, info: "", lines: ["an output with no command"], marker: .none),
        ]
        for block in bad {
            #expect(throws: DocFailure.self, "\(block.lines)") { try checkout.check(block) }
        }
    }
}

/// A copy of the checkout in a temporary directory, with the build shared and `teardown` on PATH.
final class FreshCheckout: @unchecked Sendable {
    let root: URL
    let bin: URL
    let statements: [Statement]

    nonisolated(unsafe) private static var made: FreshCheckout?
    private static let lock = NSLock()

    static func shared() throws -> FreshCheckout {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let checkout = try FreshCheckout()
        made = checkout
        // The copy goes when the test process ends (nothing else ends a shared fixture in Swift Testing).
        atexit {
            if let root = FreshCheckout.made?.root { try? FileManager.default.removeItem(at: root) }
        }
        return checkout
    }

    private init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("teardown-docs-\(UUID().uuidString)")
        bin = root.appendingPathComponent(".docs-bin")
        let listing = try runProgram(
            "/usr/bin/git", ["-C", repositoryRoot.path, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        guard listing.status == 0 else { throw DocFailure("git ls-files failed: \(listing.errors)") }
        for path in listing.output.split(separator: "\0").map(String.init) {
            let source = repositoryRoot.appendingPathComponent(path)
            guard FileManager.default.fileExists(atPath: source.path) else { continue }  // deleted, not yet committed
            let target = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source, to: target)
        }
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent(".build"), withDestinationURL: repositoryRoot.appendingPathComponent(".build"))
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: bin.appendingPathComponent("teardown"), withDestinationURL: URL(fileURLWithPath: teardownBinary))
        // A block that would build the package (and disturb the build these tests run from) fails instead, saying so.
        let refuse = bin.appendingPathComponent("swift")
        try "#!/bin/sh\necho 'the docs test does not build the package: mark this block syntax-only (why)' >&2\nexit 97\n".write(
            to: refuse, atomically: true, encoding: .utf8)
        chmod(refuse.path, 0o755)
        statements = try CaseLoader.loadStatements(path: root.appendingPathComponent("conformance/statements.yaml").path)
    }

    /// Runs `command` with bash in the checkout, `teardown` first on PATH.
    func shell(_ command: String, within seconds: TimeInterval = 120) throws -> ProcessOutput {
        let script = "cd '\(root.path)' && export PATH='\(bin.path)':\"$PATH\" SWIFT='\(bin.path)/swift' && \(command)"
        return try runProgram("/bin/bash", ["-c", script], within: seconds)
    }

    func check(_ block: DocBlock) throws {
        switch block.info {
        case "sh", "bash", "shell": try checkShell(block)
        case "yaml": try checkYAML(block)
        case "json": try checkJSON(block)
        case "c": try checkC(block)
        case "", "console", "text": try checkTranscript(block)
        default: throw DocFailure("\(block): a block of '\(block.info)' is not checked; give it a language the docs test knows")
        }
    }

    private func checkShell(_ block: DocBlock) throws {
        let commands = block.shellCommands
        guard !commands.isEmpty else { throw DocFailure("\(block): an empty shell block") }
        if case .syntaxOnly = block.marker {
            for command in commands { try checkSyntax(command, block) }
            return
        }
        var expected: Int32 = 0
        if case .exit(let code) = block.marker { expected = code }
        for (index, command) in commands.enumerated() {
            let output = try shell(command)
            let want = index == commands.count - 1 ? expected : 0
            guard output.status == want else {
                throw DocFailure(
                    "\(block): `\(command)` exited \(output.status), the doc expects \(want)\n\(output.output.suffix(2000))\(output.errors.suffix(2000))"
                )
            }
        }
    }

    private func checkTranscript(_ block: DocBlock) throws {
        let transcript = block.transcript
        if transcript.isEmpty {
            switch block.marker {
            case .outputOf(let command): try compare(command, block.lines, block)
            case .notRun: return
            default:
                throw DocFailure("\(block): an output example needs `$ command` lines, or a marker: output-of COMMAND or not-run (why)")
            }
            return
        }
        for (command, output) in transcript {
            if case .syntaxOnly = block.marker {
                try checkSyntax(command, block)
            } else {
                try compare(command, output, block)
            }
        }
    }

    private func compare(_ command: String, _ expected: [String], _ block: DocBlock) throws {
        let output = try shell(command)
        var want: Int32 = 0
        if case .exit(let code) = block.marker { want = code }
        guard output.status == want else {
            throw DocFailure("\(block): `\(command)` exited \(output.status), the doc expects \(want)\n\(output.errors.suffix(2000))")
        }
        var actual = output.output.components(separatedBy: "\n")
        while actual.last?.isEmpty == true { actual.removeLast() }
        guard matches(expected: expected, actual: actual) else {
            throw DocFailure(
                "\(block): what `\(command)` prints differs from the example (\(firstDifference(expected: expected, actual: actual)))\n--- it printed:\n\(actual.prefix(60).joined(separator: "\n"))"
            )
        }
    }

    /// A command not run: bash must parse it; `make` must know the target; `teardown` must know the subcommand and
    /// every option given.
    private func checkSyntax(_ command: String, _ block: DocBlock) throws {
        let parsed = try runProgram("/bin/bash", ["-n", "-c", command])
        guard parsed.status == 0 else { throw DocFailure("\(block): bash cannot parse `\(command)`: \(parsed.errors)") }
        let words = try splitWords(command)
        guard let program = words.first else { return }
        if program == "make" {
            let dry = try shell("make -n \(words.dropFirst().map(quoted).joined(separator: " ")) > /dev/null")
            guard dry.status == 0 else { throw DocFailure("\(block): `\(command)`: make does not know it: \(dry.errors)") }
        } else if program == "teardown" || program.hasSuffix("/teardown") {
            guard let subcommand = words.dropFirst().first else { return }
            let help = try shell("teardown \(quoted(subcommand)) --help")
            guard help.status == 0 else { throw DocFailure("\(block): `\(command)`: teardown has no subcommand \(subcommand)") }
            for word in words.dropFirst(2) where word.hasPrefix("--") {
                let option = String(word.prefix { $0 != "=" })
                guard help.output.contains(option) else {
                    throw DocFailure("\(block): `\(command)`: teardown \(subcommand) has no option \(option)")
                }
            }
        }
    }

    /// The words of a command as bash splits them (quotes removed, globs not expanded).
    private func splitWords(_ command: String) throws -> [String] {
        let out = try runProgram("/bin/bash", ["-c", "set -f; I=1; N=4; printf '%s\\0' \(command.components(separatedBy: " #").first!)"])
        return out.output.split(separator: "\0").map(String.init)
    }

    private func quoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    private func checkYAML(_ block: DocBlock) throws {
        let text = block.lines.joined(separator: "\n") + "\n"
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw DocFailure("\(block): not YAML: \(error)")
        }
        if case .fragment = block.marker { return }
        let keys = Set(node?.mapping?.keys.compactMap(\.string) ?? [])
        var path = FileManager.default.temporaryDirectory.appendingPathComponent("teardown-doc-\(UUID().uuidString).yaml")
        var keep = false
        if case .file(let relative) = block.marker {
            path = root.appendingPathComponent(relative)
            keep = true
        }
        try text.write(to: path, atomically: true, encoding: .utf8)
        defer { if !keep { try? FileManager.default.removeItem(at: path) } }
        do {
            if keys.contains("provider") && keys.contains("deviations") {
                _ = try Expectations.load(path: path.path)
            } else if keys.contains("id") && keys.contains("steps") {
                _ = try CaseLoader.load(path: path.path, statements: statements)
            } else {
                throw DocFailure("\(block): a YAML block that is neither a case nor an expectations file must be marked fragment")
            }
        } catch let error as CaseFileError {
            throw DocFailure("\(block): the tool refuses it: \(error)")
        }
    }

    private func checkJSON(_ block: DocBlock) throws {
        let text = block.lines.joined(separator: "\n")
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil else { throw DocFailure("\(block): not JSON") }
        if case .outputOf(let command) = block.marker { try compare(command, block.lines, block) }
    }

    /// A C fragment must stand, as written, in the sources it is quoted from.
    private func checkC(_ block: DocBlock) throws {
        let text = block.lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        let found = try shell("grep -rqF -- \(quoted(text)) Sources Examples")
        guard found.status == 0 else { throw DocFailure("\(block): this C is not in Sources/ or Examples/: \(text)") }
    }
}
