public import FaultInjection
import Foundation
public import Harness
import ProviderInterface

/// How a run is made.
public struct RunOptions: Sendable {
    public var provider: ProviderFactory
    /// Cases run at the same time, each on its own ports.
    public var jobs = 8
    /// How long a provider call may take before the case ends with an `error` naming it.
    public var watchdog: Duration = .seconds(10)
    /// The longest a whole case may run.
    public var caseLimit: Duration = .seconds(60)
    /// How long "nothing on the wire" is watched for.
    public var settle: Duration = .milliseconds(300)
    public var tolerances = Tolerances.standard
    /// Whether to capture (and check the wire).
    public var capture = true
    /// Where each case's pcap is written; nil writes none.
    public var captureDirectory: String?
    public var seed: UInt64 = 1
    /// A plan applied to every case, besides the case's own (`--faults`).
    public var faults = FaultPlan()
    /// Whether every case runs through the fault layer, even with an empty plan.
    public var throughFaultLayer = false
    /// Runs a case somewhere else (a worker process) instead of in this process; gets the instance and the
    /// directory for its pcap, and returns its result.
    public var isolation: (@Sendable (CaseInstance, String?) -> CaseResult)?
    /// Told of every finding as it is made (a worker passes them on at once, so that a provider crash that ends
    /// the process keeps them): whether it is at the MUST level, and its words.
    public var onFinding: (@Sendable (_ level: Level, _ message: String) -> Void)?

    public init(provider: ProviderFactory) { self.provider = provider }
}

/// Runs case instances concurrently and collects their results in the instances' order.
public enum Runner {
    /// Instances to run against one provider, with that provider's options.
    public struct Batch: Sendable {
        public var instances: [CaseInstance]
        public var options: RunOptions
        /// The order the instances start in (indices into `instances`); nil: as they are. Results keep the
        /// instances' order whatever it is.
        public var order: [Int]?
        /// Told of each result: a reason to stop here, after which the instances not yet started are skipped with it.
        public var stop: (@Sendable (CaseResult) -> String?)?

        public init(
            _ instances: [CaseInstance], options: RunOptions, order: [Int]? = nil, stop: (@Sendable (CaseResult) -> String?)? = nil
        ) {
            self.instances = instances
            self.options = options
            self.order = order
            self.stop = stop
        }
    }

    /// Runs `instances`, `options.jobs` at a time; `progress` is called (from any thread, one at a time) as each
    /// finishes, with the count finished so far.
    public static func run(
        _ instances: [CaseInstance], options: RunOptions, progress: @escaping @Sendable (Int, CaseResult) -> Void = { _, _ in }
    ) -> [CaseResult] {
        run([Batch(instances, options: options)], workers: options.jobs) { _, finished, result in progress(finished, result) }[0]
    }

    /// Runs several batches (one provider each) over one pool of `workers` threads; returns each batch's results
    /// in its instances' order. `progress` is called (from any thread, one at a time within a batch) with the batch's
    /// index and how many of its instances have finished.
    ///
    /// Cases that name released handles (`exclusive`) run after the others, one at a time within their batch: a
    /// released value may be reused for another case's socket by a provider whose handles are descriptors. Cases
    /// that run in worker processes (`isolation`) need no such turn: descriptors are each process's own.
    public static func run(
        _ batches: [Batch], workers: Int, progress: @escaping @Sendable (Int, Int, CaseResult) -> Void = { _, _, _ in }
    ) -> [[CaseResult]] {
        let states = batches.map { RunState(count: $0.instances.count) }
        let capabilities = batches.map { $0.options.provider.capabilities }
        let runOne: @Sendable (Int, Int) -> Void = { batch, index in
            let instance = batches[batch].instances[index]
            let result =
                states[batch].stopped.map { skipped(instance, notRun + $0) }
                ?? runInstance(instance, options: batches[batch].options, capabilities: capabilities[batch])
            if let reason = batches[batch].stop?(result) { states[batch].stop(reason) }
            states[batch].finish(index, result) { finished, result in progress(batch, finished, result) }
        }
        // A case in a worker process of its own cannot meet another case's descriptors: it needs no turn alone.
        let alone: @Sendable (Int, Int) -> Bool = { batch, index in
            batches[batch].options.isolation == nil && batches[batch].instances[index].exclusive
        }
        let order: @Sendable (Int) -> [Int] = { batches[$0].order ?? Array(batches[$0].instances.indices) }
        let shared = batches.indices.flatMap { batch in order(batch).filter { !alone(batch, $0) }.map { (batch, $0) } }
        inPool(shared, workers: workers) { runOne($0.0, $0.1) }
        let exclusive = batches.indices.filter { batch in batches[batch].instances.indices.contains { alone(batch, $0) } }
        inPool(exclusive, workers: workers) { batch in
            for index in order(batch) where alone(batch, index) { runOne(batch, index) }
        }
        return states.map(\.results)
    }

