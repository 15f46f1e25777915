import FaultInjection

/// What the runner would only find when a case runs, found when the file is loaded instead, so that `list`,
/// `explain` and `run` agree: every handle, thread, operation, gate, peer and connection a step or an
/// expectation names exists by then, and no step uses a handle the case closed before unless it expects
/// `notSocket` (or the case runs alone, `exclusive`). Each mistake is the case file's, with its line.
struct CaseCheck {
    let instance: CaseInstance
    let file: String

    // What the steps so far have made; a step's kind adds to these and checks against them.
    var handles: Set<String> = []
    /// Handles a main-thread close that had to succeed has released, with the line of that close.
    var closedAt: [String: Int] = [:]
    var threads: Set<String> = []
    var receivingThreads: Set<String> = []
    var operations: Set<String> = []
    var peers: Set<String> = []

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
        if step.action.usesHandle { try use(step.handle, step) }
        if !step.isMain { threads.insert(step.thread) }
        if let name = step.action.newHandle {
            handles.insert(name)
            closedAt[name] = nil
        }
        if let operation = step.action.newOperation { operations.insert(operation) }
        try step.action.check(step, &self)
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

    func needPeer(_ name: String, _ line: Int) throws(CaseFileError) {
        guard peers.contains(name) else { throw fail(line, "names peer '\(name)', which no earlier step connects", known: peers) }
    }

    func fail(_ line: Int, _ message: String, known: Set<String>) -> CaseFileError {
        let names = known.isEmpty ? "" : " (there are: \(known.sorted().joined(separator: ", ")))"
        return CaseFileError(SourceLocation(file: file, line: line), message + names)
    }
}
