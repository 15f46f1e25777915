public import Foundation
import Harness

/// Helpers the test targets share: programs run with a deadline, tools found on PATH, temporary directories.

/// The repository's root.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The `teardown` binary built beside the test bundle.
public let teardownBinary: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
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
