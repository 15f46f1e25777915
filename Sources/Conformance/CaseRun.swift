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

/// A call left running on a named thread.
struct ThreadCall {
    let step: Step
    let call: BackgroundCall<CallOutcome>
    var checked = false
}

/// One observation that contradicts the case, with the level it counts at.
struct Finding {
    var level: Level
    var message: String
}

/// Runs one case instance against a fresh provider: setup, steps, expectations, audit.
final class CaseRun {
    let instance: CaseInstance
    let options: RunOptions
    let subject: Subject
    var handles: [String: SocketHandle] = [:] {
        didSet {
            // The fault plan's rules name handles as the case does.
            for (name, handle) in handles where oldValue[name] != handle { faultLayer?.context.name(handle, name) }
        }
    }
    /// The fault layer around the provider, when the case runs through one.
    var faultLayer: FaultLayer?
    /// Handles closed successfully, still nameable by later steps (CLOSE-2).
    var released: [String: SocketHandle] = [:]
    var churned: [SocketHandle] = []
    var receiveBuffers: [String: ReceiveBuffer] = [:]
    var peerSent = 0
    var cleanedUp = false
    /// Threads whose call was found overdue at a `wait: returned`; joined at the end without a second finding.
    var overdue: Set<String> = []
    var blocking: [String: Bool] = [:]
    var peers: [String: PeerEnd] = [:]
    var threads: [String: ThreadCall] = [:]
    var operations: [String: OperationID] = [:]
    var accepted = 0
    var findings: [Finding] = []
    var capture: LiveCapture?
    var pcapPath: String?
    /// Inodes of the subject's sockets in this case: its listener and its ends of the peers' connections.
    var ownedInodes: Set<String> = []
    var listeners: [PeerListener] = []
    var stalled: [PeerSocket] = []
    var mainStepStarts: [ContinuousClock.Instant] = []
    var subjectListenAddress: SocketAddress?
    let caseDeadline: Deadline
    /// The case's time 0 for its ladder.
    let origin = TimeOrigin()
    /// The ladder's calls and steps, in the order they were noted.
    var timeline: [LadderEvent] = []
    /// The local ports of the harness's sockets in this case: segments from them come from the peer's side.
    var peerPorts: Set<UInt16> = []

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
        }
        caseDeadline = Deadline(after: options.caseLimit)
    }

    var family: SocketAddress.Family { instance.setup.family }

    /// FNV-1a of the instance id: each case draws its own faults, whatever order the cases run in.
    static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
    var tolerances: Tolerances { options.tolerances }

    func finding(_ message: String, line: Int? = nil) {
        findings.append(Finding(level: instance.level, message: line.map { "line \($0): \(message)" } ?? message))
    }

    /// Runs the case to its verdict; never throws.
    func run(pcapPath: String?) -> CaseResult {
        let started = ContinuousClock.now
        self.pcapPath = pcapPath
        var verdict: Verdict
        var messages: [String]
        do {
            do {
                try setUp()
                recordOwnedSockets(includingListener: true)
                for step in instance.steps {
                    try perform(step)
                    if case .peerConnect = step.action { recordOwnedSockets(includingListener: false) }
                }
                recordOwnedSockets(includingListener: false)
                try checkFinalExpectations()
            } catch is SetupFailed {
                // The finding says which setup call failed; the audit still runs.
            } catch is StepsEnded {
                // The finding says why the steps ended; the audit still runs.
            }
            try tearDown()
            verdict =
                findings.map(\.level).max().map { level in
                    switch level {
                    case .must: .fail
                    case .should: .nonStrict
                    case .info: .informational
                    }
                } ?? (instance.level == .info ? .informational : .pass)
            messages = findings.map(\.message)
        } catch let abort as CaseAbort {
            verdict = .error
            messages = [abort.message] + findings.map(\.message)
            abandon()
        } catch {
            verdict = .error
            messages = ["\(error)"] + findings.map(\.message)
            abandon()
        }
        return CaseResult(
            id: instance.id, caseID: instance.caseID, title: instance.title, statements: instance.statements, level: instance.level,
            verdict: verdict, messages: messages, pcap: capture == nil ? nil : pcapPath, seconds: (ContinuousClock.now - started).seconds,
            expectedDeviation: nil, faults: faultLayer.map { $0.log.map(\.description) }, ladder: drawLadder())
    }

    /// Notes which of the process's sockets are the subject's in this case, identified by the peers' port pairs
    /// (unique while the connections live) and, while it is certainly still ours, the listener's port.
    func recordOwnedSockets(includingListener: Bool) {
        var pairs: Set<[UInt16]> = []
        for peer in peers.values {
            guard let local = try? peer.socket.localAddress, let remote = try? peer.socket.remoteAddress else { continue }
            peerPorts.insert(local.port)
            pairs.insert([remote.port, local.port])
        }
        let listenPort = includingListener ? subjectListenAddress?.port : nil
        for entry in SocketInventory.sockets() {
            if pairs.contains([entry.localPort, entry.remotePort])
                || (entry.localPort == listenPort && entry.state == SocketInventory.listening)
            {
                ownedInodes.insert(entry.inode)
            }
        }
    }

    // MARK: - Setup

    func startCapture(port: UInt16) throws {
        guard options.capture else { return }
        do {
            capture = try LiveCapture(filter: LiveCapture.filter(ports: [port]), path: pcapPath)
        } catch {
            throw CaseAbort("capture: \(error.message)")
        }
    }

    func setUp() throws {
        let setup = instance.setup
        switch setup.kind {
        case .none:
            return
        case .listening:
            let address = try listenSubject(name: "l")
            try startCapture(port: address.port)
        case .connected where setup.role == .client:
            let listener = try harness { try PeerListener(family, receiveBuffer: instance.peer.receiveBuffer) }
            listeners.append(listener)
            try startCapture(port: listener.address.port)
            let handle = try setupCall("socket") { [subject, family] () throws(SocketError) in try subject.provider.socket(family) }
            handles["s"] = handle
            if let size = setup.subjectSendBuffer {
                try setupCall("setOption(sendBufferSize)") { [subject] () throws(SocketError) in
                    try subject.provider.setOption(handle, .sendBufferSize, to: .size(size))
                }
            }
            let address = listener.address
            try setupCall("connect") { [subject] () throws(SocketError) in try subject.provider.connect(handle, to: address) }
            peers["peer"] = PeerEnd(name: "peer", socket: try harness { try listener.accept() })
        case .connected:
            let address = try listenSubject(name: "l")
            try startCapture(port: address.port)
            let peerSocket = try harness { try PeerSocket.connect(to: address, receiveBuffer: instance.peer.receiveBuffer) }
            peers["peer"] = PeerEnd(name: "peer", socket: peerSocket)
            let listener = handles["l"]!
            let (handle, _) = try setupCall("accept") { [subject] () throws(SocketError) in try subject.provider.accept(listener) }
            handles["s"] = handle
            if let size = setup.subjectSendBuffer {
                try setupCall("setOption(sendBufferSize)") { [subject] () throws(SocketError) in
                    try subject.provider.setOption(handle, .sendBufferSize, to: .size(size))
                }
            }
            try setupCall("close(listener)") { [subject] () throws(SocketError) in try subject.close(listener) }
            handles["l"] = nil
        }
        peers["peer"]?.startReading(instance.peer.reads, until: caseDeadline)
    }

    func listenSubject(name: String) throws -> SocketAddress {
        let (handle, address) = try setupCall("listen") { [subject, family, instance] () throws(SocketError) in
            try subject.listen(family, backlog: instance.setup.backlog)
        }
        handles[name] = handle
        subjectListenAddress = address
        return address
    }

    /// A harness-side action; its failure is the harness's, not the provider's.
    func harness<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw CaseAbort("harness: \(error)")
        }
    }

    /// A provider call made to set the case up, bounded by the watchdog; a failure is a finding that ends the case.
    func setupCall<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws(SocketError) -> T) throws -> T {
        let call = BackgroundCall("\(name)") { Result { () throws(SocketError) in try body() } }
        let result = call.result(within: options.watchdog)
        switch result {
        case .success?:
            noteCall("setup: \(name)", thread: "main", started: call.startedAt, returned: call.finishedAt, result: "success", failed: false)
        case .failure(let error)?:
            noteCall("setup: \(name)", thread: "main", started: call.startedAt, returned: call.finishedAt, result: error.name, failed: true)
        case nil: noteStuckCall("setup: \(name)", thread: "main", started: call.startedAt)
        }
        guard let result else {
            throw CaseAbort("provider did not return from \(name) within \(options.watchdog) (setting the case up)")
        }
        switch result {
        case .success(let value): return value
        case .failure(let error):
            finding("setting the case up, \(name) failed with \(error.name)")
            throw SetupFailed()
        }
    }

    struct SetupFailed: Error {}

    /// The remaining steps cannot be made meaningfully (a finding says why); the audit still runs.
    struct StepsEnded: Error {}
}

/// A receive's buffer, kept after the call returns so that a later write into it can be seen (PEND-7).
final class ReceiveBuffer: @unchecked Sendable {
    static let sentinel: UInt8 = 0xEE
    let memory: UnsafeMutableRawBufferPointer
    var returned = 0

    init(size: Int) {
        memory = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: Self.sentinel)
    }

    deinit { memory.deallocate() }

    /// Bytes past what the call returned that are no longer the sentinel.
    var writtenAfter: Int { memory[returned...].filter { $0 != Self.sentinel }.count }
}
