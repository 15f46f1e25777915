public import FaultInjection
import Foundation
import ProviderInterface
import Yams

/// Reads fault plans: the `faults:` of a case, or a file given to `teardown run --faults`.
///
/// ```yaml
/// - match: receive          # a glob over operation names
///   handle: s               # optional: the handle's name in the case
///   when: {nth: 2}          # always (default), once, {nth: N}, {from: A, to: B, step: C}, {probability: P}
///   delay-entry: 2s         # one action: delay-entry, delay-exit, fail, short, hold, close
/// ```
public enum FaultPlanLoader {
    static let actions = ["delay-entry", "delay-exit", "fail", "short", "hold", "close"]

    /// Loads a plan file: a list of rules, or a mapping with `faults:`.
    public static func load(path: String) throws(CaseFileError) -> FaultPlan {
        let reader = NodeReader(file: path)
        guard let root = try reader.compose(try reader.text("the fault plan")) else { return FaultPlan() }
        if root.mapping != nil {
            let fields = Dictionary(try reader.mapping(root, what: "a fault plan", allowed: ["faults"]), uniquingKeysWith: { a, _ in a })
            return try parse(fields["faults"], reader)
        }
        return try parse(root, reader)
    }

    /// Parses a list of rules; nil or an empty list is the empty plan.
    static func parse(_ node: Node?, _ reader: NodeReader) throws(CaseFileError) -> FaultPlan {
        guard let node, node.null == nil else { return FaultPlan() }
        guard let items = node.sequence else {
            throw reader.fail(node, "expected the fault plan as a list of rules (- match: OPERATION ...)")
        }
        var rules: [FaultRule] = []
        for item in items { rules.append(try rule(item, reader)) }
        return FaultPlan(rules: rules)
    }

    static func rule(_ node: Node, _ reader: NodeReader) throws(CaseFileError) -> FaultRule {
        let pairs = try reader.mapping(node, what: "a fault rule", allowed: Set(["match", "handle", "when"] + actions))
        let fields = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        guard let matchNode = fields["match"] else {
            throw reader.fail(node, "a fault rule needs 'match: OPERATION' (a glob such as send, recv*, *)")
        }
        let pattern = try reader.string(matchNode, "the operations")
        let matched = FaultOperation.allCases.filter { fnmatch(pattern, $0.rawValue, 0) == 0 }
        guard !matched.isEmpty else {
            let known = FaultOperation.allCases.map(\.rawValue).joined(separator: ", ")
            throw reader.fail(matchNode, "'\(pattern)' matches no operation; the operations are: \(known)")
        }
        let chosen = pairs.filter { actions.contains($0.0) }
        guard chosen.count == 1, let (actionName, value) = chosen.first else {
            throw reader.fail(node, "a fault rule needs exactly one action: \(actions.joined(separator: ", "))")
        }
        let action: FaultRule.Action
        switch actionName {
        case "delay-entry": action = .delayOnEntry(try reader.duration(value, "the delay"))
        case "delay-exit": action = .delayOnExit(try reader.duration(value, "the delay"))
        case "fail":
            let name = try reader.string(value, "the error")
            guard let error = SocketError(name: name) else {
                throw reader.fail(value, "'\(name)' is not a named error such as connectionReset")
            }
            for operation in matched where !operation.possibleErrors.contains(error) {
                let possible = operation.possibleErrors.map(\.name).sorted().joined(separator: ", ")
                throw reader.fail(value, "\(operation.rawValue) cannot return \(name); it can return: \(possible)")
            }
            action = .fail(error)
        case "short":
            for operation in matched where !operation.transfers {
                throw reader.fail(value, "'short' makes a send or a receive transfer fewer bytes; \(operation.rawValue) transfers none")
            }
            action = .short(try reader.size(value, "the most bytes to transfer"))
        case "hold": action = .hold(gate: try reader.string(value, "the gate's name"))
        default:
            if value.mapping != nil {
                let fields = Dictionary(try reader.mapping(value, what: "close", allowed: ["after-bytes"]), uniquingKeysWith: { a, _ in a })
                guard let bytes = fields["after-bytes"] else { throw reader.fail(value, "expected 'close: {after-bytes: SIZE}'") }
                for operation in matched where operation != .send {
                    throw reader.fail(
                        value, "'close: {after-bytes: N}' counts the bytes sends accept; it cannot match \(operation.rawValue)")
                }
                action = .closeAfterBytes(try reader.size(bytes, "the bytes after which to close"))
            } else {
                let text = try reader.string(value, "when to close")
                guard text == "while-pending" else {
                    throw reader.fail(value, "expected 'close: while-pending' or 'close: {after-bytes: SIZE}', not '\(text)'")
                }
                action = .closeWhilePending
            }
        }
        var when = FaultRule.When.always
        if let whenNode = fields["when"] { when = try parseWhen(whenNode, reader) }
        let handle = try fields["handle"].map { node throws(CaseFileError) in try reader.string(node, "the handle") }
        return FaultRule(operations: pattern, handle: handle, when: when, action: action, source: reader.location(node).description)
    }

    static func parseWhen(_ node: Node, _ reader: NodeReader) throws(CaseFileError) -> FaultRule.When {
        if node.scalar != nil {
            switch try reader.string(node, "when") {
            case "always": return .always
            case "once": return .nth(1)
            default: throw reader.fail(node, "expected when as always, once, {nth: N}, {from: A, to: B, step: C} or {probability: P}")
            }
        }
        let fields = Dictionary(
            try reader.mapping(node, what: "when", allowed: ["nth", "from", "to", "step", "probability"]), uniquingKeysWith: { a, _ in a })
        if let nth = fields["nth"] {
            return .nth(try reader.integer(nth, "nth", in: 1...1_000_000_000))
        }
        if let p = fields["probability"] {
            guard let value = Double(try reader.string(p, "the probability")), value >= 0, value <= 1 else {
                throw reader.fail(p, "expected the probability as a number from 0 to 1")
            }
            return .probability(value)
        }
        let from = try fields["from"].map { node throws(CaseFileError) in try reader.integer(node, "from", in: 1...1_000_000_000) } ?? 1
        let to = try fields["to"].map { node throws(CaseFileError) in try reader.integer(node, "to", in: 1...1_000_000_000) }
        let step = try fields["step"].map { node throws(CaseFileError) in try reader.integer(node, "step", in: 1...1_000_000_000) } ?? 1
        guard to.map({ $0 >= from }) ?? true else { throw reader.fail(node, "expected from <= to") }
        return .range(from: from, to: to, step: step)
    }
}
