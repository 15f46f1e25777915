public import FaultInjection
import Foundation
public import Harness
import ProviderInterface

/// How a run is made.
public struct RunOptions: Sendable {
    public var provider: ProviderFactory
    /// Cases run at the same time, each on its own ports.
    public var jobs = 4
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
    /// The file that plan came from, for worker processes to load it again.
    public var faultsFile: String?
    /// Whether every case runs through the fault layer, even with an empty plan.
    public var throughFaultLayer = false
    /// Runs a case somewhere else (a worker process) instead of in this process; gets the instance and the
    /// directory for its pcap, and returns its result.
    public var isolation: (@Sendable (CaseInstance, String?) -> CaseResult)?

    public init(provider: ProviderFactory) { self.provider = provider }
}

/// Runs case instances concurrently and collects their results in the instances' order.
public enum Runner {
    /// Runs `instances`; `progress` is called (from any thread, one at a time) as each finishes.
    public static func run(
        _ instances: [CaseInstance], options: RunOptions, progress: @escaping @Sendable (Int, CaseResult) -> Void = { _, _ in }
    ) -> [CaseResult] {
        let state = RunState(count: instances.count)
        // Cases that name released handles run alone, after the others: a released value may be reused
        // for another case's socket by a provider whose handles are descriptors.
        let shared = instances.indices.filter { !instances[$0].exclusive }
        let alone = instances.indices.filter { instances[$0].exclusive }
        runQueue(shared, instances, options: options, workers: options.jobs, state: state, progress: progress)
        runQueue(alone, instances, options: options, workers: 1, state: state, progress: progress)
        return state.results
    }

    static func runQueue(
        _ indices: [Int], _ instances: [CaseInstance], options: RunOptions, workers: Int, state: RunState,
        progress: @escaping @Sendable (Int, CaseResult) -> Void
    ) {
        guard !indices.isEmpty else { return }
        let capabilities = options.provider.capabilities
        let queue = WorkQueue(indices)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(workers, indices.count)) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while let index = queue.next() {
                    let instance = instances[index]
                    let result: CaseResult
                    if let missing = missingCapabilities(instance, capabilities) {
                        result = skipped(instance, "the \(options.provider) provider lacks: \(missing)")
                    } else if let isolation = options.isolation {
                        result = isolation(instance, options.captureDirectory)
                    } else {
                        let path = options.captureDirectory.map { "\($0)/\(fileName(instance.id)).pcap" }
                        result = CaseRun(instance, options: options).run(pcapPath: path)
                    }
                    state.finish(index, result, progress)
                }
            }
        }
        group.wait()
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
