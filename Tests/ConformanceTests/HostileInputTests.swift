import Conformance
import Foundation
import TestSupport
import Testing

/// The minimal case with its one step replaced by `text`.
private func step(_ text: String) -> String { minimal.replacingOccurrences(of: "  - close: s", with: text) }

private let hostileCases: [(String, Int, String)] = {
    var cases: [(String, Int, String)] = []
    // Numbers that overflowed or never ended.
    cases.append((step("  - send: 9999999999999GiB"), 5, "from 0 to 16GiB"))
    cases.append((step("  - send: 9223372036854775807"), 5, "from 0 to 16GiB"))
    cases.append((step("  - close: s\n    within: infs"), 6, "from 0 to 3600s"))
    cases.append((step("  - close: s\n    within: 1e300s"), 6, "from 0 to 3600s"))
    cases.append((step("  - close: s\n    within: nans"), 6, "from 0 to 3600s"))
    cases.append((step("  - churn: -5"), 5, "from 0 to 100000, not '-5'"))
    cases.append((minimal + "faults:\n  - match: receive\n    delay-entry: infs\n", 8, "from 0 to 3600s"))
    cases.append((minimal + "peer: {reads: slowly, pause: 1e300s}\n", 6, "from 0 to 3600s"))
    // YAML whose mistakes the parser places.
    cases.append(("id: a.b\nid: a.c\ntitle: x\nstatements: [CLOSE-1]\nsteps: [{close: s}]\n", 2, "'id' appears twice"))
    cases.append((minimal + "---\nid: other\n", 6, "a second YAML document"))
    cases.append(("id: a.b\ntitle: *nope\nstatements: [CLOSE-1]\nsteps: [{close: s}]\n", 2, "undefined alias"))
    // What run used to find only when the case ran.
    cases.append((step("  - close: zz"), 5, "handle 'zz', which no earlier step makes"))
    cases.append((step("  - close: s\n  - close: s"), 6, "which the close at line 5 released"))
    cases.append((step("  - wait: {pending: reader}"), 5, "thread 'reader'"))
    cases.append((step("  - wait: {completed: r1}"), 5, "operation 'r1'"))
    cases.append((step("  - release: g"), 5, "gate 'g'"))
    cases.append((step("  - peer-send: 10\n    peer: other"), 5, "peer 'other'"))
    cases.append((minimal + "expect:\n  operations: {r9: operationAborted}\n", 7, "operation 'r9'"))
    cases.append((minimal + "expect:\n  peer: {peer: ghost, read: none}\n", 7, "peer 'ghost'"))
    return cases
}()

/// Input that used to crash, hang or mislead: each case file is refused when loaded, with its line and what was
/// expected, so that list, explain and run agree and no case runs on it.
@Suite struct HostileInput {
    @Test(arguments: hostileCases)
    func refusedWithItsLine(_ text: String, _ line: Int, _ words: String) {
        let error = loadError(text)
        #expect(error?.location.line == line, "\(String(describing: error))")
        #expect(error?.message.contains(words) == true, "\(String(describing: error))")
    }

    @Test func aMatrixTooLargeIsRefusedBeforeItIsExpanded() {
        let parameters = (1...9).map { "  p\($0): [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" }.joined(separator: "\n")
        let error = loadError(minimal + "matrix:\n" + parameters + "\n")
        #expect(error?.location.line == 7, "\(String(describing: error))")
        #expect(error?.message.contains("more than 10000 instances") == true, "\(String(describing: error))")
    }

    @Test func filesThatAreNotTextSayWhy() throws {
        try withTemporaryDirectory { directory in
            let folder = directory.appendingPathComponent("x.yaml")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            #expect(throws: CaseFileError.self) { try CaseLoader.load(path: folder.path, statements: statements) }
            do {
                _ = try CaseLoader.load(path: folder.path, statements: statements)
            } catch let error as CaseFileError {
                #expect(error.message.contains("it is a directory"), "\(error)")
                #expect(!error.message.contains("NSCocoaErrorDomain"))
            }
            let binary = directory.appendingPathComponent("bad.yaml")
            try Data("id: a.b\ntitle: \u{FF}".utf8 + [0xFF, 0xFE] + Data("\n".utf8)).write(to: binary)
            do {
                _ = try CaseLoader.load(path: binary.path, statements: statements)
                Issue.record("invalid UTF-8 was accepted")
            } catch let error as CaseFileError {
                #expect(error.location.line == 2, "\(error)")
                #expect(error.message.contains("not UTF-8"), "\(error)")
            }
            // /dev/null is an empty file, not a permission problem.
            do {
                _ = try Expectations.load(path: "/dev/null")
                Issue.record("an empty expectations file was accepted")
            } catch let error as CaseFileError {
                #expect(error.message.contains("the file is empty"), "\(error)")
            }
        }
    }

    @Test func deviationsMustBeAList() throws {
        for text in ["provider: posix\ndeviations: 3\n", "provider: posix\ndeviations: {cases: x, note: y}\n"] {
            try withTemporaryFile(text) { path in
                do {
                    _ = try Expectations.load(path: path)
                    Issue.record("accepted: \(text)")
                } catch let error as CaseFileError {
                    #expect(error.location.line == 2 && error.message.contains("expected deviations as a list"), "\(error)")
                }
            }
        }
    }
}

@Suite(.enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? ""))) struct HostileRuns {
    /// A delay on a call whose handle was closed before the call began must not turn the provider's own notSocket
    /// into interrupted: a fault plan changes an outcome only as it says.
    @Test func aDelayOnAnAlreadyClosedHandleKeepsTheProvidersAnswer() throws {
        try withTemporaryDirectory { directory in
            let plan = directory.appendingPathComponent("plan.yaml")
            try "- match: shutdown\n  delay-entry: 1ms\n".write(to: plan, atomically: true, encoding: .utf8)
            let (run, report) = try runSuite(["--cases", "shut.errors", "--faults", plan.path], in: directory)
            #expect(run.status == 0, "\(run.output)\(run.errors)")
            #expect(report?.results.first?.verdict == .pass, "\(report?.results.first?.messages ?? [])")
            #expect(report?.results.first?.faults?.isEmpty == false, "the plan delayed the shutdowns")
        }
    }

    @Test func aDeviationThatMatchesNoCaseIsRefused() throws {
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("e.yaml")
            try "provider: reference\ndeviations:\n  - cases: pend.recieve*\n    note: a typo\n".write(
                to: file, atomically: true, encoding: .utf8)
            let run = try runQuick(["--expectations", file.path], in: directory)
            #expect(run.status == 2)
            #expect(run.errors.contains("e.yaml:3: the deviation's cases 'pend.recieve*' match no case"), "\(run.errors)")
        }
    }
}
