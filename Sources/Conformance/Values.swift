import Foundation
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

/// Reads values out of a YAML node tree, naming the file and line of anything it cannot use.
struct NodeReader {
    let file: String

    /// The text of the file, or an error naming it as `what`.
    func text(_ what: String) throws(CaseFileError) -> String {
        do {
            return try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw CaseFileError(SourceLocation(file: file, line: 0), "cannot read \(what): \(error.localizedDescription)")
        }
    }

    /// The root node of YAML text, nil for an empty document; a syntax error names its line.
    func compose(_ text: String) throws(CaseFileError) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch {
            if let yaml = error as? YamlError {
                switch yaml {
                case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
                    throw CaseFileError(SourceLocation(file: file, line: mark.line), "not valid YAML: \(problem)")
                default:
                    break
                }
            }
            throw CaseFileError(SourceLocation(file: file, line: 0), "not valid YAML: \(error)")
        }
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

    func integer(_ node: Node, _ what: String) throws(CaseFileError) -> Int {
        guard let value = Int(try string(node, what)) else { throw fail(node, "expected \(what) as a whole number") }
        return value
    }

    /// The node's text read by `parse`; anything it does not read is an error saying what was expected (`form`).
    func parsed<T>(_ node: Node, _ what: String, as form: String, _ parse: (String) -> T?) throws(CaseFileError) -> T {
        let text = try string(node, what)
        guard let value = parse(text) else { throw fail(node, "expected \(what) as \(form), not '\(text)'") }
        return value
    }

    /// A byte count: `65536`, `64KiB`, `4MiB`, `1GiB`.
    func size(_ node: Node, _ what: String) throws(CaseFileError) -> Int {
        try parsed(node, what, as: "a byte count such as 65536, 64KiB or 4MiB", Self.parseSize)
    }

    static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            return Int(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)).flatMap { $0 >= 0 ? $0 * factor : nil }
        }
        return Int(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// A duration: `250ms`, `1s`, `1.5s`.
    func duration(_ node: Node, _ what: String) throws(CaseFileError) -> Duration {
        try parsed(node, what, as: "a duration such as 250ms or 1s", Self.parseDuration)
    }

    static func parseDuration(_ text: String) -> Duration? {
        if text.hasSuffix("ms"), let value = Double(text.dropLast(2)), value >= 0 { return .milliseconds(value) }
        if text.hasSuffix("s"), let value = Double(text.dropLast()), value >= 0 { return .milliseconds(value * 1000) }
        return nil
    }
}

/// The display form of a byte count, as case ids and reports show it.
func sizeText(_ bytes: Int) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
    if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10)KiB" }
    return "\(bytes)"
}
