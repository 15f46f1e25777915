import Basics
import FaultInjection
import Foundation
import Harness
import PacketCapture
import ProviderInterface
import WireAnalysis

/// Why a case stopped before its end: a harness or environment failure (verdict `error`).
struct CaseAbort: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// A provider call that the case says must return within a bound never returned, even within the watchdog: a
/// failure of the case's statements (not an `error`), after which the case goes no further and does not audit a
/// provider that is still inside a call.
struct CallNeverReturned: Error {
    let message: String
}

/// What a subject call returned, and when.
struct CallOutcome: Sendable {
    enum Value: Sendable {
        case none
        case count(Int)
        case handle(SocketHandle)
        case linger(Linger)
        case operation(OperationID)
    }

    var result: Result<Value, SocketError>
    var startedAt: ContinuousClock.Instant
    var returnedAt: ContinuousClock.Instant
    /// Whether 0 bytes is the end of the stream (a receive) rather than a transfer of nothing.
    var zeroIsEndOfStream = true

    var elapsed: Duration { returnedAt - startedAt }

    var summary: String {
        switch result {
        case .success(.count(0)) where zeroIsEndOfStream: "end-of-stream (0 bytes)"
        case .success(.count(let count)): "success (\(count) bytes)"
        case .success(.linger(let linger)): "linger \(linger)"
        case .success: "success"
        case .failure(let error): error.name
        }
    }
}

/// One observation that contradicts the case, with the level it counts at.
struct Finding {
    var level: Level
    var message: String
}

/// Runs one case instance against a fresh provider, in stages: the scene is set up, each step runs (its kind
/// says how), the evidence for the final expectations is gathered and judged (`Judge`), and the tear-down
/// audits what the provider gave back. The ladder is recorded as it goes. Never throws: every outcome is a result.
final class CaseRun {
    /// The bound of a wait on an event that the case expects (a peer ending, a FIN, a byte count).
    static let waitLimit: Duration = .seconds(5)
    /// How long a thread's call is waited for once the verdict is decided (see `join`).
    static let decidedJoinBound: Duration = .seconds(1)

    let instance: CaseInstance
    let options: RunOptions
    let subject: Subject
    /// The fault layer around the provider, when the case runs through one.
    private(set) var faultLayer: FaultLayer?
    let scene = Scene()
    let ladder = LadderRecorder()
    private(set) var findings: [Finding] = []
    let caseDeadline: Deadline
    var pcapPath: String?
    /// When each main-thread step began: "at once" for a pending call counts from the one that ended it.
    var mainStepStarts: [ContinuousClock.Instant] = []
    /// Threads whose call was found overdue at a `wait: returned`; joined at the end without a second finding.
    var overdue: Set<String> = []
    var cleanedUp = false
    /// Setting the scene up, tearing it down, auditing.
    var stages: SceneStages { SceneStages(run: self) }
    /// Gathering the evidence for the expectations and judging it.
    var evidence: Evidence { Evidence(run: self) }

    init(_ instance: CaseInstance, options: RunOptions) {
        self.instance = instance
        self.options = options
        let plan = FaultPlan(rules: instance.faults.rules + options.faults.rules)
        if plan.isEmpty && !options.throughFaultLayer {
            subject = Subject(options.provider)
        } else {
            let seed = options.seed ^ Self.stableHash(instance.id)
            let inner = options.provider
            let context = FaultContext()
            subject = Subject(
                ProviderFactory(name: inner.name) { registry in
                    FaultLayer(wrapping: inner.make(registry), plan: plan, seed: seed, context: context)
                })
            faultLayer = subject.provider as? FaultLayer
            // A fault that closes a handle closes it as a step would: through the audit.
            context.closer = { [subject] handle in try? subject.close(handle) }
            // The fault plan's rules name handles as the case does.
            scene.onNamed = { handle, name in context.name(handle, name) }
        }
        caseDeadline = Deadline(after: options.caseLimit)
    }

    var family: SocketAddress.Family { instance.setup.family }
    var tolerances: Tolerances { options.tolerances }

    /// FNV-1a of the instance id: each case draws its own faults, whatever order the cases run in.
    static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    /// Whether the verdict is decided: a MUST finding makes it `fail` whatever comes after, short of an error.
    var verdictDecided: Bool { findings.contains { $0.level == .must } }
    /// Whether a wait for evidence was cut short because the verdict was decided.
    private(set) var cutShort = false

    /// The bound of a wait for more evidence: `limit`, or nothing once the verdict is decided, so that a case whose
    /// provider has already failed a MUST statement does not wait out the bounds of events that will not come.
    /// Only waits whose running out is a finding are bounded so (never one whose running out is an error).
    func evidenceBound(_ limit: Duration) -> Duration {
        guard verdictDecided, limit > .zero else { return limit }
        cutShort = true
        return .zero
    }

