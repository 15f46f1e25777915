import Basics
public import Conformance
public import Foundation
import Harness
import PacketCapture

/// Helpers the test targets share: programs run with a deadline, tools found on PATH, temporary directories.

/// The repository's root.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The `teardown` binary built beside the test bundle.
public let teardownBinary: String = {
    let exe = CurrentProcess.executablePath()
    return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("teardown").path
}()

/// A tool on PATH, or nil.
public func tool(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    let directories: [String] = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
    for directory in directories {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// What a finished process printed and how it ended.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var output: String
    public var errors: String
}

/// Runs a program to its end, with a deadline after which it is killed and the test fails.
public func runProgram(_ path: String, _ arguments: [String], within timeout: TimeInterval = 60) throws -> ProcessOutput {
    let outcome = ChildProcess.run(path, arguments, within: .milliseconds(Int64(timeout * 1000)))
    if outcome.timedOut { throw TestFailure("\(path) \(arguments.joined(separator: " ")) did not finish within \(timeout) s") }
    return ProcessOutput(
        status: outcome.signal ?? outcome.status, output: String(decoding: outcome.output, as: UTF8.self),
        errors: String(decoding: outcome.errors, as: UTF8.self))
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A temporary directory removed after `body`.
public func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("teardown-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Why this process cannot capture (nil when it can): the suites that capture are skipped with it.
public let captureDenied: String? = CaptureAccess.probe().map {
    "needs permission to capture (\($0.message)): run as root, as CI does"
}

/// The checkout's suite directory.
public let suiteDirectory = repositoryRoot.appendingPathComponent("conformance").path

/// Runs `teardown run` with a report directory of its own; returns the process output and the decoded results.
public func runSuite(_ arguments: [String], in directory: URL, within timeout: TimeInterval = 120) throws -> (ProcessOutput, RunReport?) {
    let json = directory.appendingPathComponent("results.json").path
    let output = try runProgram(
        teardownBinary,
        ["run", "--suite", suiteDirectory, "--report-dir", directory.appendingPathComponent("run").path, "--json", json] + arguments,
        within: timeout)
    let report = (try? Data(contentsOf: URL(fileURLWithPath: json))).flatMap { try? JSONDecoder().decode(RunReport.self, from: $0) }
    return (output, report)
}

/// The suite's statements (empty when the file cannot be read: the tests that need them then fail with it).
public let statements: [Statement] = (try? CaseLoader.loadStatements(path: "\(suiteDirectory)/statements.yaml")) ?? []

/// Writes `text` to a temporary .yaml file for the duration of `body`, which gets its path.
public func withTemporaryFile(_ text: String, _ body: (String) throws -> Void) throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("teardown-\(UUID().uuidString).yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    try body(path)
}
