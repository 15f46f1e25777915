import Conformance
import Foundation
import TestSupport
import Testing

/// One quick case, so that each run below takes a fraction of a second.
let quickCase = ["--suite", suiteDirectory, "--cases", "close.never-a-handle"]

func runQuick(_ arguments: [String], in directory: URL) throws -> ProcessOutput {
    try runProgram(teardownBinary, ["run"] + quickCase + ["--report-dir", directory.appendingPathComponent("run").path] + arguments)
}

/// Report paths of every kind: written where they should be, never replacing what is not the tool's own.
@Suite(.enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? ""))) struct ReportPaths {
    @Test func aNewPathHasItsDirectoriesCreated() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("out/deeper/report.json").path
            let run = try runQuick(["--json", path, "--junit", directory.appendingPathComponent("x/r.xml").path], in: directory)
            #expect(run.status == 0, "\(run.errors)")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(report.results.map(\.id) == ["close.never-a-handle"])
        }
    }

    @Test func aRegularFileIsReplacedWhole() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("report.json")
            try String(repeating: "old ", count: 100_000).write(to: path, atomically: true, encoding: .utf8)
            let run = try runQuick(["--json", path.path], in: directory)
            #expect(run.status == 0, "\(run.errors)")
            #expect(try String(contentsOf: path, encoding: .utf8).hasPrefix("{"))
            #expect(try JSONSerialization.jsonObject(with: Data(contentsOf: path)) is [String: Any])
        }
    }

    @Test func aSymbolicLinkIsFollowedAndStaysALink() throws {
        try withTemporaryDirectory { directory in
            let target = directory.appendingPathComponent("target.json")
            try "old".write(to: target, atomically: true, encoding: .utf8)
            let link = directory.appendingPathComponent("link.json")
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "target.json")
            let run = try runQuick(["--json", link.path], in: directory)
            #expect(run.status == 0, "\(run.errors)")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "target.json")
            #expect(try String(contentsOf: target, encoding: .utf8).contains("\"format\" : \"teardown-run/1\""))
        }
    }

    @Test func aFIFOIsWrittenAsAStreamAndStaysAFIFO() throws {
        try withTemporaryDirectory { directory in
            let fifo = directory.appendingPathComponent("report.xml").path
            #expect(mkfifo(fifo, 0o600) == 0)
            let copy = directory.appendingPathComponent("copy.xml").path
            // A reader on the FIFO, as a pipeline would have: cat copies what the run writes.
            let reader = try runProgram(
                "/bin/bash",
                [
                    "-c",
                    "cat '\(fifo)' > '\(copy)' & '\(teardownBinary)' run \(quickCase.joined(separator: " ")) --report-dir '\(directory.path)/run' --junit '\(fifo)'; status=$?; wait; exit $status",
                ])
            #expect(reader.status == 0, "\(reader.errors)")
            var status = stat()
            #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
            #expect(try String(contentsOfFile: copy, encoding: .utf8).contains("<testsuite"))
        }
    }

    @Test func aDashIsStandardOutputAndTheSummaryMovesToStandardError() throws {
        try withTemporaryDirectory { directory in
            let run = try runQuick(["--json", "-"], in: directory)
            #expect(run.status == 0, "\(run.errors)")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(run.output.utf8))
            #expect(report.results.count == 1)
            #expect(run.errors.contains("-> conformant (exit 0)"))
        }
    }

    @Test func aDeviceIsWrittenInPlaceNeverReplaced() throws {
        try withTemporaryDirectory { directory in
            let run = try runQuick(["--html", "/dev/null"], in: directory)
            #expect(run.status == 0, "\(run.errors)")
            var status = stat()
            #expect(lstat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
        }
    }

    @Test func pathsThatCannotBeReportsAreRefusedBeforeAnyCaseRuns() throws {
        try withTemporaryDirectory { directory in
            let asDirectory = try runQuick(["--json", directory.path], in: directory)
            #expect(asDirectory.status == 64)
            #expect(asDirectory.errors.contains("is a directory"), "\(asDirectory.errors)")
            let twice = try runQuick(["--json", "-", "--junit", "-"], in: directory)
            #expect(twice.status == 64)
            #expect(twice.errors.contains("only one report can go to standard output"))
            // Refused before the run: no report directory was made.
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("run").path))
        }
    }

    @Test func anUnwritableDirectoryEndsTheCommandAtOnce() throws {
        try withTemporaryDirectory { directory in
            let locked = directory.appendingPathComponent("locked")
            try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
            chmod(locked.path, 0o555)
            defer { chmod(locked.path, 0o755) }
            // As root a read-only directory is still writable: run as nobody then, through setpriv.
            var command = [teardownBinary, "run"] + quickCase + ["--json", locked.appendingPathComponent("r.json").path]
            if getuid() == 0 {
                let setpriv = try #require(tool("setpriv"), "setpriv (util-linux), to run as nobody")
                chmod(directory.path, 0o755)
                command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] + command
            }
            let run = try runProgram(command[0], Array(command.dropFirst()))
            #expect(run.status == 2, "\(run.output)\(run.errors)")
            #expect(run.errors.contains("cannot write in"), "\(run.errors)")
            #expect(!run.output.contains("case instances in"), "no case ran")
        }
    }
}

