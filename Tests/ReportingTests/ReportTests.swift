import Conformance
import Foundation
import FoundationXML
import Reporting
import TestSupport
import Testing

func result(_ id: String, _ verdict: Verdict, messages: [String] = []) -> CaseResult {
    let fields: [String: Any] = [
        "id": id, "caseID": String(id.split(separator: "[").first!), "title": "t", "statements": ["PEND-1"], "level": "must",
        "verdict": verdict.rawValue, "messages": messages, "seconds": 0.5, "pcap": "captures/x.pcap",
    ]
    let data = try! JSONSerialization.data(withJSONObject: fields)
    return try! JSONDecoder().decode(CaseResult.self, from: data)
}

@Suite struct Reports {
    @Test func exitCodesFollowTheVerdicts() {
        #expect(
            RunVerdict.of(results: [result("a", .pass), result("b", .skipped), result("c", .nonStrict)], stale: [], unstable: [])
                == .conformant)
        #expect(RunVerdict.of(results: [result("a", .pass), result("b", .fail)], stale: [], unstable: []) == .notConformant)
        #expect(RunVerdict.of(results: [result("a", .fail), result("b", .error)], stale: [], unstable: []) == .notJudged)
        #expect(RunVerdict.of(results: [result("a", .pass)], stale: ["x"], unstable: []) == .notConformant)
        #expect(RunVerdict.of(results: [result("a", .pass)], stale: [], unstable: ["a"]) == .notJudged)
    }

    @Test func expectationsMarkKnownDeviationsAndReportStaleOnes() throws {
        try withTemporaryFile(
            """
            provider: posix
            deviations:
              - cases: pend.receive*
                note: close does not wake recv
              - cases: pend.accept*
                note: close does not wake accept
            """
        ) { path in
            let expectations = try Expectations.load(path: path)
            var results = [result("pend.receive[role=client]", .fail), result("pend.accept", .pass), result("other", .fail)]
            let uses = expectations.apply(to: &results)
            #expect(results[0].expectedDeviation == "close does not wake recv")
            #expect(!results[0].isUnexpectedFailure)
            #expect(results[2].isUnexpectedFailure)
            #expect(uses.filter(\.isStale).map(\.cases) == ["pend.accept*"])
            #expect(uses.map(\.matched) == [1, 1])
        }
    }

    @Test func aMalformedExpectationsFileSaysWhere() throws {
        try withTemporaryFile("provider: posix\ndeviations:\n  - cases: x\n") { path in
            do throws(CaseFileError) {
                _ = try Expectations.load(path: path)
                Issue.record("accepted a deviation without a note")
            } catch {
                #expect(error.location.line == 3)
                #expect(error.message.contains("'note'"))
            }
        }
    }

    @Test func junitIsWellFormedAndCountsEachVerdict() throws {
        var results = [
            result("a", .pass), result("b", .fail, messages: ["expected FIN at seq 65537 <after> \"all\" & more"]),
            result("c", .skipped, messages: ["lacks duplicate"]),
            result("d", .error, messages: ["watchdog"]), result("e", .fail, messages: ["known"]),
        ]
        results[4].expectedDeviation = "a known deviation"
        let report = RunReport(
            provider: "posix", seed: 7, started: "now", seconds: 1, repeatCount: 1, shard: nil, captureDirectory: nil, results: results,
            deviations: [], unstable: [])
        let xml = JUnitReport.render(report)
        let document = try XMLDocument(data: Data(xml.utf8))
        let suite = try #require(try document.nodes(forXPath: "//testsuite").first as? XMLElement)
        #expect(suite.attribute(forName: "tests")?.stringValue == "5")
        #expect(suite.attribute(forName: "failures")?.stringValue == "1")
        #expect(suite.attribute(forName: "errors")?.stringValue == "1")
        #expect(suite.attribute(forName: "skipped")?.stringValue == "2")
        let failure = try #require(try document.nodes(forXPath: "//testcase[@name='b']/failure").first as? XMLElement)
        #expect(failure.attribute(forName: "message")?.stringValue == "expected FIN at seq 65537 <after> \"all\" & more")
        #expect(try document.nodes(forXPath: "//testcase[@name='b']/properties/property[@name='pcap']").count == 1)
        #expect(try document.nodes(forXPath: "//property[@name='seed'][@value='7']").count >= 1)
    }
}

/// Whether Python's junitparser (from PyPI) is installed: a JUnit consumer other than ours.
let junitParserMissing: String? = {
    guard let python = tool("python3"),
        let result = try? runProgram(python, ["-c", "import junitparser"], within: 30), result.status == 0
    else { return "junitparser is not installed (make deps installs it with pip as root)" }
    return nil
}()

@Suite struct JUnitConsumers {
    @Test(
        "A JUnit parser from PyPI reads our JUnit with the right counts, messages and properties",
        .enabled(if: junitParserMissing == nil, Comment(rawValue: junitParserMissing ?? "")))
    func junitparserReadsIt() throws {
        var results = [
            result("a", .pass), result("b", .fail, messages: ["expected FIN at seq 65537 after 65536 bytes; saw RST at seq 1"]),
            result("c", .skipped, messages: ["the posix provider lacks: duplicate"]), result("d", .error, messages: ["watchdog"]),
            result("e", .fail, messages: ["known"]), result("f", .nonStrict, messages: ["should"]),
        ]
        results[4].expectedDeviation = "a known deviation"
        let report = RunReport(
            provider: "posix", seed: 9, started: "now", seconds: 2, repeatCount: 1, shard: nil, captureDirectory: nil, results: results,
            deviations: [], unstable: [])
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("junit.xml").path
            try JUnitReport.render(report).write(toFile: path, atomically: true, encoding: .utf8)
            let script = """
                import sys
                from junitparser import JUnitXml, Failure, Error, Skipped
                xml = JUnitXml.fromfile(sys.argv[1])
                for suite in xml:
                    print("suite", suite.name, suite.tests, suite.failures, suite.errors, suite.skipped)
                    for case in suite:
                        kinds = [type(r).__name__ + ":" + (r.message or "") for r in case.result]
                        # Properties on a testcase (as pytest writes them) are read from the element itself.
                        props = {p.get("name"): p.get("value") for p in case._elem.iter("property")}
                        print("case", case.name, "|".join(kinds), props.get("seed", ""), props.get("pcap", ""))
                """
            let output = try runProgram(tool("python3")!, ["-c", script, path])
            #expect(output.status == 0, "\(output.errors)")
            let lines = output.output.split(separator: "\n").map(String.init)
            #expect(lines.first == "suite teardown.posix 6 2 1 2")
            #expect(
                lines.contains("case b Failure:expected FIN at seq 65537 after 65536 bytes; saw RST at seq 1 9 captures/x.pcap"), "\(lines)"
            )
            #expect(lines.contains("case c Skipped:the posix provider lacks: duplicate 9 captures/x.pcap"), "\(lines)")
            #expect(lines.contains("case d Error:watchdog 9 captures/x.pcap"), "\(lines)")
            #expect(lines.contains("case e Skipped:expected deviation: a known deviation 9 captures/x.pcap"), "\(lines)")
            #expect(lines.contains("case a  9 captures/x.pcap"), "\(lines)")
        }
    }
}
