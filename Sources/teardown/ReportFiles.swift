import ArgumentParser
import Conformance
import Foundation
import Reporting

/// The report files `teardown run` and `teardown merge` write besides their console summary.
struct ReportFiles: ParsableArguments {
    @Option(help: "Write the results as JSON here (format teardown-run/1); - for standard output.")
    var json: String?

    @Option(help: "Write JUnit XML here; - for standard output.")
    var junit: String?

    @Option(
        help:
            "Write the HTML report here; - for standard output (teardown run always writes report.html into its report directory too)."
    )
    var html: String?

    /// Every path given, each checked and made ready (its directories created) before anything runs.
    /// - Throws: `CommandFailure` with exit 64 for a path that can never be a report, 2 for one this machine refuses.
    func prepare() throws(CommandFailure) -> PreparedReports {
        let given = [("--json", json), ("--junit", junit), ("--html", html)].compactMap { option, path in path.map { (option, $0) } }
        let toStandardOutput = given.filter { $0.1 == "-" }.map(\.0)
        guard toStandardOutput.count <= 1 else {
            throw CommandFailure("only one report can go to standard output; \(toStandardOutput.joined(separator: " and ")) both name -")
        }
        var prepared = PreparedReports()
        for (option, path) in given {
            let destination = try ReportDestination.prepare(path, option: option)
            switch option {
            case "--json": prepared.json = destination
            case "--junit": prepared.junit = destination
            default: prepared.html = destination
            }
        }
        return prepared
    }
}

/// The report destinations of one command, ready to be written at its end.
struct PreparedReports {
    var json: ReportDestination?
    var junit: ReportDestination?
    var html: ReportDestination?

    /// Whether a report goes to standard output, so that the console summary must go to standard error.
    var usesStandardOutput: Bool { [json, junit, html].contains { $0?.isStandardOutput == true } }

    /// Writes the files asked for and, when there is a report directory, its results.json and report.html.
    func write(_ report: RunReport, statements: [Statement], cases: [Case], directory: String?) throws(CommandFailure) {
        let jsonText: String
        do {
            jsonText = try stableJSON(report)
        } catch {
            throw CommandFailure("cannot encode the results: \(error)", code: 2)
        }
        if let directory { try ReportDestination.file("\(directory)/results.json").write(jsonText) }
        try json?.write(jsonText)
        try junit?.write(JUnitReport.render(report))
        let htmlDestinations = (directory.map { [ReportDestination.file("\($0)/report.html")] } ?? []) + (html.map { [$0] } ?? [])
        guard !htmlDestinations.isEmpty else { return }
        for destination in htmlDestinations {
            try destination.write(
                HTMLReport.render(report, statements: statements, cases: cases, location: destination.location))
        }
    }
}

/// Where one report goes. A regular file or a new path is written atomically (a new file renamed over the
/// old); a symbolic link is followed, so its target is written and the link stays; a FIFO or a character
/// device is written as a stream, never replaced; `-` is standard output.
enum ReportDestination: Equatable {
    case standardOutput
    /// A regular file or a new path (links already followed): written atomically.
    case file(String)
    /// A FIFO or a character device: opened and written in place.
    case stream(String)

    var isStandardOutput: Bool { self == .standardOutput }

    /// The path the report's relative links start from.
    var location: String {
        switch self {
        case .standardOutput: "./report"
        case .file(let path), .stream(let path): path
        }
    }

