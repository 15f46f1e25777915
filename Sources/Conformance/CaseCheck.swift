import FaultInjection

/// What the runner would only find when a case runs, found when the file is loaded instead, so that `list`,
/// `explain` and `run` agree: every handle, thread, operation, gate, peer and connection a step or an
/// expectation names exists by then, and no step uses a handle the case closed before unless it expects
/// `notSocket` (or the case runs alone, `exclusive`). Each mistake is the case file's, with its line.
struct CaseCheck {
    let instance: CaseInstance
    let file: String

    private var handles: Set<String> = []
    /// Handles a main-thread close that had to succeed has released, with the line of that close.
    private var closedAt: [String: Int] = [:]
    private var threads: Set<String> = []
    private var receivingThreads: Set<String> = []
    private var operations: Set<String> = []
    private var peers: Set<String> = []

    init(_ instance: CaseInstance, file: String) {
        self.instance = instance
        self.file = file
    }

    static func check(_ instance: CaseInstance, file: String) throws(CaseFileError) {
        var check = CaseCheck(instance, file: file)
        try check.run()
    }

    private mutating func run() throws(CaseFileError) {
        switch instance.setup.kind {
        case .connected:
            handles = instance.setup.role == .server ? ["s", "l"] : ["s"]
            peers = ["peer"]
        case .listening:
            handles = ["l"]
        case .none:
            break
        }
        for step in instance.steps { try check(step) }
        for expectation in instance.expect.peers where !peers.contains(expectation.peer) {
            throw fail(expectation.line, "expects something of peer '\(expectation.peer)', which no step connects", known: peers)
        }
        for expectation in instance.expect.wire where !peers.contains(expectation.connection) {
            throw fail(expectation.line, "expects something of connection '\(expectation.connection)', which no step makes", known: peers)
        }
        for expectation in instance.expect.operations where !operations.contains(expectation.operation) {
            throw fail(
                expectation.line, "expects the completion of operation '\(expectation.operation)', which no step starts", known: operations)
        }
    }

    private mutating func check(_ step: Step) throws(CaseFileError) {
        if usesHandle(step.action) { try use(step.handle, step) }
        if !step.isMain { threads.insert(step.thread) }
        switch step.action {
        case .socket(let name), .accept(let name), .duplicate(let name):
            handles.insert(name)
            closedAt[name] = nil
        case .startReceive(let name, _), .startSend(let name, _), .startAccept(let name):
            operations.insert(name)
        case .receive:
            receivingThreads.insert(step.thread)
        case .close where step.isMain && (step.expect == nil || step.expect == .ok):
            closedAt[step.handle] = step.line
        case .bufferUntouched(let thread) where !receivingThreads.contains(thread):
            throw fail(step.line, "checks the buffer of a receive on thread '\(thread)', which makes none", known: receivingThreads)
        case .release(let gate) where !holds(gate):
            throw fail(step.line, "releases gate '\(gate)', which no rule of the case's faults holds (hold: \(gate))", known: [])
        case .peerSend(let peer, _), .peerRead(let peer, _), .peerReadAccepted(let peer), .peerClose(let peer, _),
            .peerShutdown(let peer):
            try needPeer(peer, step.line)
        case .peerConnect(let name):
            guard instance.setup.kind == .listening else {
                throw fail(step.line, "peer-connect needs a subject listener (setup: kind: listening)", known: [])
            }
            peers.insert(name)
        case .wait(let wait):
            try check(wait, step.line)
        default:
            break
        }
    }

    private func check(_ wait: Wait, _ line: Int) throws(CaseFileError) {
        switch wait {
        case .pending(let thread), .returned(let thread):
            guard threads.contains(thread) else {
                throw fail(line, "waits for a call on thread '\(thread)', which no earlier step makes", known: threads)
            }
        case .peerRead(let peer, _), .peerEnding(let peer, _):
            try needPeer(peer, line)
        case .completed(let operation):
            guard operations.contains(operation) else {
                throw fail(line, "waits for operation '\(operation)', which no earlier step starts", known: operations)
            }
        case .released(let handle):
            guard handles.contains(handle) else {
                throw fail(line, "waits for the release of '\(handle)', which no step made", known: handles)
            }
        case .acknowledged, .delivered:
            break
        }
    }

    private func use(_ name: String, _ step: Step) throws(CaseFileError) {
        if name == "bogus" { return }
        guard handles.contains(name) else {
            throw fail(step.line, "\(step.action.name) names handle '\(name)', which no earlier step makes", known: handles)
        }
        if let closed = closedAt[name], !instance.exclusive, step.expect != .error(.notSocket) {
            throw CaseFileError(
                SourceLocation(file: file, line: step.line),
                "\(step.action.name) on '\(name)', which the close at line \(closed) released: expect notSocket here, or mark the case exclusive"
            )
        }
    }

    private func needPeer(_ name: String, _ line: Int) throws(CaseFileError) {
        guard peers.contains(name) else { throw fail(line, "names peer '\(name)', which no earlier step connects", known: peers) }
    }

    private func holds(_ gate: String) -> Bool {
        instance.faults.rules.contains { $0.action == .hold(gate: gate) }
    }

    /// Whether the step is a call on the subject handle it names.
    private func usesHandle(_ action: Action) -> Bool {
        switch action {
        case .socket, .churn, .cleanup, .bufferUntouched, .release, .peerSend, .peerRead, .peerReadAccepted, .peerClose,
            .peerShutdown, .peerConnect, .wait, .wireQuiet:
            false
        case .listen, .accept, .connect, .send, .fill, .receive, .close, .shutdown, .setLinger, .setLingerRaw, .dontLinger,
            .getLinger, .setBlocking, .duplicate, .startReceive, .startSend, .startAccept, .everyCall:
            true
        }
    }

    private func fail(_ line: Int, _ message: String, known: Set<String>) -> CaseFileError {
        let names = known.isEmpty ? "" : " (there are: \(known.sorted().joined(separator: ", ")))"
        return CaseFileError(SourceLocation(file: file, line: line), message + names)
    }
}
