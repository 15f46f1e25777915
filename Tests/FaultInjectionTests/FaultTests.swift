import Conformance
import FaultInjection
import Foundation
import Harness
import ProviderCatalogue
import TestSupport
import Testing

@Suite struct Faults {
    /// A case that needs no capture: sockets made, options set and read, closed; each call is a chance for a fault.
    let busy = try! CaseLoader.parse(
        """
        id: test.busy
        title: t
        statements: [LINGER-8]
        setup: {kind: none}
        steps:
          - socket: a
          - socket: b
          - linger: 3s
            handle: a
            expect: [ok, invalidArgument]
          - linger: 4s
            handle: b
            expect: [ok, invalidArgument]
          - get-linger: off
            handle: a
            expect: [ok, invalidArgument]
          - close: a
            expect: [ok, interrupted]
          - close: b
            expect: [ok, interrupted]
        """, file: "busy.yaml", statements: statements)

    func run(seed: UInt64, plan: String) throws -> [CaseResult] {
        var results: [CaseResult] = []
        try withTemporaryFile(plan) { path in results = try run(seed: seed, planFile: path) }
        return results
    }

    func run(seed: UInt64, planFile: String) throws -> [CaseResult] {
        var options = RunOptions(provider: .builtIn(.reference))
        options.capture = false
        options.seed = seed
        options.faults = try FaultPlanLoader.load(path: planFile)
        return Runner.run(busy.instances, options: options)
    }

    static let randomPlan = """
        faults:
          - match: setOption
            when: {probability: 0.5}
            fail: invalidArgument
          - match: option
            when: {probability: 0.5}
            fail: interrupted
          - match: "*"
            when: {probability: 0.3}
            delay-entry: 1ms
        """

    @Test func theSameSeedInjectsTheSameFaultsOnTheSameCalls() throws {
        try withTemporaryFile(Self.randomPlan) { path in
            let first = try run(seed: 42, planFile: path)
            let again = try run(seed: 42, planFile: path)
            #expect(first.first?.faults?.isEmpty == false)
            #expect(first.first?.faults == again.first?.faults)
            #expect(first.map(\.verdict) == again.map(\.verdict))
            let other = try (1...8).map { try run(seed: $0, planFile: path).first?.faults ?? [] }
            #expect(Set(other).count > 1, "other seeds draw other faults")
        }
    }

    @Test func ruleTimingsPickTheRightCalls() throws {
        let results = try run(
            seed: 1,
            plan: """
                - match: socket
                  when: {nth: 2}
                  delay-entry: 1ms
                - match: setOption
                  when: {from: 1, step: 1}
                  fail: invalidArgument
                """)
        let log = try #require(results.first?.faults)
        #expect(log.count == 3)
        #expect(log[0].contains("on socket call 2 by rule 1"))
        #expect(log[1].contains("fail(") && log[1].contains("setOption(a) call 1 by rule 2"))
        #expect(log[2].contains("setOption(b) call 2 by rule 2"))
        #expect(results.first?.verdict == .pass, "\(results.first?.messages ?? [])")
    }

    @Test func aFailureTheCaseDoesNotExpectFailsIt() throws {
        let results = try run(seed: 1, plan: "- match: socket\n  when: once\n  fail: tooManySockets\n")
        #expect(results.first?.verdict == .fail)
        #expect(results.first?.messages.first?.contains("socket expected success; got tooManySockets") == true)
    }
}

@Suite struct FaultPlanFiles {
    @Test func aBadPlanFileIsRejectedWithItsLineBeforeAnythingRuns() throws {
        try withTemporaryFile("faults:\n  - match: send\n    fail: addressInUse\n") { path in
            let output = try runProgram(teardownBinary, ["run", "--suite", suiteDirectory, "--faults", path])
            #expect(output.status == 2)
            #expect(output.errors.contains("\(path):3: send cannot return addressInUse"), "\(output.errors)")
        }
        try withTemporaryFile("faults:\n  - match: send\n    fail: [unclosed\n") { path in
            let output = try runProgram(teardownBinary, ["run", "--suite", suiteDirectory, "--faults", path])
            #expect(output.status == 2)
            #expect(output.errors.contains("not valid YAML"), "\(output.errors)")
        }
    }
}
