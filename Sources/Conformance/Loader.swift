import Foundation
import Harness
import ProviderInterface
import Yams

/// Reads case files: YAML, a matrix expanded into instances, every value checked, every error with file and line.
public enum CaseLoader {
    static let caseKeys: Set<String> = [
        "id", "title", "statements", "level", "requires", "why", "exclusive", "matrix", "setup", "peer", "steps", "faults", "expect",
    ]

    /// Loads every `*.yaml` file under `directory`, sorted by path; returns the cases and the errors of the files that failed.
    public static func loadDirectory(_ directory: String, statements: [Statement]) -> (cases: [Case], errors: [CaseFileError]) {
        let files =
            FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String }.filter {
                $0.hasSuffix(".yaml") || $0.hasSuffix(".yml")
            }.sorted() ?? []
        var cases: [Case] = []
        var errors: [CaseFileError] = []
        var seen: [String: SourceLocation] = [:]
        for file in files {
            let path = (directory as NSString).appendingPathComponent(file)
            do throws(CaseFileError) {
                let loaded = try load(path: path, statements: statements)
                if let earlier = seen[loaded.id] {
                    throw CaseFileError(loaded.location, "case id '\(loaded.id)' is already used by \(earlier)")
                }
                seen[loaded.id] = loaded.location
                cases.append(loaded)
            } catch {
                errors.append(error)
            }
        }
        if files.isEmpty {
            errors.append(CaseFileError(SourceLocation(file: directory, line: 0), "no case files (*.yaml) in this directory"))
        }
        return (cases, errors)
    }

    /// Loads one case file.
    public static func load(path: String, statements: [Statement]) throws(CaseFileError) -> Case {
        try parse(try NodeReader(file: path).text("the file"), file: path, statements: statements)
    }

    /// Parses the text of one case file.
    public static func parse(_ text: String, file: String, statements: [Statement]) throws(CaseFileError) -> Case {
        let reader = NodeReader(file: file)
        guard let root = try reader.compose(text) else {
            throw CaseFileError(SourceLocation(file: file, line: 1), "the file is empty; expected a case (id, title, statements, steps)")
        }
        let pairs = try reader.mapping(root, what: "a case", allowed: caseKeys)
        let fields = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        func required(_ key: String) throws(CaseFileError) -> Node {
            guard let node = fields[key] else { throw reader.fail(root, "the case has no '\(key)'") }
            return node
        }
        let id = try reader.string(try required("id"), "the case id")
        guard id.range(of: #"^[a-z0-9]+([.-][a-z0-9]+)*$"#, options: .regularExpression) != nil else {
            throw reader.fail(
                try required("id"), "expected the id as dotted lower-case words such as linger.abortive.queued-data, not '\(id)'")
        }
        let title = try reader.string(try required("title"), "the title")
        let statementsNode = try required("statements")
        let ids = try reader.strings(statementsNode, "the statement ids")
        guard !ids.isEmpty else { throw reader.fail(statementsNode, "expected at least one statement id") }
        var strongest = Level.info
        for statementID in ids {
            guard let statement = statements.first(where: { $0.id == statementID }) else {
                throw reader.fail(statementsNode, "unknown statement '\(statementID)'; SPEC.md's ids look like CLOSE-1 or LINGER-6")
            }
            strongest = max(strongest, statement.level)
        }
        let level = try fields["level"].map { node throws(CaseFileError) in try parseLevel(node, reader) } ?? strongest
        let (requires, requirementNames) =
            try fields["requires"].map { node throws(CaseFileError) in try parseRequires(node, reader) } ?? ([], [])
        let why = try fields["why"].map { node throws(CaseFileError) in try reader.string(node, "why") }
        let exclusive = try fields["exclusive"].map { node throws(CaseFileError) in try reader.bool(node, "exclusive") } ?? false
        let location = reader.location(root)
        let header = Header(
            id: id, title: title, statements: ids, level: level, requires: requires, requirementNames: requirementNames, why: why,
            exclusive: exclusive, location: location)
        let combinations = try matrix(fields["matrix"], reader)
        var instances: [CaseInstance] = []
        for combination in combinations {
            let substituted = try substitute(root, combination.flatMap(\.substitutions), reader)
            let parameters = combination.map { (name: $0.name, value: $0.display) }
            let instance = try InstanceParser(reader: reader, header: header, parameters: parameters).parse(substituted)
            try CaseCheck.check(instance, file: reader.file)
            instances.append(instance)
        }
        return Case(
            id: id, title: title, statements: ids, level: level, requires: requires, requirementNames: requirementNames, why: why,
            exclusive: exclusive, location: location, instances: instances)
    }

    static func parseLevel(_ node: Node, _ reader: NodeReader) throws(CaseFileError) -> Level {
        let text = try reader.string(node, "the level")
        guard let parsed = Level(rawValue: text) else {
            throw reader.fail(node, "expected the level as must, should or info, not '\(text)'")
        }
        return parsed
    }

    /// The capabilities `requires:` names, as a set and as written.
    static func parseRequires(_ node: Node, _ reader: NodeReader) throws(CaseFileError) -> (ProviderCapabilities, [String]) {
        var requires = ProviderCapabilities()
        var names: [String] = []
        for name in try reader.strings(node, "the required capabilities") {
            guard let capability = ProviderCapabilities.names.first(where: { $0.1 == name }) else {
                let known = ProviderCapabilities.names.map(\.1).joined(separator: ", ")
                throw reader.fail(node, "unknown capability '\(name)'; expected one of: \(known)")
            }
            requires.insert(capability.0)
            names.append(name)
        }
        return (requires, names)
    }

    /// The most instances one case's matrix may make.
    public static let maximumInstances = 10_000

    /// One value of a matrix parameter: how the instance id shows it, and what it substitutes.
    struct MatrixValue {
        var name: String
        var display: String
        var substitutions: [(name: String, value: String)]
    }

    /// The matrix's combinations, in the order its parameters and values are written. A value is a scalar
    /// (`$name`), or a mapping whose first entry names the instance and whose entries are `$name.key`.
    static func matrix(_ node: Node?, _ reader: NodeReader) throws(CaseFileError) -> [[MatrixValue]] {
        guard let node else { return [[]] }
        let parameters = try reader.mapping(node, what: "the matrix")
        // The product first, with checked arithmetic: a matrix too large to expand is refused before it is.
        var product = 1
        for (name, valuesNode) in parameters {
            guard let items = valuesNode.sequence, !items.isEmpty else {
                throw reader.fail(valuesNode, "expected the values of matrix parameter '\(name)' as a non-empty list")
            }
            let (next, overflow) = product.multipliedReportingOverflow(by: items.count)
            guard !overflow, next <= maximumInstances else {
                throw reader.fail(
                    node, "the matrix makes more than \(maximumInstances) instances (the most one case may have); split the case")
            }
            product = next
        }
        var combinations: [[MatrixValue]] = [[]]
        for (name, valuesNode) in parameters {
            let items = valuesNode.sequence ?? []
            var values: [MatrixValue] = []
            for item in items {
                if item.mapping != nil {
                    let pairs = try reader.mapping(item, what: "a value of matrix parameter '\(name)'")
                    var substitutions: [(name: String, value: String)] = []
                    for (key, value) in pairs { substitutions.append(("\(name).\(key)", try reader.string(value, "\(name).\(key)"))) }
                    values.append(MatrixValue(name: name, display: substitutions.first?.value ?? "", substitutions: substitutions))
                } else {
                    let text = try reader.string(item, "a value of matrix parameter '\(name)'")
                    values.append(MatrixValue(name: name, display: text, substitutions: [(name, text)]))
                }
            }
            combinations = combinations.flatMap { combination in values.map { combination + [$0] } }
        }
        return combinations
    }

    /// Replaces `$name` and `${name}` in every scalar with the matrix values, keeping the line numbers.
    static func substitute(_ node: Node, _ parameters: [(name: String, value: String)], _ reader: NodeReader) throws(CaseFileError) -> Node
    {
        switch node {
        case .scalar(let scalar):
            guard scalar.string.contains("$") else { return node }
            var text = scalar.string
            for (name, value) in parameters.sorted(by: { $0.name.count > $1.name.count }) {
                text = text.replacingOccurrences(of: "${\(name)}", with: value).replacingOccurrences(of: "$\(name)", with: value)
            }
            if let range = text.range(of: #"\$\{?[A-Za-z][A-Za-z0-9.-]*"#, options: .regularExpression) {
                throw reader.fail(node, "'\(text[range])' is not a matrix parameter of this case")
            }
            return .scalar(Node.Scalar(text, scalar.tag, scalar.style, scalar.mark))
        case .mapping(let mapping):
            var pairs: [(Node, Node)] = []
            for (key, value) in mapping { pairs.append((key, try substitute(value, parameters, reader))) }
            return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
        case .sequence(let sequence):
            var items: [Node] = []
            for item in sequence { items.append(try substitute(item, parameters, reader)) }
            return .sequence(Node.Sequence(items, sequence.tag, sequence.style, sequence.mark))
        case .alias:
            return node
        }
    }

    /// Loads the statements file (`conformance/statements.yaml`).
    public static func loadStatements(path: String) throws(CaseFileError) -> [Statement] {
        let reader = NodeReader(file: path)
        let root = try reader.document("the statements", expecting: "a list under 'statements'")
        let top = Dictionary(
            try reader.mapping(root, what: "the statements file", allowed: ["statements"]), uniquingKeysWith: { a, _ in a })
        guard let list = top["statements"]?.sequence else { throw reader.fail(root, "expected a list under 'statements'") }
        var statements: [Statement] = []
        for item in list {
            let fields = Dictionary(
                try reader.mapping(item, what: "a statement", allowed: ["id", "level", "text"]), uniquingKeysWith: { a, _ in a })
            guard let id = fields["id"], let level = fields["level"], let text = fields["text"] else {
                throw reader.fail(item, "a statement needs id, level and text")
            }
            let levelText = try reader.string(level, "the level")
            guard let parsed = Level(rawValue: levelText) else { throw reader.fail(level, "expected must, should or info") }
            statements.append(Statement(id: try reader.string(id, "the id"), level: parsed, text: try reader.string(text, "the text")))
        }
        return statements
    }
}

/// The parts of a case every instance shares.
struct Header {
    var id: String
    var title: String
    var statements: [String]
    var level: Level
    var requires: ProviderCapabilities
    var requirementNames: [String]
    var why: String?
    var exclusive: Bool
    var location: SourceLocation
}
