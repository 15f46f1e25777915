import Foundation

/// SPEC.md as the tool reads it: each statement with the section it stands in, so that
/// `teardown explain STATEMENT-ID` can give the statement, why it is there, and the cases that check it.
///
/// A statement is a list item `- **ID (MUST|SHOULD)** text`, its text running on over the indented lines that
/// follow; a section is a `## ` heading and the paragraphs before its first statement.
public struct Specification: Sendable {
    public struct Entry: Sendable, Equatable {
        public var statement: Statement
        /// The heading of the section it stands in ("CLOSE: releasing a handle").
        public var section: String
        /// The section's words before its statements: the context every statement of the section shares.
        public var context: String
        /// The line of SPEC.md the statement starts on.
        public var line: Int
    }

    public var entries: [Entry]

    /// Reads SPEC.md.
    /// - Throws: `CaseFileError` when the file cannot be read or holds no statement.
    public static func load(path: String) throws(CaseFileError) -> Specification {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CaseFileError(SourceLocation(file: path, line: 0), "cannot read the statements: \(error.localizedDescription)")
        }
        let specification = parse(text)
        guard !specification.entries.isEmpty else {
            throw CaseFileError(SourceLocation(file: path, line: 1), "no statement of the form '- **ID (MUST)** text' in it")
        }
        return specification
    }

    public static func parse(_ text: String) -> Specification {
        var entries: [Entry] = []
        var section = ""
        var context: [String] = []
        var current: Entry?
        func finish() {
            if let entry = current { entries.append(entry) }
            current = nil
        }
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            if line.hasPrefix("## ") {
                finish()
                section = String(line.dropFirst(3))
                context = []
            } else if let (id, level, first) = statementStart(line) {
                finish()
                current = Entry(
                    statement: Statement(id: id, level: level, text: first), section: section,
                    context: context.joined(separator: " ").trimmingCharacters(in: .whitespaces), line: index + 1)
            } else if current != nil, line.hasPrefix("  "), !line.trimmingCharacters(in: .whitespaces).isEmpty {
                current!.statement.text += " " + line.trimmingCharacters(in: .whitespaces)
            } else {
                finish()
                if entries.last?.section != section, !line.hasPrefix("#") { context.append(line) }
            }
        }
        finish()
        return Specification(entries: entries)
    }

    /// `- **CLOSE-1 (MUST)** text` as its id, level and first line of text.
    static func statementStart(_ line: String) -> (String, Level, String)? {
        guard line.hasPrefix("- **"), let close = line.range(of: ")** ") else { return nil }
        let head = line[line.index(line.startIndex, offsetBy: 4)..<close.lowerBound]
        let parts = head.split(separator: " (")
        guard parts.count == 2, let level = Level(rawValue: parts[1].lowercased()), level != .info else { return nil }
        return (String(parts[0]), level, String(line[close.upperBound...]))
    }

    /// The statement `id` names, whatever its case.
    public func entry(_ id: String) -> Entry? { entries.first { $0.statement.id.caseInsensitiveCompare(id) == .orderedSame } }

    /// A statement in words: its id and level, what it says, the context of its section, and the cases that
    /// check it (with how many instances each).
    public func explain(_ entry: Entry, cases: [Case], file: String) -> String {
        let statement = entry.statement
        var lines = [
            "\(statement.id) (\(statement.level.rawValue.uppercased())): \(entry.section)", "  \(file):\(entry.line)", "",
            statement.text,
        ]
        if !entry.context.isEmpty { lines += ["", "Context: \(entry.context)"] }
        lines.append("")
        lines.append(
            statement.level == .must
                ? "A case that shows it violated fails (verdict fail, exit 1)."
                : "A case that shows it violated is non-strict (a SHOULD: reported, the run stays conformant).")
        let checking = cases.filter { $0.statements.contains(statement.id) }
        if checking.isEmpty {
            lines += ["", "No case checks it."]
        } else {
            let instances = checking.reduce(0) { $0 + $1.instances.count }
            lines += [
                "",
                "Checked by \(checking.count) case\(checking.count == 1 ? "" : "s") (\(instances) instance\(instances == 1 ? "" : "s")):",
            ]
            let width = checking.map(\.id.count).max() ?? 0
            for item in checking {
                lines.append("  \(item.id.padding(toLength: width, withPad: " ", startingAt: 0))  \(item.title)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
