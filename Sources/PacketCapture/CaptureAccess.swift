import Basics
@preconcurrency import CPcap
import CShim
import Foundation

/// Whether this process can capture, and how to get there when it cannot: as root it captures
/// directly; as an ordinary user it re-executes itself under `unshare -rn` (a new user and network
/// namespace, where it is root of its own loopback) and brings `lo` up there.
public enum CaptureAccess {
    /// The environment variable that marks a process re-executed inside the namespace.
    public static let namespaceVariable = "TEARDOWN_IN_NAMESPACE"

    /// How this process captures.
    public enum Mode: String, Sendable, Codable {
        /// Root or CAP_NET_RAW in the machine's own network namespace.
        case direct
        /// Inside a user and network namespace made for this run: only its own traffic is on `lo`.
        case namespace
    }

    /// Whether this process runs inside the namespace Teardown made for it.
    public static var insideNamespace: Bool { ProcessInfo.processInfo.environment[namespaceVariable] == "1" }

    /// The libpcap version, for diagnostics.
    public static var libraryVersion: String { Pcap.version }

    /// Tries to open the interface for capture; nil when it works, else why not.
    public static func probe(interface: String = "lo") -> CaptureError? {
        do {
            let handle = try Pcap.openLive(interface: interface, snapshotLength: 96, bufferBytes: 1 << 20)
            pcap_close(handle)
            return nil
        } catch {
            return error
        }
    }

    /// Makes sure this process can capture on `lo`, re-executing it in a namespace if needed.
    ///
    /// Call it before any other thread exists that matters: on re-execution it does not return.
    /// - Returns: how this process captures.
    /// - Throws: `CaptureError(.permission)` saying what to do when neither way works.
    public static func ensure(arguments: [String] = CommandLine.arguments) throws(CaptureError) -> Mode {
        if insideNamespace {
            guard td_loopback_up() == 0 else {
                throw CaptureError(.unavailable, "cannot bring lo up in the namespace: \(String(cString: strerror(errno)))")
            }
            if let error = probe() { throw CaptureError(.permission, "cannot capture inside the namespace: \(error.message)") }
            return .namespace
        }
        guard let error = probe() else { return .direct }
        guard error.kind == .permission else { throw error }
        try reexecuteInNamespace(arguments: arguments, because: error)
    }

    /// The advice given when capture is impossible.
    public static let advice =
        "run as root, grant the capability (sudo setcap cap_net_raw,cap_net_admin+ep <teardown binary>), "
        + "or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu "
        + "kernel.apparmor_restrict_unprivileged_userns=0)"

    private static func reexecuteInNamespace(arguments: [String], because denied: CaptureError) throws(CaptureError) -> Never {
        // TEARDOWN_UNSHARE names another unshare(1), for a system where it lives elsewhere.
        let configured = ProcessInfo.processInfo.environment["TEARDOWN_UNSHARE"]
        let candidates: [String] = configured.map { [$0] } ?? ["/usr/bin/unshare", "/bin/unshare"]
        let unshare = candidates.first { access($0, X_OK) == 0 }
        guard let unshare else {
            throw CaptureError(.permission, "\(denied.message); unshare(1) is not installed to capture in a namespace: \(advice)")
        }
        if let reason = namespaceFailure(unshare) {
            throw CaptureError(.permission, "\(denied.message), and \(reason): \(advice)")
        }
        let executable = CurrentProcess.executablePath(fallback: arguments[0])
        setenv(namespaceVariable, "1", 1)
        let argv: [String] = [unshare, "--user", "--map-root-user", "--net", "--", executable] + arguments.dropFirst()
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArguments.append(nil)
        execv(unshare, cArguments)
        let reason = String(cString: strerror(errno))
        throw CaptureError(.permission, "\(denied.message), and executing \(unshare) failed: \(reason): \(advice)")
    }

    /// Runs `unshare -rn true` to learn whether a namespace can be made here; nil when it can.
    private static func namespaceFailure(_ unshare: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: unshare)
        process.arguments = ["--user", "--map-root-user", "--net", "--", "/bin/true"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return "\(unshare) cannot be started (\(error))"
        }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus != 0 else { return nil }
        let reason = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return "a user and network namespace cannot be made (\(reason.isEmpty ? "unshare failed" : reason))"
    }
}