    func finding(_ message: String, line: Int? = nil) {
        finding(line.map { "line \($0): \(message)" } ?? message, level: instance.level)
    }

    /// A finding at a level of its own (the audit's: HANDLE-5 is a SHOULD whatever the case).
    func finding(_ message: String, level: Level) {
        findings.append(Finding(level: level, message: message))
        options.onFinding?(level, message)
    }

    /// Runs the case to its verdict; never throws.
    func run(pcapPath: String?) -> CaseResult {
        let started = ContinuousClock.now
        self.pcapPath = pcapPath
        var verdict: Verdict
        var messages: [String]
        do {
            do {
                try stages.setUp()
                scene.recordOwnedSockets(includingListener: true)
                for step in instance.steps { try perform(step) }
                scene.recordOwnedSockets(includingListener: false)
                try evidence.judgeFinalExpectations()
            } catch is SetupFailed {
                // The finding says which setup call failed; the audit still runs.
            } catch is StepsEnded {
                // The finding says why the steps ended; the audit still runs.
            }
            try stages.tearDown()
            verdict = Verdict.of(findings.map(\.level), caseLevel: instance.level)
            messages = findings.map(\.message)
            if cutShort { messages.append(Self.cutShortNote) }
        } catch let stuck as CallNeverReturned {
            finding(stuck.message)
            verdict = Verdict.of(findings.map(\.level), caseLevel: instance.level)
            messages = findings.map(\.message) + ["(the provider is still inside that call: the case went no further and did not audit it)"]
            stages.abandon()
        } catch let abort as CaseAbort {
            verdict = .error
            messages = [abort.message] + findings.map(\.message)
            stages.abandon()
        } catch {
            verdict = .error
            messages = ["\(error)"] + findings.map(\.message)
            stages.abandon()
        }
        return CaseResult(
            id: instance.id, caseID: instance.caseID, title: instance.title, statements: instance.statements, level: instance.level,
            verdict: verdict, messages: messages, pcap: scene.capture == nil ? nil : pcapPath,
            seconds: (ContinuousClock.now - started).seconds, expectedDeviation: nil, faults: faultLayer.map { $0.log.map(\.description) },
            ladder: drawLadder())
    }

    func drawLadder() -> Ladder {
        ladder.draw(
            provider: options.provider.name, faults: faultLayer?.timedLog ?? [], peers: scene.peers,
            wire: scene.capture?.ladder, peerPorts: scene.peerPorts.union(scene.listeners.map(\.address.port)))
    }

    /// Runs one step: its kind says how.
    func perform(_ step: Step) throws {
        if step.isMain { mainStepStarts.append(.now) }
        ladder.noteStep(step)
        try step.action.perform(step, in: self)
    }

    /// Said in a result whose later waits were cut short.
    static let cutShortNote = "(the first MUST finding decided the verdict: the later waits for evidence were not waited out)"

    struct SetupFailed: Error {}

    /// The remaining steps cannot be made meaningfully (a finding says why); the audit still runs.
    struct StepsEnded: Error {}

    // MARK: - What the steps use

    /// The handle a step names; a name no step has created is an error in the case, found when it runs.
    func handle(_ name: String, _ step: Step) throws -> SocketHandle {
        if name == "bogus" { return SocketHandle(rawValue: 0x5EED_0000_0000_0001) }
        if let handle = scene.handles[name] { return handle }
        guard let handle = scene.released[name] else {
            // After a finding (the call that should have made the handle failed) the steps end; otherwise the case is wrong.
            if !findings.isEmpty { throw StepsEnded() }
            throw CaseAbort("line \(step.line): no handle named '\(name)' exists at this step")
        }
        // Outside an exclusive case a released value may already name another case's socket: the steps end here.
        guard instance.exclusive || step.expect == .error(.notSocket) else {
            finding("\(step.action.name) on \(name) not made: the handle was released earlier than the case expects")
            throw StepsEnded()
        }
        return handle
    }

    func peer(_ name: String, _ step: Step) throws -> PeerEnd {
        guard let peer = scene.peers[name] else { throw CaseAbort("line \(step.line): no peer named '\(name)' exists at this step") }
        return peer
    }

