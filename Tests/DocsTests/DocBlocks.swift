import Foundation

/// A fenced block of a Markdown document, with the doc-test marker written just before it.
///
/// Markers (an HTML comment on the line before the fence, so they do not show when the page is read):
/// - `<!-- doc-test: syntax-only (why) -->`: the commands are not run (minutes long, or they build the
///   package); they are checked for syntax instead (bash parses them, make knows the targets, teardown
///   knows the subcommands and options).
/// - `<!-- doc-test: exit N -->`: the commands must end with exit code N (default 0).
/// - `<!-- doc-test: file PATH -->`: a YAML block written into the checkout at PATH (a case the guide's
///   next commands use), and loaded as a case.
/// - `<!-- doc-test: output-of COMMAND -->`: a block of output that COMMAND must print.
/// - `<!-- doc-test: not-run (why) -->`: an output block of a command too long for the tests.
/// - `<!-- doc-test: fragment -->`: a YAML block that is part of a larger file: parsed only.
struct DocBlock: CustomStringConvertible {
    var file: String
    /// The line of the opening fence.
    var line: Int
    var info: String
    var lines: [String]
    var marker: Marker

    enum Marker: Equatable {
        case none
        case syntaxOnly(String)
        case exit(Int32)
        case file(String)
        case outputOf(String)
        case notRun(String)
        case fragment
    }

    var description: String { "\(file):\(line)" }

    /// The commands of a shell block, continuation lines joined, comments and blank lines left out.
    var shellCommands: [String] {
        var commands: [String] = []
        var pending = ""
        for raw in lines {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if pending.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if line.hasSuffix("\\") {
                pending += String(line.dropLast()) + " "
                continue
            }
            commands.append(pending + line)
            pending = ""
        }
        return commands
    }

    /// For a block of `$ command` lines each followed by its output: the pairs.
    var transcript: [(command: String, output: [String])] {
        var pairs: [(String, [String])] = []
        for line in lines {
            if line.hasPrefix("$ ") {
                pairs.append((String(line.dropFirst(2)), []))
            } else if !pairs.isEmpty {
                pairs[pairs.count - 1].1.append(line)
            }
        }
        return pairs
    }

    /// Every fenced block of `path` (relative to `root`).
    static func read(_ path: String, root: URL) throws -> [DocBlock] {
        let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
        var blocks: [DocBlock] = []
        var current: DocBlock?
        var previous = ""
        for (index, line) in text.components(separatedBy: "\n").enumerated() {
            if line.hasPrefix("```") {
                if let block = current {
                    blocks.append(block)
                    current = nil
                } else {
                    current = DocBlock(
                        file: path, line: index + 1, info: String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces),
                        lines: [], marker: try marker(previous, at: "\(path):\(index)"))
                }
            } else if current != nil {
                current!.lines.append(line)
            }
            if !line.trimmingCharacters(in: .whitespaces).isEmpty { previous = line }
        }
        return blocks
    }

    static func marker(_ line: String, at place: String) throws -> Marker {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("<!-- doc-test:"), trimmed.hasSuffix("-->") else { return .none }
        let body = trimmed.dropFirst("<!-- doc-test:".count).dropLast(3).trimmingCharacters(in: .whitespaces)
        let (word, rest) =
            body.firstIndex(of: " ").map { (String(body[..<$0]), String(body[$0...]).trimmingCharacters(in: .whitespaces)) }
            ?? (body, "")
        switch word {
        case "syntax-only" where !rest.isEmpty: return .syntaxOnly(rest)
        case "not-run" where !rest.isEmpty: return .notRun(rest)
        case "exit": if let code = Int32(rest) { return .exit(code) }
        case "file" where !rest.isEmpty: return .file(rest)
        case "output-of" where !rest.isEmpty: return .outputOf(rest)
        case "fragment": return .fragment
        default: break
        }
        throw DocFailure(
            "\(place): a doc-test marker is syntax-only (why), not-run (why), exit N, file PATH, output-of COMMAND or fragment, not '\(body)'"
        )
    }
}

struct DocFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Output as the docs may show it: what differs from run to run (times, ports, run directories) replaced by
/// placeholders, runs of spaces and of dashes folded, so that columns and ladders whose width follows a
/// number still compare.
func normalized(_ line: String) -> String {
    var text = line
    let rules: [(String, String)] = [
        (#"\d{8}-\d{6}"#, "<stamp>"),
        (#"(\d+\.\d+\.\d+\.\d+):\d+"#, "$1:<port>"),
        (#"\[([0-9a-fA-F:]+)\]:\d+"#, "[$1]:<port>"),
        (#"-?\d+(\.\d+)? ?(ms|s)\b"#, "<time>"),
        (#""(captureStart|time|firstData|lastData|start|end)" : -?[0-9.eE+-]+"#, "\"$1\" : <time>"),
        (#"-{2,}"#, "--"),
        (#" {2,}"#, " "),
    ]
    for (pattern, template) in rules {
        text = text.replacingOccurrences(of: pattern, with: template, options: .regularExpression)
    }
    return text.trimmingCharacters(in: .whitespaces)
}

/// Whether `actual` is what `expected` shows: line by line after `normalized`, where a line `...` in the
/// example stands for any number of lines.
func matches(expected: [String], actual: [String]) -> Bool {
    let want = expected.map(normalized)
    let have = actual.map(normalized)
    // memo[i][j]: want[i...] matches have[j...]
    var memo: [[Bool?]] = Array(repeating: Array(repeating: nil, count: have.count + 1), count: want.count + 1)
    func match(_ i: Int, _ j: Int) -> Bool {
        if let known = memo[i][j] { return known }
        let result: Bool
        if i == want.count {
            result = have[j...].allSatisfy(\.isEmpty)
        } else if want[i] == "..." {
            result = match(i + 1, j) || (j < have.count && match(i, j + 1))
        } else if j < have.count && want[i] == have[j] {
            result = match(i + 1, j + 1)
        } else if want[i].isEmpty {
            result = match(i + 1, j)
        } else {
            result = false
        }
        memo[i][j] = result
        return result
    }
    return match(0, 0)
}

/// The first line where `actual` parts from `expected`, for the failure message.
func firstDifference(expected: [String], actual: [String]) -> String {
    let want = expected.map(normalized).filter { !$0.isEmpty && $0 != "..." }
    let have = Set(actual.map(normalized))
    if let missing = want.first(where: { !have.contains($0) }) { return "no line like: \(missing)" }
    return "the lines are there, in another order or with lines between them that the example does not allow"
}
