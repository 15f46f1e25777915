import Basics
import Foundation
import Harness
import Yams

/// An error in a case, expectations or statements file: where, and what was expected.
public struct CaseFileError: Error, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// Reads a whole file as bytes: a regular file, or a FIFO or device as a stream with a deadline.
enum FileBytes {
    struct Failure: Error {
        let reason: String
    }

    static func read(_ path: String, limit: Duration) throws(Failure) -> [UInt8] {
        var status = stat()
        guard stat(path, &status) == 0 else { throw Failure(reason: String(cString: strerror(errno))) }
        if status.st_mode & S_IFMT == S_IFDIR { throw Failure(reason: "it is a directory") }
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let deadline = Deadline(after: limit)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += chunk[..<count]
                guard bytes.count <= 64 << 20 else { throw Failure(reason: "it is larger than 64 MiB") }
                continue
            }
            if count == 0 { return bytes }
            let reason = errno
            if reason == EINTR { continue }
            guard reason == EAGAIN else { throw Failure(reason: String(cString: strerror(reason))) }
            // A FIFO with a writer and nothing yet to read: wait for data or its end, until the deadline.
            guard !deadline.hasPassed else { throw Failure(reason: "nothing arrived within \(limit)") }
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&waiting, 1, deadline.remainingMilliseconds)
        }
    }
}

/// Reads values out of a YAML node tree, naming the file and line of anything it cannot use.
struct NodeReader {
    let file: String

    /// The text of the file, or an error naming it as `what`: a directory, a file that is not UTF-8 (at the
    /// line of the first bad byte), or one that cannot be read, each said in words. A FIFO or a device is read as a
    /// stream, for ten seconds at the most.
    func text(_ what: String) throws(CaseFileError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(file, limit: .seconds(10))
        } catch {
            throw CaseFileError(SourceLocation(file: file, line: 0), "cannot read \(what): \(error.reason)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            var decoder = UTF8()
            var iterator = bytes.makeIterator()
            var valid = 0
            while case .scalarValue(let scalar) = decoder.decode(&iterator) { valid += UTF8.width(scalar) }
            throw CaseFileError(
                SourceLocation(file: file, line: Self.line(atOffset: valid, in: bytes)),
                "\(what) is not UTF-8 text (a bad byte at offset \(valid))")
        }
        return text
    }

    /// The root node of YAML text, nil for an empty document; a syntax error names its line.
    func compose(_ text: String) throws(CaseFileError) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch {
            guard let yaml = error as? YamlError else {
                throw CaseFileError(SourceLocation(file: file, line: 0), "not valid YAML: \(error)")
            }
            switch yaml {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                let words = problem.contains("another document") ? "a second YAML document; a file holds one" : problem
                throw CaseFileError(SourceLocation(file: file, line: mark.line), "not valid YAML: \(words)")
            case .reader(let problem, let offset, _, _):
                let line = offset.map { Self.line(atOffset: $0, in: text.utf8) } ?? 0
                throw CaseFileError(SourceLocation(file: file, line: line), "not valid YAML: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                let key = duplicates.first ?? "?"
                throw CaseFileError(
                    SourceLocation(file: file, line: Self.secondLine(of: key, in: text, from: context.mark.line)),
                    "'\(key)' appears twice in one mapping")
            default:
                throw CaseFileError(SourceLocation(file: file, line: 0), "not valid YAML: \(yaml)")
            }
        }
    }

    /// The 1-based line that the byte at `offset` of `bytes` stands on.
    static func line<Bytes: Collection<UInt8>>(atOffset offset: Int, in bytes: Bytes) -> Int {
        bytes.prefix(offset).reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
    }

    /// The line of the second `key:` at or after line `start`, or `start` when it cannot be told.
    static func secondLine(of key: String, in text: String, from start: Int) -> Int {
        var seen = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where index + 1 >= start {
            var rest = line.drop { $0 == " " }
            if rest.hasPrefix("- ") { rest = rest.dropFirst(2).drop { $0 == " " } }
            guard rest.hasPrefix(key) else { continue }
            if rest.dropFirst(key.count).drop(while: { $0 == " " }).hasPrefix(":") {
                seen += 1
                if seen == 2 { return index + 1 }
            }
        }
        return start
    }

    /// The root node of the file; an empty file is an error saying what it should hold.
    func document(_ what: String, expecting contents: String) throws(CaseFileError) -> Node {
        guard let root = try compose(try text(what)) else {
            throw CaseFileError(SourceLocation(file: file, line: 1), "the file is empty; expected \(contents)")
        }
        return root
    }

