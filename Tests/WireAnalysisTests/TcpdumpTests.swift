import Basics
import Foundation
import Harness
import PacketCapture
import TestSupport
import Testing
import WireAnalysis

let tcpdump = tool("tcpdump")
let python = tool("python3")

/// Why the tcpdump test cannot run here, or nil.
let tcpdumpMissing: String? = {
    if let captureDenied { return captureDenied }
    if tcpdump == nil { return "tcpdump is not installed (make deps installs it as root)" }
    if python == nil { return "python3 is not installed" }
    return nil
}()

/// A program running beside the test, whose standard error is collected as it comes.
final class RunningProgram: @unchecked Sendable {
    let process = Process()
    private let condition = NSCondition()
    private var errors = ""
    private var closed = false
    private var ended = false

    init(_ path: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        // The end of its standard error is no sign that it ended: another child may hold the pipe open.
        process.terminationHandler = { [self] _ in
            condition.lock()
            ended = true
            condition.broadcast()
            condition.unlock()
        }
        try process.run()
        Thread.detachNewThread { [self] in
            while true {
                let chunk = pipe.fileHandleForReading.availableData
                condition.lock()
                if chunk.isEmpty { closed = true } else { errors += String(decoding: chunk, as: UTF8.self) }
                condition.broadcast()
                condition.unlock()
                if chunk.isEmpty { return }
            }
        }
    }

    /// Waits until its standard error contains `text`.
    func waitForError(containing text: String, within seconds: TimeInterval) throws {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Deadline(after: .milliseconds(Int64(seconds * 1000)))
        guard condition.wait(until: deadline, for: { errors.contains(text) || closed }), errors.contains(text) else {
            throw TestFailure("\(process.executableURL!.path) did not print '\(text)' within \(seconds) s; it printed: \(errors)")
        }
    }

    /// Stops it and waits for it to end.
    func stop(within seconds: TimeInterval) throws {
        // Signals other than SIGKILL may be blocked in a child spawned from a test's worker thread; the file
        // is already complete (-U writes each packet as it is read, and the caller waited for the ending).
        kill(process.processIdentifier, SIGKILL)
        condition.lock()
        let stopped = condition.wait(until: Deadline(after: .milliseconds(Int64(seconds * 1000)))) { ended }
        condition.unlock()
        guard stopped else { throw TestFailure("\(process.executableURL!.path) did not end after SIGKILL") }
        process.waitUntilExit()
    }
}

/// A capture made by tcpdump itself of a local exchange with a Python client: it sends 300000 bytes and
/// reads until end-of-stream; the server (a plain socket here) reads them, answers 1234 bytes and closes first.
struct TcpdumpRecording: Sendable, CustomStringConvertible {
    let name: String
    let arguments: [String]
    let linkType: String

    var description: String { name }

    static let all = [
        TcpdumpRecording(name: "tcpdump-any-sll2", arguments: ["-i", "any"], linkType: "LINUX_SLL2"),
        TcpdumpRecording(name: "tcpdump-any-sll", arguments: ["-i", "any", "-y", "LINUX_SLL"], linkType: "LINUX_SLL"),
        TcpdumpRecording(name: "tcpdump-lo", arguments: ["-i", "lo"], linkType: "EN10MB"),
    ]

    static let client = """
        import socket, sys
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        c.sendall(b"q" * 300000)
        n = 0
        while True:
            b = c.recv(65536)
            if not b: break
            n += len(b)
        c.close()
        print(n)
        """

    func record(to path: String) throws {
        let listener = try PeerListener(.ipv4)
        defer { listener.close() }
        let port = listener.address.port
        let capture = try RunningProgram(
            tcpdump!, arguments + ["-n", "-U", "--immediate-mode", "-s", "192", "-w", path, "tcp port \(port)"])
        try capture.waitForError(containing: "listening on", within: 10)
        let client = Thread.detachedResult { try? runProgram(python!, ["-c", Self.client, "\(port)"], within: 20) }
        let server = try listener.accept()
        let request = try server.read(limit: 300_000, within: .seconds(10))
        _ = try server.send([UInt8](repeating: 0x61, count: 1234))
        server.close()
        let answer = client.wait(within: 25)
        #expect(request.bytes.count == 300_000)
        #expect(answer??.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1234")
        // tcpdump writes each packet as it reads it (-U): wait until the file holds the whole ending.
        let deadline = Deadline(after: .seconds(10))
        while true {
            let facts = try? CaptureFile.analyze(path: path)
            if let connection = facts?.connections.first, connection.directions.allSatisfy({ $0.fin != nil }),
                connection.direction(.server).bytesAcknowledged == 1234, connection.direction(.client).bytesAcknowledged == 300_000
            {
                break
            }
            guard !deadline.hasPassed else { throw TestFailure("tcpdump's file did not show the whole exchange within 10 s") }
            var none: [pollfd] = []
            _ = poll(&none, 0, 10)  // the file gives no event to wait on; look again shortly
        }
        try capture.stop(within: 10)
    }

    func check(_ facts: CaptureFacts) {
        #expect(facts.linkType == linkType)
        #expect(facts.connections.count == 1)
        #expect(facts.skipped == [])
        guard let connection = facts.connections.first else { return }
        expectGraceful(connection, clientBytes: 300_000, serverBytes: 1234)
        #expect(connection.firstClose?.by == .server)
        #expect(connection.firstClose?.kind == .fin)
        #expect(connection.firstClose?.sequence == 1235)
    }
}

extension Thread {
    /// Runs `body` on a new thread; `wait(within:)` gives its result, or nil if it took longer.
    static func detachedResult<T: Sendable>(_ body: @escaping @Sendable () -> T) -> ThreadResult<T> {
        let result = ThreadResult<T>()
        detachNewThread {
            let value = body()
            result.condition.lock()
            result.value = value
            result.condition.broadcast()
            result.condition.unlock()
        }
        return result
    }
}

final class ThreadResult<T: Sendable>: @unchecked Sendable {
    let condition = NSCondition()
    var value: T?

    func wait(within seconds: TimeInterval) -> T? {
        condition.lock()
        defer { condition.unlock() }
        _ = condition.wait(until: Deadline(after: .milliseconds(Int64(seconds * 1000)))) { value != nil }
        return value
    }
}

@Suite struct Tcpdump {
    @Test(
        "teardown inspect reads tcpdump's own captures of an unrelated exchange correctly",
        .enabled(if: tcpdumpMissing == nil, Comment(rawValue: tcpdumpMissing ?? "")),
        arguments: TcpdumpRecording.all)
    func live(_ recording: TcpdumpRecording) throws {
        try withTemporaryDirectory { directory in
            let path = recordingDirectory.map { "\($0)/\(recording.name).pcap" } ?? directory.appendingPathComponent("r.pcap").path
            try recording.record(to: path)
            recording.check(try inspectJSON(path))
        }
    }

    @Test("The committed tcpdump captures show their exchange", arguments: TcpdumpRecording.all)
    func committed(_ recording: TcpdumpRecording) throws {
        let path = fixtureDirectory.appendingPathComponent("\(recording.name).pcap").path
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("\(path) is missing: record it with make fixtures")
            return
        }
        recording.check(try CaptureFile.analyze(path: path))
    }
}