    /// A harness-side action; its failure is the harness's, not the provider's.
    func harness<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw CaseAbort("harness: \(error)")
        }
    }

    func connectTarget(_ target: ConnectTarget) throws -> SocketAddress {
        switch target {
        case .peer:
            if let listener = scene.listeners.first { return listener.address }
            let listener = try harness { try PeerListener(family, receiveBuffer: instance.peer.receiveBuffer) }
            scene.listeners.append(listener)
            return listener.address
        case .stalled:
            // A listener whose accept queue is full drops new SYNs, so a connect to it stays in progress.
            let listener = try harness { try PeerListener(family, backlog: 0) }
            scene.listeners.append(listener)
            scene.stalled.append(try harness { try PeerSocket.connect(to: listener.address) })
            return listener.address
        }
    }

    /// Makes a subject call on the step's thread. On `main` it waits (bounded by the watchdog) and checks the result;
    /// on another thread it leaves the call running, to be checked when a `wait: returned` step or the end collects it.
    func subjectCall(_ step: Step, _ body: @escaping @Sendable () throws(SocketError) -> CallOutcome.Value) throws {
        let label = "\(step.action.name) on \(step.handle) (line \(step.line))"
        let zeroIsEndOfStream = step.action.zeroIsEndOfStream
        let call = BackgroundCall(label) {
            let started = ContinuousClock.now
            let result = Result { () throws(SocketError) in try body() }
            return CallOutcome(result: result, startedAt: started, returnedAt: .now, zeroIsEndOfStream: zeroIsEndOfStream)
        }
        if !step.isMain {
            if scene.threads[step.thread].map({ $0.call.finishedAt == nil }) == true {
                throw CaseAbort("line \(step.line): thread '\(step.thread)' still has a call pending")
            }
            scene.threads[step.thread] = ThreadCall(step: step, call: call)
            return
        }
        guard let outcome = call.result(within: options.watchdog) else {
            ladder.noteStuckCall(step.action.callText(step), thread: step.thread, started: call.startedAt)
            try neverReturned(step, thread: nil)
            throw CaseAbort("provider did not return from \(step.action.name) within \(options.watchdog) (line \(step.line))")
        }
        absorb(outcome, of: step, reference: outcome.startedAt)
    }

    /// A provider call on the handle the step names (see `subjectCall`); `body` gets the subject and the handle.
    func callOnHandle(_ step: Step, _ body: @escaping @Sendable (Subject, SocketHandle) throws(SocketError) -> CallOutcome.Value) throws {
        let handle = try handle(step.handle, step)
        let subject = subject
        try subjectCall(step) { () throws(SocketError) in try body(subject, handle) }
    }

    /// A call whose step bounds its return (`within`, `about`) and that has not returned within the watchdog fails
    /// the case; an unbounded one is left to the caller (an `error`: the provider is stuck where nothing was required).
    /// An unbounded call left pending after the verdict was decided is the failure's consequence, not the
    /// harness's trouble: the case fails on the findings already made.
    func neverReturned(_ step: Step, thread: String?, waited: Duration? = nil) throws {
        let on = thread.map { " on thread \($0)" } ?? ""
        guard let timing = step.timing else {
            guard verdictDecided else { return }
            throw CallNeverReturned(
                message:
                    "line \(step.line): \(step.action.name)\(on) had not returned \(Judge.format(waited ?? options.watchdog)) after the verdict was decided; the failure above left it pending"
            )
        }
        throw CallNeverReturned(
            message:
                "line \(step.line): \(step.action.name)\(on) expected to return \(timing); it had not returned when the watchdog gave up on it (\(options.watchdog))"
        )
    }

    /// Records what a returned call produced (handles, accepted bytes, operations) and judges it.
    func absorb(_ outcome: CallOutcome, of step: Step, reference: ContinuousClock.Instant) {
        ladder.noteCall(step.action.callText(step), thread: step.thread, outcome)
        switch outcome.result {
        case .success(.handle(let handle)):
            if let name = step.action.newHandle { scene.handles[name] = handle }
        case .success(.count(let count)):
            if step.action.addsToAccepted { scene.accepted += count }
        case .success(.operation(let id)):
            if let name = step.action.newOperation { scene.operations[name] = id }
        default:
            break
        }
        if case .success = outcome.result, step.action is CloseStep, let handle = scene.handles[step.handle] {
            scene.released[step.handle] = handle
            scene.handles[step.handle] = nil
        }
        let judged = Judge.call(outcome, of: step, expected: step.expect ?? .ok, reference: reference, tolerances: tolerances)
        for message in judged { finding(message, line: step.line) }
    }
}

/// A stage of a case that works on the run's scene, options and subject, and gives its findings to the run.
protocol CaseStage {
    var run: CaseRun { get }
}

extension CaseStage {
    var scene: Scene { run.scene }
    var options: RunOptions { run.options }
    var instance: CaseInstance { run.instance }
    var subject: Subject { run.subject }
    func finding(_ message: String, line: Int? = nil) { run.finding(message, line: line) }
    func harness<T>(_ body: () throws -> T) throws -> T { try run.harness(body) }
}
