import Basics
import Foundation
public import Harness
public import ProviderInterface

/// One generated scenario: a point in the dimensions where close statements meet. It becomes a case file in the
/// scenario language, whose expectations the model (`SpecModel`) writes.
public struct Scenario: ExploredScenario {
    public enum LingerChoice: String, Sendable, CaseIterable { case off, abortive = "0", timeout = "1s", dontLinger = "dont-linger" }
    public enum Data: String, Sendable, CaseIterable { case none, sent, filled }
    public enum Change: String, Sendable, CaseIterable { case none, off, abortive = "0" }
    /// What follows a close that failed with wouldBlock: linger 0, linger off, or the peer draining the data.
    public enum Retry: String, Sendable, CaseIterable { case abortive = "0", off, drained }
    /// What is pending when the handles are closed: a receive in another thread, or an asynchronous receive.
    public enum Pending: String, Sendable, CaseIterable { case none, receive, async }
    /// What reads the linger option back before the closes: nothing, `get-linger`, or an out-of-range value first.
    public enum ReadBack: String, Sendable, CaseIterable { case none, value, outOfRange = "out-of-range" }

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
    /// Pending on the handle closed first (and, with `pendingOther`, also on the handle closed last, which the peer's
    /// bytes complete after the first close).
    public var pending: Pending = .none
    public var pendingOther = false
    /// shutdown(send) before the closes.
    public var shutdown = false
    public var readBack: ReadBack = .none
    /// Every call on the handle closed first, right after its close: each must fail with notSocket.
    public var stale = false
    /// The last handle is left to the provider's cleanup instead of closed.
    public var cleanup = false

    public init() {}

    /// The values of each dimension, in words: what pairwise coverage counts.
    public var dimensions: [String] {
        [
            "role=\(role.rawValue)", "handles=\(handles)", "linger=\(linger.rawValue)", "before=\(lingerBeforeDuplicating)",
            "change=\(change.rawValue)", "blocking=\(blocking)", "data=\(data.rawValue)", "unread=\(unread > 0)",
            "finished=\(peerFinished)", "order=\(order)", "retry=\(retry.rawValue)", "pending=\(pending.rawValue)",
            "pending-other=\(pendingOther)", "shutdown=\(shutdown)", "read-back=\(readBack.rawValue)", "stale=\(stale)",
            "cleanup=\(cleanup)",
        ]
    }

    /// What decides the last close: the linger it sees (after a change between closes; don't-linger is off), or the
    /// cleanup in its place; the blocking mode; the data in flight or stuck; unread data; a FIN already sent; what
    /// is pending.
    public var core: [String] {
        let closing =
            cleanup
            ? "cleanup"
            : handles > 1 && change != .none ? change.rawValue : linger == .dontLinger ? Change.off.rawValue : linger.rawValue
        return [
            "closing-linger=\(closing)", "blocking=\(blocking)", "data=\(data.rawValue)", "unread=\(unread > 0)",
            "shutdown=\(shutdown)", "pending=\(pending.rawValue)",
        ]
    }