    /// Checks `path` before anything runs: follows its links, creates its missing directories, and makes sure
    /// a file can be written there.
    /// - Throws: `CommandFailure`: 64 for a directory, a socket, a block device or a link loop; 2 when the
    ///   directory cannot be created or written.
    static func prepare(_ path: String, option: String) throws(CommandFailure) -> ReportDestination {
        if path == "-" { return .standardOutput }
        guard !path.isEmpty else { throw CommandFailure("\(option) needs a path, or - for standard output") }
        let target = try followLinks(path, option: option)
        var status = stat()
        guard lstat(target, &status) == 0 else {
            let reason = errno
            guard reason == ENOENT else {
                throw CommandFailure("\(option) \(path): cannot examine \(target): \(String(cString: strerror(reason)))", code: 2)
            }
            try makeWritableDirectory(URL(fileURLWithPath: target).deletingLastPathComponent().path, for: path, option: option)
            return .file(target)
        }
        let named = target == path ? path : "\(path) (a link to \(target))"
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            try makeWritableDirectory(URL(fileURLWithPath: target).deletingLastPathComponent().path, for: path, option: option)
            return .file(target)
        case S_IFIFO, S_IFCHR:
            return .stream(target)
        case S_IFDIR:
            throw CommandFailure("\(option) \(named) is a directory; name a file in it, such as \(path)/report\(suffix(option))")
        case S_IFBLK:
            throw CommandFailure("\(option) \(named) is a block device; Teardown does not write reports over devices")
        default:
            throw CommandFailure(
                "\(option) \(named) is a socket; name a regular file, a FIFO, a character device, or - for standard output")
        }
    }

    /// Writes `text` to the destination, or throws saying why it could not (exit 2).
    func write(_ text: String) throws(CommandFailure) {
        switch self {
        case .standardOutput:
            FileHandle.standardOutput.write(Data(text.utf8))
        case .file(let path):
            do {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure("cannot write \(path): \(describe(error))", code: 2)
            }
        case .stream(let path):
            try writeStream(text, to: path)
        }
    }

    /// A FIFO or device opened for writing without ever truncating it. Opening a FIFO waits for a reader,
    /// at most ten seconds.
    private func writeStream(_ text: String, to path: String) throws(CommandFailure) {
        let deadline = Date().addingTimeInterval(10)
        var descriptor: Int32 = -1
        while true {
            descriptor = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if descriptor >= 0 { break }
            let reason = errno
            guard reason == ENXIO, Date() < deadline else {
                throw CommandFailure(
                    "cannot write \(path): "
                        + (reason == ENXIO ? "no process read the FIFO within 10 s" : String(cString: strerror(reason))), code: 2)
            }
            var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000)
            nanosleep(&pause, nil)  // no event tells that a reader opened the FIFO: poll for it, bounded
        }
        defer { close(descriptor) }
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK)
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CommandFailure("cannot write \(path): \(String(cString: strerror(errno)))", code: 2)
            }
            written += count
        }
    }

    /// The path a chain of symbolic links ends at (the path itself when it is no link).
    private static func followLinks(_ path: String, option: String) throws(CommandFailure) -> String {
        var current = path
        for _ in 0..<40 {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return current }
            current =
                target.hasPrefix("/")
                ? target : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(target).path
        }
        throw CommandFailure("\(option) \(path): too many levels of symbolic links")
    }

    /// Creates `directory` and its parents when missing, then proves a file can be created in it.
    private static func makeWritableDirectory(_ directory: String, for path: String, option: String) throws(CommandFailure) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("\(option) \(path): cannot create the directory \(directory): \(describe(error))", code: 2)
        }
        let probe = "\(directory)/.teardown-probe-\(getpid())"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CommandFailure("\(option) \(path): cannot write in \(directory): \(String(cString: strerror(errno)))", code: 2)
        }
        close(descriptor)
        unlink(probe)
    }

    private static func suffix(_ option: String) -> String {
        switch option {
        case "--json": ".json"
        case "--junit": ".xml"
        default: ".html"
        }
    }
}

/// A Foundation error's reason in words (its POSIX error's words where it has one), never its domain and code.
func describe(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
    return nsError.localizedDescription
}

/// The results of a run from its results.json (or --json file).
/// - Throws: `CommandFailure` (exit 2) saying why it could not be read.
func readReport(_ path: String) throws(CommandFailure) -> RunReport {
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw CommandFailure("cannot read \(path): \(describe(error))", code: 2)
    }
    do {
        return try JSONDecoder().decode(RunReport.self, from: data)
    } catch {
        throw CommandFailure("\(path) is not the JSON results of teardown run", code: 2)
    }
}
