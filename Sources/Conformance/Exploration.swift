import Basics
import Foundation
public import Harness
import ProviderInterface

/// One generated scenario: a point in the dimensions where close statements meet. It becomes a case file in the
/// scenario language, whose expectations the model (`SpecModel`) writes.
public struct Scenario: Sendable, Equatable, CustomStringConvertible {
    public enum LingerChoice: String, Sendable, CaseIterable { case off, abortive = "0", timeout = "1s", dontLinger = "dont-linger" }
    public enum Data: String, Sendable, CaseIterable { case none, sent, filled }
    public enum Change: String, Sendable, CaseIterable { case none, off, abortive = "0" }
    /// What follows a close that failed with wouldBlock: linger 0, linger off, or the peer draining the data.
    public enum Retry: String, Sendable, CaseIterable { case abortive = "0", off, drained }

    public var role: Role = .client
    /// Handles on the socket: 1 to 3 (the others are duplicates).
    public var handles = 1
    public var linger: LingerChoice = .off
    /// Whether the linger option is set before the duplicates are made (else through the last one, after).
    public var lingerBeforeDuplicating = true
    /// A linger set through the handle closed next, after the first close.
    public var change: Change = .none
    public var blocking = true
    public var data: Data = .none
    /// Bytes the peer sends that the application never reads.
    public var unread = 0
    public var peerFinished = false
    /// Which order the handles are closed in: an index into their permutations.
    public var order = 0
    public var retry: Retry = .abortive

    public init() {}

    /// The values of each dimension, in words: what pairwise coverage counts.
    var dimensions: [String] {
        [
            "role=\(role.rawValue)", "handles=\(handles)", "linger=\(linger.rawValue)", "before=\(lingerBeforeDuplicating)",
            "change=\(change.rawValue)", "blocking=\(blocking)", "data=\(data.rawValue)", "unread=\(unread > 0)",
            "finished=\(peerFinished)", "order=\(order)", "retry=\(retry.rawValue)",
        ]
    }

    public var description: String { dimensions.joined(separator: " ") }

    /// The scenario in the scenario language, with the model's expectations, as case `id`.
    /// - Throws: `SpecModel.Outside` if the model cannot predict it (a generator mistake).
    public func caseText(id: String, statements: [Statement]) throws -> String {
        var steps = self.steps()
        // Data stuck in the buffers is read at the end: a FIN queued behind it then goes out; a reset ends the read.
        let drain = data == .filled ? ["peer-read: all"] : []
        // A close that must fail with wouldBlock (LINGER-6) leaves the socket open: it is ended abortively after.
        var text = render(id: id, steps: steps + drain, prediction: nil, statements: [])
        var prediction = try predicted(text, id: id, statements: statements)
        while prediction == nil && steps.count < 40 {
            let last = steps.last { $0.hasPrefix("close: ") } ?? "close: s"
            let handle = last.dropFirst("close: ".count)
            let through = handle == "s" ? "" : "\n    handle: \(handle)"
            switch retry {
            case .abortive: steps += ["wire-quiet: true", "linger: 0" + through, last]
            case .off: steps += ["wire-quiet: true", "linger: off" + through, last]
            case .drained: steps += ["wire-quiet: true", "peer-read: accepted", "wait: acknowledged", last]
            }
            text = render(id: id, steps: steps + drain, prediction: nil, statements: [])
            prediction = try predicted(text, id: id, statements: statements)
        }
        steps += drain
        guard let prediction else { throw SpecModel.Outside("the socket stays open") }
        return render(id: id, steps: steps, prediction: prediction, statements: prediction.statements.sorted())
    }

    /// The model's prediction for a case text; nil when the socket is still open at the end (a close failed with
    /// wouldBlock).
    func predicted(_ text: String, id: String, statements: [Statement]) throws -> SpecModel.Prediction? {
        let instance = try CaseLoader.parse(text, file: "\(id).yaml", statements: statements).instances[0]
        let result = Result { () throws(SpecModel.Outside) in try SpecModel.predict(instance) }
        switch result {
        case .success(let prediction): return prediction
        case .failure(let outside):
            if outside.description.contains("still open") { return nil }
            throw outside
        }
    }