    /// The scenario in the scenario language, with the model's expectations, as case `id`.
    /// - Throws: `SpecModel.Outside` if the model cannot predict it (a generator mistake).
    public func caseText(id: String, statements: [Statement]) throws -> String {
        var (steps, waits) = self.steps()
        // Data stuck in the buffers is read at the end: a FIN queued behind it then goes out; a reset ends the read.
        let drain = data == .filled ? ["peer-read: all"] : []
        // A close that must fail with wouldBlock (LINGER-6) leaves the socket open: it is ended abortively after.
        // The waits for what was pending come last, once the socket is closed.
        var text = render(id: id, steps: steps + drain, prediction: nil, statements: [])
        var prediction = try predicted(text, id: id, statements: statements)
        while prediction == nil && steps.count < 40 {
            let last = steps.last { $0.hasPrefix("close: ") } ?? "close: s"
            let handle = last.dropFirst("close: ".count)
            let through = handle == "s" ? "" : "\n    handle: \(handle)"
            // Nothing went out at the failed close (a FIN that shutdown sent is older).
            if !shutdown { steps.append("wire-quiet: true") }
            switch retry {
            case .abortive: steps += ["linger: 0" + through, last]
            case .off: steps += ["linger: off" + through, last]
            case .drained: steps += ["peer-read: accepted", "wait: acknowledged", last]
            }
            text = render(id: id, steps: steps + drain, prediction: nil, statements: [])
            prediction = try predicted(text, id: id, statements: statements)
        }
        guard prediction != nil else { throw SpecModel.Outside("the socket stays open") }
        steps += drain + waits
        text = render(id: id, steps: steps, prediction: nil, statements: [])
        guard let prediction = try predicted(text, id: id, statements: statements) else { throw SpecModel.Outside("the socket stays open") }
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

    /// The steps before the end, and the waits for what was pending on the handles closed first, which come last.
    func steps() -> (body: [String], waits: [String]) {
        var steps: [String] = []
        let lingerStep: String =
            switch linger {
            case .off: "linger: off"
            case .abortive: "linger: 0"
            case .timeout: "linger: 1s"
            case .dontLinger: "linger: 1s"
            }
        let names = ["s", "d1", "d2"].prefix(handles)
        func on(_ handle: String, _ step: String) -> String { handle == "s" ? step : "\(step)\n    handle: \(handle)" }
        func setLinger(through handle: String) {
            steps.append(on(handle, lingerStep))
            if linger == .dontLinger { steps.append(on(handle, "dont-linger: true")) }
        }
        if lingerBeforeDuplicating || handles == 1 { setLinger(through: "s") }
        for name in names.dropFirst() { steps.append("duplicate: s\n    as: \(name)") }
        if !lingerBeforeDuplicating && handles > 1 { setLinger(through: names.last ?? "s") }
        // Read back through the last handle: the option is the socket's (SHARE-3); an out-of-range value changes nothing
        // (LINGER-8); don't-linger keeps the timeout, which turning linger on again shows (LINGER-7).
        let reader = names.last ?? "s"
        if readBack == .outOfRange { steps.append(on(reader, "linger: {on: true, seconds: 70000}")) }
        if readBack != .none {
            switch linger {
            case .off: steps.append(on(reader, "get-linger: off"))
            case .abortive: steps.append(on(reader, "get-linger: 0"))
            case .timeout: steps.append(on(reader, "get-linger: 1s"))
            case .dontLinger:
                steps += [on(reader, "dont-linger: false"), on(reader, "get-linger: 1s"), on(reader, "dont-linger: true")]
            }
        }
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
        let order = closeOrder
        let first = order[0]
        let last = order[order.count - 1]
        func startPending(on handle: String) -> String? {
            switch pending {
            case .none:
                return nil
            case .receive:
                steps += [on(handle, "receive: 4KiB\n    thread: on-\(handle)"), "wait: {pending: on-\(handle)}"]
                return "wait: {returned: on-\(handle)}"
            case .async:
                steps.append(on(handle, "start-receive: op-\(handle)"))
                return "wait: {completed: op-\(handle)}"
            }
        }
        let waits = startPending(on: first).map { [$0] } ?? []
        let otherWait = pendingOther ? startPending(on: last) : nil
        if shutdown {
            steps.append("shutdown: send")
            if data != .filled { steps.append("wait: {peer-ending: end-of-stream}") }
            // The FIN is in flight as data is: on a nonblocking socket a lingering close would succeed or fail by
            // timing, so its acknowledgement comes first.
            if data != .filled && !blocking && linger == .timeout { steps.append("wait: acknowledged") }
        }
        if !blocking { steps.append("blocking: false") }
        for (index, name) in order.enumerated() {
            if index == order.count - 1 && cleanup {
                steps.append("cleanup: \(name)")
                break
            }
            steps.append("close: \(name)")
            if index == 0 && stale { steps.append("every-call: \(name)\n    expect: notSocket") }
            if index < order.count - 1 {
                // A FIN already sent by shutdown is on the wire: quiet means nothing new only without it.
                if !shutdown { steps.append("wire-quiet: true") }
                if index == 0, change != .none { steps.append("linger: \(change.rawValue)\n    handle: \(order[index + 1])") }
                // What is pending on another handle is still there: the peer's bytes complete it (SHARE-5).
                if index == 0, let otherWait { steps += ["peer-send: 100", otherWait] }
            }
        }
        return (steps, waits)
    }

    func render(id: String, steps: [String], prediction: SpecModel.Prediction?, statements: [String]) -> String {
        var lines = [
            "id: \(id)",
            "title: Generated by teardown explore (\(description))",
            "statements: [\((statements.isEmpty ? ["CLOSE-1"] : statements).joined(separator: ", "))]",
        ]
        let requires =
            (handles > 1 ? ["duplicate"] : []) + (pending == .async ? ["asynchronous"] : []) + (cleanup ? ["harness-handles"] : [])
        if !requires.isEmpty { lines.append("requires: [\(requires.joined(separator: ", "))]") }
        // A stale handle that reached another socket would act on whatever socket is newest in the process.
        if stale { lines.append("exclusive: true") }
        lines += ["setup:", "  role: \(role.rawValue)", "peer:"]
        lines += data == .filled ? ["  reads: never", "  receive-buffer: 64KiB"] : ["  reads: at-once"]
        lines.append("steps:")
        for (index, step) in steps.enumerated() {
            lines.append("  - \(step)")
            let isClose = step.hasPrefix("close: ")
            guard let prediction else {
                // Before the model has spoken: a close may leave the handle open (LINGER-6).
                if isClose { lines.append("    expect: [ok, wouldBlock]") }
                continue
            }
            // What the model says of each call whose result or timing is the point: closes, calls in other threads,
            // shutdowns, refused values.
            let timed = isClose || step.contains("\n    thread: ") || step.hasPrefix("shutdown: ")
            if let result = prediction.results[index], !step.contains("expect: "), timed || result != .ok {
                lines.append("    expect: \(Self.word(result))")
            }
            if timed, let timing = prediction.timings[index] { lines.append("    \(Self.word(timing))") }
        }
        if let prediction, let read = prediction.peerRead, let ending = prediction.peerEnding, let fin = prediction.fin,
            let rst = prediction.rst
        {
            lines += [
                "expect:", "  peer: {read: \(Self.word(read)), ending: \(ending.rawValue)}",
                "  wire: {fin: \(fin == .afterAccepted ? "after-accepted" : "none"), rst: \(Self.word(rst))}",
            ]
            if !prediction.operations.isEmpty {
                let operations = prediction.operations.sorted { $0.key < $1.key }.map { "\($0.key): \(Self.word($0.value))" }
                lines.append("  operations: {\(operations.joined(separator: ", "))}")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func word(_ reset: WireExpectation.Reset) -> String {
        switch reset {
        case .none: "none"
        case .present: "present"
        case .afterFin: "after-fin"
        }
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
                $0.pendingOther = false
                $0.change = .none
                $0.order = 0
                $0.lingerBeforeDuplicating = true
            },
            {
                guard $0.handles == 3 else { return }
                $0.handles = 2
                $0.order = 0
            },
            {
                $0.pending = .none
                $0.pendingOther = false
            }, { $0.pendingOther = false }, { $0.shutdown = false }, { $0.readBack = .none }, { $0.stale = false },
            { $0.cleanup = false }, { $0.readBack = $0.readBack == .outOfRange ? .value : $0.readBack },
            { $0.pending = $0.pending == .async ? .receive : $0.pending },
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

    /// The combinations that mean something: a peer finishes after sending what is left unread; a single handle
    /// has no order of closes, no change between them and no other handle; a receive is pending only where no data
    /// waits; a stale handle is one whose close succeeded.
    public var isValid: Bool {
        if peerFinished && unread == 0 { return false }
        // Once both sides have sent FIN, whether an abortive close still finds a connection to reset depends on
        // whether the ACK of the subject's FIN has come back.
        if peerFinished && shutdown { return false }
        if handles == 1 && (change != .none || !lingerBeforeDuplicating || order != 0 || pendingOther) { return false }
        if pending != .none && unread > 0 { return false }
        if pendingOther && pending == .none { return false }
        if stale && handles == 1 && (cleanup || (linger == .timeout && !blocking && data == .filled)) { return false }
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

/// Scenarios from a seed, chosen to cover every pair of values of two dimensions early, then every combination of four
/// of the values that decide the scenario's central call (`core`), then every triple of values of three (a greedy
/// combinatorial generator: of several random candidates, the one that covers the most not covered yet, in that
/// order), then at random.
public struct ScenarioGenerator: Sendable {
    private var random: SplitMix
    private var covered: Set<Int> = []
    private var coveredTriples: Set<Int> = []
    private var coveredCore: Set<Int> = []
    /// A number for each dimension value seen (`name=value`): pairs and triples are counted as numbers.
    private var numbers: [String: Int] = [:]
    private let capabilities: ProviderCapabilities
    private var generated = 0

    /// Scenarios for a provider with these capabilities (duplicates, asynchronous operations, harness handles).
    public init(seed: UInt64, capabilities: ProviderCapabilities) {
        random = SplitMix(seed: seed)
        self.capabilities = capabilities
    }

    /// The pairs of dimension values covered so far.
    public var coverage: Int { covered.count }
    /// The triples of dimension values covered so far.
    public var tripleCoverage: Int { coveredTriples.count }
    /// The combinations of four of the values that decide a connected socket's last close covered so far.
    public var coreCoverage: Int { coveredCore.count }

    /// The next scenario: one in four is a listener's, the others a connected socket's.
    public mutating func next() -> any ExploredScenario {
        generated += 1
        return generated % 4 == 0 ? best { $0.randomListener() } : best { $0.randomScenario() }
    }

    private mutating func best<S: ExploredScenario>(_ random: (inout Self) -> S) -> S {
        var best: (scenario: S, values: [Int], core: [Int], gain: Int)?
        for _ in 0..<12 {
            let candidate = random(&self)
            let values = candidate.dimensions.map { number($0) }
            let core = candidate.core.map { number($0) }
            // Pairs first, then the core's combinations of four, then triples.
            let newPairs = Self.combinations(values, 2).filter { !covered.contains($0) }.count
            let newCore = Self.combinations(core, 4).filter { !coveredCore.contains($0) }.count
            let newTriples = Self.combinations(values, 3).filter { !coveredTriples.contains($0) }.count
            let gain = newPairs * 10_000_000 + newCore * 10_000 + newTriples
            if best == nil || gain > best!.gain { best = (candidate, values, core, gain) }
        }
        let chosen = best!
        covered.formUnion(Self.combinations(chosen.values, 2))
        coveredCore.formUnion(Self.combinations(chosen.core, 4))
        coveredTriples.formUnion(Self.combinations(chosen.values, 3))
        return chosen.scenario
    }

    /// The number of a dimension value, given on first sight (below 1,024: a few dozen values exist).
    private mutating func number(_ value: String) -> Int {
        if let number = numbers[value] { return number }
        numbers[value] = numbers.count
        return numbers.count - 1
    }

    /// Each combination of `size` of the values, as one number (values are numbered below 1,024, ten bits each).
    static func combinations(_ values: [Int], _ size: Int) -> [Int] {
        guard size > 0 else { return [0] }
        guard values.count >= size else { return [] }
        return values.indices.flatMap { index in
            combinations(Array(values[(index + 1)...]), size - 1).map { values[index] << (10 * (size - 1)) | $0 }
        }
    }

    private mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }

    private mutating func randomListener() -> ListenerScenario {
        while true {
            var scenario = ListenerScenario()
            scenario.handles = capabilities.contains(.duplicate) ? pick([1, 2]) : 1
            scenario.duplicateFirst = scenario.handles > 1 && pick([true, false])
            scenario.queued = pick([0, 1, 2])
            scenario.accepted = pick([true, false])
            scenario.acceptedAfter = !scenario.accepted || pick([true, false])
            scenario.pending = pick(capabilities.contains(.asynchronousOperations) ? ListenerScenario.Pending.allCases : [.none, .accept])
            scenario.connector = pick([true, false])
            if scenario.isValid { return scenario }
        }
    }

    private mutating func randomScenario() -> Scenario {
        while true {
            var scenario = Scenario()
            scenario.role = pick([.client, .server])
            scenario.handles = capabilities.contains(.duplicate) ? pick([1, 2, 3]) : 1
            scenario.linger = pick(Scenario.LingerChoice.allCases)
            scenario.lingerBeforeDuplicating = scenario.handles == 1 || pick([true, false])
            scenario.change = scenario.handles > 1 ? pick(Scenario.Change.allCases) : .none
            scenario.blocking = pick([true, false])
            scenario.data = pick(Scenario.Data.allCases)
            scenario.unread = pick([0, 1000])
            scenario.peerFinished = scenario.unread > 0 && pick([true, false])
            scenario.order = scenario.handles > 1 ? Int(random.next() % 6) : 0
            scenario.retry = pick(Scenario.Retry.allCases)
            // A dimension that only means something beside another is chosen only there, so that the combinations it
            // would exclude are not made rarer by choosing again.
            let asynchronous = capabilities.contains(.asynchronousOperations)
            scenario.pending = scenario.unread > 0 ? .none : pick(asynchronous ? Scenario.Pending.allCases : [.none, .receive])
            scenario.pendingOther = scenario.handles > 1 && scenario.pending != .none && pick([true, false])
            scenario.shutdown = !scenario.peerFinished && pick([true, false])
            scenario.readBack = pick(Scenario.ReadBack.allCases)
            scenario.stale = pick([true, false])
            // The cleanup takes the place of the last close, whose combinations are the point: one scenario in four.
            scenario.cleanup = capabilities.contains(.harnessHandles) && pick([true, false, false, false])
            if scenario.isValid { return scenario }
        }
    }
}
