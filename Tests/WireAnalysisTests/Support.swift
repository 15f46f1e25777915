import Foundation
import PacketCapture
import TestSupport
import Testing
import WireAnalysis

/// The committed fixtures.
let fixtureDirectory = repositoryRoot.appendingPathComponent("captures")

/// Why this process cannot capture, or nil when it can.

/// The JSON of `teardown inspect --json`, decoded.
func inspectJSON(_ path: String) throws -> CaptureFacts {
    let result = try runProgram(teardownBinary, ["inspect", "--json", path])
    guard result.status == 0 else { throw TestFailure("teardown inspect \(path) exited \(result.status): \(result.errors)") }
    return try JSONDecoder().decode(CaptureFacts.self, from: Data(result.output.utf8))
}