    /// The handles' names, and the order they are closed in.
    var closeOrder: [String] {
        let names = ["s", "d1", "d2"].prefix(handles)
        let orders = Array(names).permutations
        return orders[order % orders.count]
    }

    func steps() -> [String] {
        var steps: [String] = []
        let lingerStep: String =
            switch linger {
            case .off: "linger: off"
            case .abortive: "linger: 0"
            case .timeout: "linger: 1s"
            case .dontLinger: "linger: 1s"
            }
        let names = ["s", "d1", "d2"].prefix(handles)
        func setLinger(through handle: String) {
            steps.append(handle == "s" ? lingerStep : "\(lingerStep)\n    handle: \(handle)")
            if linger == .dontLinger { steps.append(handle == "s" ? "dont-linger: true" : "dont-linger: true\n    handle: \(handle)") }
        }
        if lingerBeforeDuplicating || handles == 1 { setLinger(through: "s") }
        for name in names.dropFirst() { steps.append("duplicate: s\n    as: \(name)") }
        if !lingerBeforeDuplicating && handles > 1 { setLinger(through: names.last ?? "s") }
        switch data {
        case .none: break
        // On a nonblocking socket with a linger timeout, a close with data in flight succeeds or fails by timing: the
        // data is acknowledged first.
        case .sent: steps += blocking || linger != .timeout ? ["send: 64KiB"] : ["send: 64KiB", "wait: acknowledged"]
        case .filled: steps.append("fill: s")
        }
        if unread > 0 {
            steps.append("peer-send: \(unread)")
            if peerFinished { steps.append("peer-shutdown: peer") }
            steps.append("wait: delivered")
        }
        if !blocking { steps.append("blocking: false") }
        let order = closeOrder
        for (index, name) in order.enumerated() {
            steps.append("close: \(name)")
            if index < order.count - 1 {
                steps.append("wire-quiet: true")
                if index == 0, change != .none { steps.append("linger: \(change.rawValue)\n    handle: \(order[index + 1])") }
            }
        }
        return steps
    }

