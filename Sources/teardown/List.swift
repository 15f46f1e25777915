import ArgumentParser
import Conformance
import Foundation
import Harness
import PacketCapture
import WireAnalysis

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the suite's cases with the statements they check, and the statements no case covers.",
        discussion:
            "Exit codes: 0 every statement is covered and every case file is well formed; 1 a statement is not covered; 2 a case file is malformed."
    )

    @OptionGroup var suite: SuiteOptions

    @Flag(help: "List every instance a matrix expands to.")
    var instances = false

    func run() throws {
        let (statements, cases, errors) = try suite.load()
        for error in errors { FileHandle.standardError.write(Data("teardown: \(error)\n".utf8)) }
        let width = cases.map(\.id.count).max() ?? 0
        for item in cases {
            let count = item.instances.count
            print(
                item.id.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                    + "\(item.statements.joined(separator: ", "))  (\(count) instance\(count == 1 ? "" : "s"), \(item.level.rawValue))")
            if instances { for instance in item.instances { print("    \(instance.id)") } }
        }
        let covered = Set(cases.flatMap(\.statements))
        let missing = statements.filter { !covered.contains($0.id) && $0.level != .info }
        let total = cases.reduce(0) { $0 + $1.instances.count }
        print("\n\(cases.count) cases, \(total) instances; \(statements.count - missing.count) of \(statements.count) statements covered")
        if !missing.isEmpty { print("not covered by any case: " + missing.map(\.id).joined(separator: ", ")) }
        if !errors.isEmpty { throw ExitCode(2) }
        if !missing.isEmpty { throw ExitCode(1) }
    }
}
