import Foundation
import PacketCapture
import Testing
import WireAnalysis

/// The repository's root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The committed fixtures.
let fixtureDirectory = repositoryRoot.appendingPathComponent("captures")

/// The `teardown` binary built beside the test bundle.
let teardownBinary: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("teardown").path
}()

/// Why this process cannot capture, or nil when it can.
let captureDenied: String? = CaptureAccess.probe().map {
    "needs permission to capture (\($0.message)): run as root, as CI does"
}

/// A tool on PATH, or nil.
func tool(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    let directories: [String] = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
    for directory in directories {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// What a finished process printed and how it ended.
struct ProcessOutput {
    var status: Int32
    var output: String
    var errors: String
}

/// Runs a program to its end, with a deadline after which it is killed and the test fails.
func runProgram(_ path: String, _ arguments: [String], within timeout: TimeInterval = 60) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    let finished = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in finished.signal() }
    try process.run()
    // Read both pipes while the process runs, so that a large output cannot block it.
    nonisolated(unsafe) var errorData = Data()
    let errorsRead = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        errorData = errors.fileHandleForReading.readDataToEndOfFile()
        errorsRead.signal()
    }
    nonisolated(unsafe) var outputData = Data()
    let outputRead = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        outputData = output.fileHandleForReading.readDataToEndOfFile()
        outputRead.signal()
    }
    let deadline = DispatchTime.now() + timeout
    let waits = [finished, errorsRead, outputRead].map { $0.wait(timeout: deadline) }
    if waits.contains(.timedOut) {
        kill(process.processIdentifier, SIGKILL)
        throw TestFailure("\(path) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
    }
    return ProcessOutput(
        status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
        errors: String(decoding: errorData, as: UTF8.self))
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory removed after `body`.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("teardown-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// The JSON of `teardown inspect --json`, decoded.
func inspectJSON(_ path: String) throws -> CaptureFacts {
    let result = try runProgram(teardownBinary, ["inspect", "--json", path])
    guard result.status == 0 else { throw TestFailure("teardown inspect \(path) exited \(result.status): \(result.errors)") }
    return try JSONDecoder().decode(CaptureFacts.self, from: Data(result.output.utf8))
}