    func location(_ node: Node) -> SourceLocation { SourceLocation(file: file, line: node.mark?.line ?? 0) }

    func fail(_ node: Node, _ message: String) -> CaseFileError { CaseFileError(location(node), message) }

    /// The pairs of a mapping, rejecting keys that are not in `allowed`.
    func mapping(_ node: Node, what: String, allowed: Set<String>? = nil) throws(CaseFileError) -> [(String, Node)] {
        guard let mapping = node.mapping else { throw fail(node, "expected \(what) as a mapping (key: value lines)") }
        var pairs: [(String, Node)] = []
        var seen: Set<String> = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw fail(key, "expected a plain key in \(what)") }
            if let allowed, !allowed.contains(name) {
                throw fail(key, "unknown key '\(name)' in \(what); expected one of: \(allowed.sorted().joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw fail(key, "'\(name)' appears twice in \(what)") }
            pairs.append((name, value))
        }
        return pairs
    }

    func string(_ node: Node, _ what: String) throws(CaseFileError) -> String {
        guard let scalar = node.scalar else { throw fail(node, "expected \(what) as a single value") }
        return scalar.string
    }

    func strings(_ node: Node, _ what: String) throws(CaseFileError) -> [String] {
        if node.scalar != nil { return [try string(node, what)] }
        guard let sequence = node.sequence else { throw fail(node, "expected \(what) as a list") }
        var values: [String] = []
        for item in sequence { values.append(try string(item, what)) }
        return values
    }

    func bool(_ node: Node, _ what: String) throws(CaseFileError) -> Bool {
        switch try string(node, what).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(node, "expected \(what) as true or false")
        }
    }

    /// A whole number within `range`; the message names the range.
    func integer(_ node: Node, _ what: String, in range: ClosedRange<Int>) throws(CaseFileError) -> Int {
        let text = try string(node, what)
        guard let value = Int(text), range.contains(value) else {
            throw fail(node, "expected \(what) as a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }

    /// The node's text read by `parse`; anything it does not read is an error saying what was expected (`form`).
    func parsed<T>(_ node: Node, _ what: String, as form: String, _ parse: (String) -> T?) throws(CaseFileError) -> T {
        let text = try string(node, what)
        guard let value = parse(text) else { throw fail(node, "expected \(what) as \(form), not '\(text)'") }
        return value
    }

    /// The largest byte count a case or a plan may name.
    static let maximumSize = 1 << 34

    /// A byte count: `65536`, `64KiB`, `4MiB`, `1GiB`, from 0 to 16GiB.
    func size(_ node: Node, _ what: String) throws(CaseFileError) -> Int {
        try parsed(node, what, as: "a byte count from 0 to 16GiB, such as 65536, 64KiB or 4MiB", Self.parseSize)
    }

    /// A byte count within 0...`maximumSize`, nil for anything else (an overflow included).
    static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
        var number = Substring(text)
        var factor = 1
        if let (suffix, unit) = units.first(where: { text.hasSuffix($0.0) }) {
            number = text.dropLast(suffix.count)
            factor = unit
        }
        guard let count = Int(number.trimmingCharacters(in: .whitespaces)), count >= 0 else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: factor)
        return !overflow && bytes <= maximumSize ? bytes : nil
    }

    /// The longest duration a case or a plan may name.
    static let maximumDuration = Duration.seconds(3600)

    /// A duration: `250ms`, `1s`, `1.5s`, from 0 to 3600s.
    func duration(_ node: Node, _ what: String) throws(CaseFileError) -> Duration {
        try parsed(node, what, as: "a duration from 0 to 3600s, such as 250ms or 1s", Self.parseDuration)
    }

    /// A finite duration within 0...`maximumDuration`, nil for anything else (inf, nan, 1e300s).
    static func parseDuration(_ text: String) -> Duration? {
        let milliseconds: Double
        if text.hasSuffix("ms"), let value = Double(text.dropLast(2)) {
            milliseconds = value
        } else if text.hasSuffix("s"), let value = Double(text.dropLast()) {
            milliseconds = value * 1000
        } else {
            return nil
        }
        let most = Double(maximumDuration.components.seconds) * 1000
        guard milliseconds.isFinite, milliseconds >= 0, milliseconds <= most else { return nil }
        return .milliseconds(milliseconds)
    }
}

/// The display form of a byte count, as case ids and reports show it.
public func sizeText(_ bytes: Int) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
    if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10)KiB" }
    return "\(bytes)"
}