    func render(id: String, steps: [String], prediction: SpecModel.Prediction?, statements: [String]) -> String {
        var lines = [
            "id: \(id)",
            "title: Generated by teardown explore (\(description))",
            "statements: [\((statements.isEmpty ? ["CLOSE-1"] : statements).joined(separator: ", "))]",
        ]
        if handles > 1 { lines.append("requires: [duplicate]") }
        lines += ["setup:", "  role: \(role.rawValue)", "peer:"]
        lines += data == .filled ? ["  reads: never", "  receive-buffer: 64KiB"] : ["  reads: at-once"]
        lines.append("steps:")
        for (index, step) in steps.enumerated() {
            lines.append("  - \(step)")
            guard let prediction else {
                // Before the model has spoken: a close may leave the handle open (LINGER-6).
                if step.hasPrefix("close: ") { lines.append("    expect: [ok, wouldBlock]") }
                continue
            }
            if step.hasPrefix("close: "), let result = prediction.results[index] {
                lines.append("    expect: \(Self.word(result))")
                if let timing = prediction.timings[index] { lines.append("    \(Self.word(timing))") }
            }
        }
        if let prediction, let read = prediction.peerRead, let ending = prediction.peerEnding, let fin = prediction.fin,
            let rst = prediction.rst
        {
            lines += [
                "expect:", "  peer: {read: \(Self.word(read)), ending: \(ending.rawValue)}",
                "  wire: {fin: \(fin == .afterAccepted ? "after-accepted" : "none"), rst: \(rst == .present ? "present" : "none")}",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func word(_ result: CallExpectation) -> String {
        switch result {
        case .ok: "ok"
        case .error(let error): error.name
        default: "\(result)"
        }
    }

    static func word(_ timing: Timing) -> String {
        switch timing {
        case .atOnce: "within: at-once"
        case .about(let duration): "about: \(duration.components.seconds)s"
        case .within(let duration): "within: \(duration.components.seconds)s"
        }
    }

    static func word(_ amount: PeerExpectation.Amount) -> String {
        switch amount {
        case .accepted: "accepted"
        case .prefix: "prefix"
        case .none: "none"
        case .exactly(let count): "\(count)"
        }
    }

    /// Smaller scenarios that keep some of this one: what shrinking tries, simplest first.
    public var simplifications: [Scenario] {
        let changes: [(inout Scenario) -> Void] = [
            {
                $0.handles = 1
                $0.change = .none
                $0.order = 0
                $0.lingerBeforeDuplicating = true
            },
            {
                guard $0.handles == 3 else { return }
                $0.handles = 2
                $0.order = 0
            },
            { $0.order = 0 }, { $0.change = .none }, { $0.retry = .abortive }, { $0.lingerBeforeDuplicating = true },
            {
                $0.unread = 0; $0.peerFinished = false
            }, { $0.peerFinished = false }, { $0.data = .none },
            { $0.data = $0.data == .filled ? .sent : $0.data }, { $0.blocking = true }, { $0.linger = .off },
            { $0.linger = $0.linger == .dontLinger ? .timeout : $0.linger }, { $0.role = .client },
        ]
        let options = changes.map { change in
            var simpler = self
            change(&simpler)
            return simpler
        }
        return options.filter { $0 != self && $0.isValid }
    }

    /// The combinations that mean something: a peer finishes after sending what is left unread, and a single handle
    /// has no order of closes and no change between them.
    public var isValid: Bool {
        if peerFinished && unread == 0 { return false }
        if handles == 1 && (change != .none || !lingerBeforeDuplicating || order != 0) { return false }
        return true
    }
}

extension Array {
    /// Every order of the elements (for the few handles a scenario has).
    var permutations: [[Element]] {
        guard count > 1 else { return [self] }
        return indices.flatMap { index -> [[Element]] in
            var rest = self
            let first = rest.remove(at: index)
            return rest.permutations.map { [first] + $0 }
        }
    }
}

/// Scenarios from a seed, chosen to cover every pair of values of two dimensions early (a greedy pairwise
/// generator: of several random candidates, the one that covers the most pairs not covered yet), then at random.
public struct ScenarioGenerator: Sendable {
    private var random: SplitMix
    private var covered: Set<String> = []
    private let duplicates: Bool

    public init(seed: UInt64, duplicates: Bool) {
        random = SplitMix(seed: seed)
        self.duplicates = duplicates
    }

    /// The pairs of dimension values covered so far, and how many there are in all (of valid scenarios).
    public var coverage: Int { covered.count }

    public mutating func next() -> Scenario {
        var best: (scenario: Scenario, gain: Int)?
        for _ in 0..<12 {
            let candidate = randomScenario()
            let gain = Self.pairs(candidate).subtracting(covered).count
            if best == nil || gain > best!.gain { best = (candidate, gain) }
        }
        let chosen = best!.scenario
        covered.formUnion(Self.pairs(chosen))
        return chosen
    }

    static func pairs(_ scenario: Scenario) -> Set<String> {
        let values = scenario.dimensions
        var pairs: Set<String> = []
        for i in values.indices { for j in values.indices where j > i { pairs.insert(values[i] + "&" + values[j]) } }
        return pairs
    }

    private mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }

    private mutating func randomScenario() -> Scenario {
        while true {
            var scenario = Scenario()
            scenario.role = pick([.client, .server])
            scenario.handles = duplicates ? pick([1, 2, 3]) : 1
            scenario.linger = pick(Scenario.LingerChoice.allCases)
            scenario.lingerBeforeDuplicating = scenario.handles == 1 || pick([true, false])
            scenario.change = scenario.handles > 1 ? pick(Scenario.Change.allCases) : .none
            scenario.blocking = pick([true, false])
            scenario.data = pick(Scenario.Data.allCases)
            scenario.unread = pick([0, 1000])
            scenario.peerFinished = scenario.unread > 0 && pick([true, false])
            scenario.order = scenario.handles > 1 ? Int(random.next() % 6) : 0
            scenario.retry = pick(Scenario.Retry.allCases)
            if scenario.isValid { return scenario }
        }
    }
}
