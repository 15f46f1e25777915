import Foundation
import PacketCapture
import TestSupport
import Testing
import WireAnalysis

/// `teardown doctor --json`, decoded.
struct DoctorReport: Decodable {
    struct Check: Decodable {
        var family: String
        var ok: Bool
        var problems: [String]
        var connection: ConnectionFacts?
    }
    var mode: String
    var checks: [Check]
}

let setpriv = tool("setpriv")
let isRoot = getuid() == 0

/// How to run a command as an ordinary user here: through setpriv as `nobody` when root, as is otherwise.
func asOrdinaryUser(_ command: [String]) -> [String] {
    isRoot ? [setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + command : command
}

/// Why the ordinary-user test cannot run, or nil.
let ordinaryUserUnavailable: String? = {
    if isRoot && setpriv == nil { return "setpriv is not installed, so root cannot become an ordinary user for the test" }
    guard let unshare = tool("unshare") else { return "unshare is not installed" }
    let probe = asOrdinaryUser([unshare, "--user", "--map-root-user", "--net", "--", "/bin/true"])
    guard let result = try? runProgram(probe[0], Array(probe.dropFirst()), within: 10), result.status == 0 else {
        return "unprivileged user namespaces are not allowed on this machine"
    }
    return nil
}()

/// A copy of the teardown binary that any user may run (the build directory may be private to its owner).
func publicTeardownCopy(in directory: URL) throws -> String {
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
    let copy = directory.appendingPathComponent("teardown").path
    try FileManager.default.copyItem(atPath: teardownBinary, toPath: copy)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy)
    return copy
}

func expectDoctorFacts(_ report: DoctorReport) {
    #expect(report.checks.map(\.family) == ["ipv4", "ipv6"])
    for check in report.checks {
        #expect(check.ok, "\(check.family): \(check.problems)")
        let client = check.connection?.direction(.client)
        #expect(check.connection?.handshake == true)
        #expect(client?.bytesSent == 65536)
        #expect(client?.bytesInOrder == 65536)
        #expect(client?.fin?.sequence == 65537)
        #expect(client?.fin?.followsAllData == true)
        #expect(check.connection?.directions.allSatisfy { $0.resets.isEmpty } == true)
    }
}

@Suite struct Privileges {
    @Test(
        "Live capture of a local connection as root gives the right facts",
        .enabled(if: captureDenied == nil, Comment(rawValue: captureDenied ?? "")))
    func direct() throws {
        let result = try runProgram(teardownBinary, ["doctor", "--json"])
        #expect(result.status == 0, "\(result.errors)")
        let report = try JSONDecoder().decode(DoctorReport.self, from: Data(result.output.utf8))
        #expect(report.mode == "direct")
        expectDoctorFacts(report)
    }

    @Test(
        "Live capture as an ordinary user goes through a user and network namespace and gives the right facts",
        .enabled(if: ordinaryUserUnavailable == nil, Comment(rawValue: ordinaryUserUnavailable ?? "")))
    func throughNamespace() throws {
        try withTemporaryDirectory { directory in
            let command = asOrdinaryUser([try publicTeardownCopy(in: directory), "doctor", "--json"])
            let result = try runProgram(command[0], Array(command.dropFirst()))
            #expect(result.status == 0, "\(result.errors)")
            let report = try JSONDecoder().decode(DoctorReport.self, from: Data(result.output.utf8))
            #expect(report.mode == "namespace")
            expectDoctorFacts(report)
        }
    }

    @Test(
        "Without capture rights and without namespaces, the error says what to do",
        .enabled(if: ordinaryUserUnavailable == nil, Comment(rawValue: ordinaryUserUnavailable ?? "")))
    func noWayToCapture() throws {
        try withTemporaryDirectory { directory in
            // An unshare that always fails stands for a machine that forbids unprivileged namespaces.
            let command = asOrdinaryUser(["/usr/bin/env", "TEARDOWN_UNSHARE=/bin/false", try publicTeardownCopy(in: directory), "doctor"])
            let result = try runProgram(command[0], Array(command.dropFirst()))
            #expect(result.status == 2)
            #expect(result.errors.hasPrefix("teardown: cannot capture: no permission to capture on lo"))
            #expect(result.errors.contains("run as root"))
            #expect(result.errors.contains("CAP_NET_RAW") || result.errors.contains("cap_net_raw"))
            #expect(result.errors.contains("unprivileged user namespaces"))
        }
    }
}
