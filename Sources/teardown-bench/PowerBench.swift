import ArgumentParser
import Foundation

struct PowerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "power",
        abstract: "Time teardown power over every mutant, stopping each at its first right catch and with --full.",
        discussion: """
            Runs `teardown power` (the binary given) against every mutant of the reference and, with --c-mutants, \
            every mutant of the example provider in C, once as `make power` runs it (a mutant's cases of the \
            statements it breaks first, the others not run once one fails it) and once with --full (every case \
            against every mutant). Prints each wall time, the orchestrator's peak memory and the ratio. Target: \
            under 90 s with 40 mutants on a 2-core machine.
            """
    )

    @Option(help: "The teardown binary to time.")
    var teardown = "teardown"

    @Option(help: "The suite directory.")
    var suite = "conformance"

    @Option(name: .customLong("c-mutants"), help: "The directory of C mutants (make c-mutants builds .build/c-mutants).")
    var cMutants: String?

    @Option(help: "The unpatched example provider the C mutants are made from.")
    var example = "Examples/c-provider/libexample.so"

    func run() throws {
        var arguments = [teardown, "power", "--suite", suite, "--report-dir", "/tmp/teardown-bench-power"]
        if let cMutants { arguments += ["--c-mutants", cMutants, "--example", example] }
        let (quick, quickPeak) = try timed(arguments)
        print(
            String(
                format: "power, each mutant until its first right catch: %.1f s wall, orchestrator peak %d MiB (target 90 s)", quick,
                quickPeak / 1024))
        let (full, fullPeak) = try timed(arguments + ["--full"])
        print(String(format: "power --full, every case against every mutant: %.1f s wall, orchestrator peak %d MiB", full, fullPeak / 1024))
        print(String(format: "the first right catch takes %.2fx the time of the whole matrix", quick / full))
    }

    func timed(_ command: [String]) throws -> (seconds: Double, peak: Int) {
        let start = Date()
        let peak = try peak(command)
        return (Date().timeIntervalSince(start), peak)
    }
}