@Suite(.enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? ""))) struct CommandLineUse {
    @Test func withoutATerminalEachFinishedCasePrintsALine() throws {
        try withTemporaryDirectory { directory in
            let run = try runProgram(
                teardownBinary,
                ["run", "--suite", suiteDirectory, "--cases", "close.*", "--report-dir", directory.appendingPathComponent("r").path])
            #expect(run.status == 0, "\(run.errors)")
            let lines = run.output.split(separator: "\n").filter { $0.hasPrefix("[") }
            let total = CaseLoader.loadDirectory("\(suiteDirectory)/cases", statements: statements).cases
                .filter { $0.id.hasPrefix("close.") }.reduce(0) { $0 + $1.instances.count }
            #expect(total >= 3)
            #expect(lines.count == total, "\(run.output)")
            #expect(lines.enumerated().allSatisfy { $0.element.hasPrefix("[\($0.offset + 1)/\(total)] ") }, "\(lines)")
            #expect(lines.contains { $0.contains(" pass close.never-a-handle ") })
            let quiet = try runProgram(
                teardownBinary,
                [
                    "run", "--suite", suiteDirectory, "--cases", "close.never-a-handle", "--quiet", "--report-dir",
                    directory.appendingPathComponent("q").path,
                ])
            #expect(!quiet.output.contains("[1/1]"))
            #expect(quiet.output.contains("-> conformant (exit 0)"))
        }
    }

    @Test func numbersOutOfRangeAreUsageErrorsNamingTheRange() throws {
        for (option, value, words) in [
            ("--repeat", "-5", "--repeat must be between 1 and 10000, not -5"),
            ("--repeat", "9223372036854775807", "--repeat must be between 1 and 10000"),
            ("--watchdog", "9200000000", "--watchdog must be between 1 and 3600"),
            ("--jobs", "0", "--jobs must be between 1 and 64, not 0"),
            ("--shard", "1/0", "--shard must be I/N"),
        ] {
            let run = try runProgram(teardownBinary, ["run"] + quickCase + [option, value])
            #expect(run.status == 64, "\(option) \(value): \(run.errors)")
            #expect(run.errors.contains(words), "\(option) \(value): \(run.errors)")
        }
    }

    @Test func anEmptyShardIsAnEmptyPassingRun() throws {
        try withTemporaryDirectory { directory in
            let run = try runQuick(["--shard", "3/1000"], in: directory)
            #expect(run.status == 0, "\(run.errors)")
            #expect(run.output.contains("0 case instances"), "\(run.output)")
        }
    }

    @Test func mergeRefusesAnIncompleteOrDuplicatedSetOfShards() throws {
        try withTemporaryDirectory { directory in
            var files: [String] = []
            for shard in 1...2 {
                let json = directory.appendingPathComponent("shard-\(shard).json").path
                let run = try runProgram(
                    teardownBinary,
                    [
                        "run", "--suite", suiteDirectory, "--cases", "close.*", "--shard", "\(shard)/2", "--json", json, "--report-dir",
                        directory.appendingPathComponent("r\(shard)").path,
                    ])
                #expect(run.status == 0, "\(run.errors)")
                files.append(json)
            }
            let merge = { (paths: [String]) in try runProgram(teardownBinary, ["merge", "--suite", suiteDirectory] + paths) }
            let partial = try merge([files[0]])
            #expect(partial.status == 2)
            #expect(partial.errors.contains("the shards are incomplete: 1 of 2 missing (2/2)"), "\(partial.errors)")
            let twice = try merge([files[0], files[0], files[1]])
            #expect(twice.status == 2)
            #expect(twice.errors.contains("given twice"), "\(twice.errors)")
            let whole = try merge(files)
            #expect(whole.status == 0, "\(whole.errors)")
            #expect(whole.output.contains("-> conformant (exit 0)"), "\(whole.output)")
        }
    }

    @Test func explainPrintsAStatementWithTheCasesThatCheckIt() throws {
        let run = try runProgram(teardownBinary, ["explain", "--suite", suiteDirectory, "linger-5"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.hasPrefix("LINGER-5 (MUST): LINGER: the three kinds of close"))
        #expect(run.output.contains("*Linux differs*"))
        #expect(run.output.contains("linger.timeout-expires"))
    }
}

@Suite struct Statements {
    @Test func specAndTheStatementsFileSayTheSame() throws {
        let specification = try Specification.load(path: repositoryRoot.appendingPathComponent("SPEC.md").path)
        #expect(specification.entries.map(\.statement) == statements, "conformance/statements.yaml must copy SPEC.md's statements")
        #expect(specification.entries.first { $0.statement.id == "HANDLE-1" }?.context.contains("WPUCreateSocketHandle") == true)
    }
}
