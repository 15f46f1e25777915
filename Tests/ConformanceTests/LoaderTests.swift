import Conformance
import Foundation
import TestSupport
import Testing

/// Parses a case from text and returns the error it gives, or nil.
func loadError(_ text: String) -> CaseFileError? {
    do {
        _ = try CaseLoader.parse(text, file: "case.yaml", statements: statements)
        return nil
    } catch {
        return error
    }
}

let minimal = """
    id: test.minimal
    title: a minimal case
    statements: [CLOSE-1]
    steps:
      - close: s

    """

@Suite struct Loading {
    @Test func theSuiteLoadsAndCoversEveryStatement() {
        #expect(statements.count == 42)
        let (cases, errors) = CaseLoader.loadDirectory("\(suiteDirectory)/cases", statements: statements)
        #expect(errors.map(\.description) == [])
        let covered = Set(cases.flatMap(\.statements))
        #expect(statements.map(\.id).filter { !covered.contains($0) } == [])
        let ids = cases.flatMap(\.instances).map(\.id)
        #expect(Set(ids).count == ids.count, "instance ids are unique")
    }

    @Test func aMinimalCaseHasItsDefaults() throws {
        let loaded = try CaseLoader.parse(minimal, file: "case.yaml", statements: statements)
        #expect(loaded.instances.count == 1)
        let instance = try #require(loaded.instances.first)
        #expect(instance.id == "test.minimal")
        #expect(instance.level == .must)
        #expect(instance.setup.kind == .connected)
        #expect(instance.steps.count == 1)
        #expect(instance.steps[0].handle == "s")
        #expect(instance.steps[0].line == 5)
    }

    @Test func aMatrixExpandsInOrderAndSubstitutesMappings() throws {
        let text = """
            id: test.matrix
            title: matrix
            statements: [LINGER-2, CLOSE-3]
            matrix:
              payload: [0, 4MiB]
              close:
                - {linger: off, fin: after-accepted}
                - {linger: 0, fin: none}
            steps:
              - linger: ${close.linger}
              - send: $payload
            expect:
              wire: {fin: "${close.fin}"}
            """
        let loaded = try CaseLoader.parse(text, file: "case.yaml", statements: statements)
        #expect(
            loaded.instances.map(\.id) == [
                "test.matrix[payload=0,close=off]", "test.matrix[payload=0,close=0]", "test.matrix[payload=4MiB,close=off]",
                "test.matrix[payload=4MiB,close=0]",
            ])
        #expect(loaded.level == .must, "the strictest of its statements")
        let send = loaded.instances[2].steps[1]
        #expect(send.name == "send")
        #expect(send.words == "send 4MiB on s")
        #expect(loaded.instances[1].expect.wire.first?.fin == WireExpectation.Fin.none)
    }

    /// Each malformed case names its file and line and says what was expected.
    @Test(arguments: [
        ("id: [unclosed\n", 2, "not valid YAML"),
        ("", 1, "the file is empty"),
        (minimal + "colour: blue\n", 6, "unknown key 'colour'"),
        (minimal.replacingOccurrences(of: "[CLOSE-1]", with: "[CLOSE-99]"), 3, "unknown statement 'CLOSE-99'"),
        (minimal.replacingOccurrences(of: "test.minimal", with: "Test Minimal"), 1, "dotted lower-case words"),
        (minimal.replacingOccurrences(of: "  - close: s", with: "  - send: lots"), 5, "byte count"),
        (minimal.replacingOccurrences(of: "  - close: s", with: "  - send: $size"), 5, "'$size' is not a matrix parameter"),
        (minimal.replacingOccurrences(of: "  - close: s", with: "  - close: s\n    expect: exploded"), 6, "a named error"),
        (minimal.replacingOccurrences(of: "  - close: s", with: "  - close: s\n    send: 10"), 5, "exactly one action"),
        (minimal.replacingOccurrences(of: "  - close: s", with: "  - teleport: s"), 5, "unknown key 'teleport'"),
        (minimal.replacingOccurrences(of: "  - close: s", with: "  - wait: {soon: 1}"), 5, "unknown key 'soon'"),
        (minimal.replacingOccurrences(of: "steps:\n  - close: s\n", with: ""), 1, "no 'steps'"),
        (minimal + "setup: {kind: none}\nexpect:\n  wire: {fin: none}\n", 8, "need a connection or a listener"),
        (minimal + "requires: [telepathy]\n", 6, "unknown capability 'telepathy'"),
        (minimal + "faults:\n  - match: receive\n    delay: 1s\n", 8, "unknown key 'delay' in a fault rule"),
        (minimal + "faults:\n  - match: recieve\n    fail: connectionReset\n", 7, "'recieve' matches no operation"),
        (minimal + "faults:\n  - match: receive\n    fail: addressInUse\n", 8, "receive cannot return addressInUse"),
        (minimal + "faults:\n  - match: close\n    short: 10\n", 8, "close transfers none"),
        (minimal + "faults:\n  - match: send\n", 7, "exactly one action"),
        (
            minimal + "faults:\n  - match: send\n    fail: wouldBlock\n    when: {nth: 0}\n", 9,
            "expected nth as a whole number from 1 to 1000000000"
        ),
    ])
    func malformedCasesSayWhereAndWhat(_ text: String, _ line: Int, _ words: String) {
        let error = loadError(text)
        #expect(error?.location.file == "case.yaml")
        #expect(error?.location.line == line, "\(error?.description ?? "no error")")
        #expect(error?.message.contains(words) == true, "\(error?.description ?? "no error")")
    }

    @Test func aDirectoryWithABadFileStillLoadsTheOthers() throws {
        try withTemporaryDirectory { directory in
            try minimal.write(to: directory.appendingPathComponent("good.yaml"), atomically: true, encoding: .utf8)
            try "id: test.bad\ntitle: t\nstatements: [CLOSE-1]\nsteps: 3\n".write(
                to: directory.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
            try minimal.write(to: directory.appendingPathComponent("again.yaml"), atomically: true, encoding: .utf8)
            let (cases, errors) = CaseLoader.loadDirectory(directory.path, statements: statements)
            #expect(cases.map(\.id) == ["test.minimal"])
            #expect(errors.count == 2)
            #expect(errors.contains { $0.location.file.hasSuffix("bad.yaml") && $0.location.line == 4 })
            #expect(errors.contains { $0.message.contains("already used by") })
        }
    }
}