    /// Runs `work` on every item, at most `workers` at a time, each on a thread of the pool; returns when all are done.
    static func inPool<Item: Sendable>(_ items: [Item], workers: Int, _ work: @escaping @Sendable (Item) -> Void) {
        guard !items.isEmpty else { return }
        let queue = WorkQueue(Array(items.indices))
        let group = DispatchGroup()
        for _ in 0..<max(1, min(workers, items.count)) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while let index = queue.next() { work(items[index]) }
            }
        }
        group.wait()
    }

    /// One instance's result: skipped when the provider lacks a capability it requires; otherwise run here, or
    /// where the options' isolation sends it (a worker process).
    static func runInstance(_ instance: CaseInstance, options: RunOptions, capabilities: ProviderCapabilities) -> CaseResult {
        if let missing = missingCapabilities(instance, capabilities) {
            return skipped(instance, "the \(options.provider) provider lacks: \(missing)")
        }
        if let isolation = options.isolation { return isolation(instance, options.captureDirectory) }
        let path = options.captureDirectory.map { "\($0)/\(fileName(instance.id)).pcap" }
        return CaseRun(instance, options: options).run(pcapPath: path)
    }

    static func missingCapabilities(_ instance: CaseInstance, _ capabilities: ProviderCapabilities) -> String? {
        let missing = instance.requirementNames.filter { name in
            guard let capability = ProviderCapabilities.names.first(where: { $0.1 == name })?.0 else { return false }
            return !capabilities.contains(capability)
        }
        return missing.isEmpty ? nil : missing.joined(separator: ", ")
    }

    /// The `error` result of an instance that could not be run where it was sent (a worker that crashed or hung).
    public static func failed(_ instance: CaseInstance, _ message: String, seconds: Double) -> CaseResult {
        CaseResult(
            id: instance.id, caseID: instance.caseID, title: instance.title, statements: instance.statements, level: instance.level,
            verdict: .error, messages: [message], pcap: nil, seconds: seconds, expectedDeviation: nil, faults: nil, ladder: nil)
    }

    /// The result of an instance whose provider crashed the process it ran in: a failure at the case's level,
    /// with the findings made before the crash (passed on through `onFinding`) and the crash last.
    public static func crashed(_ instance: CaseInstance, findings: [(level: Level, message: String)], crash: String, seconds: Double)
        -> CaseResult
    {
        CaseResult(
            id: instance.id, caseID: instance.caseID, title: instance.title, statements: instance.statements, level: instance.level,
            verdict: Verdict.of(findings.map(\.level) + [instance.level], caseLevel: instance.level),
            messages: findings.map(\.message) + [crash + "; the case went no further"], pcap: nil, seconds: seconds,
            expectedDeviation: nil, faults: nil, ladder: nil)
    }

    /// How the message of an instance skipped because its batch had stopped begins.
    public static let notRun = "not run: "

    static func skipped(_ instance: CaseInstance, _ reason: String) -> CaseResult {
        CaseResult(
            id: instance.id, caseID: instance.caseID, title: instance.title, statements: instance.statements, level: instance.level,
            verdict: .skipped, messages: [reason], pcap: nil, seconds: 0, expectedDeviation: nil, faults: nil, ladder: nil)
    }

    /// A file name for an instance id: brackets, commas and equals signs become safe characters.
    public static func fileName(_ id: String) -> String {
        String(id.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
    }
}

/// Indices handed to workers one at a time, in order.
public final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [Int]

    public init(_ indices: [Int]) { pending = indices.reversed() }

    public func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        return pending.popLast()
    }
}

/// The results, in the instances' order.
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var finished = 0
    private var slots: [CaseResult?]
    private var stopReason: String?

    /// Why the batch stopped, once it has: its instances not yet started are skipped.
    var stopped: String? {
        lock.lock()
        defer { lock.unlock() }
        return stopReason
    }

    func stop(_ reason: String) {
        lock.lock()
        defer { lock.unlock() }
        if stopReason == nil { stopReason = reason }
    }

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func finish(_ index: Int, _ result: CaseResult, _ progress: (Int, CaseResult) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        slots[index] = result
        finished += 1
        progress(finished, result)
    }

    var results: [CaseResult] {
        lock.lock()
        defer { lock.unlock() }
        return slots.compactMap { $0 }
    }
}

/// What a worker process runs: one instance, as it is (not a path to parse again), with what it needs of the
/// run's options. It travels as JSON on the worker's standard input.
public struct WorkerJob: Codable, Sendable {
    public var instance: CaseInstance
    public var seed: UInt64
    public var watchdogSeconds: Int64
    /// The run's fault plan, besides the instance's own.
    public var faults: FaultPlan
    public var throughFaultLayer: Bool
    public var captureDirectory: String?

    public init(_ instance: CaseInstance, options: RunOptions, captureDirectory: String?) {
        self.instance = instance
        seed = options.seed
        watchdogSeconds = options.watchdog.components.seconds
        faults = options.faults
        throughFaultLayer = options.throughFaultLayer
        self.captureDirectory = captureDirectory
    }

    /// The options the worker runs the instance with, against `provider`.
    public func options(provider: ProviderFactory) -> RunOptions {
        var options = RunOptions(provider: provider)
        options.jobs = 1
        options.seed = seed
        options.watchdog = .seconds(watchdogSeconds)
        options.faults = faults
        options.throughFaultLayer = throughFaultLayer
        options.captureDirectory = captureDirectory
        return options
    }
}
