import Harness
import ProviderInterface
import Yams

// The steps that are provider calls on the subject: each runs on its step's thread, through `CaseRun.subjectCall`,
// and is checked against its expected result (success unless `expect:` says otherwise) when it returns.

/// `socket: NAME`: a new socket of the setup's family.
struct SocketStep: StepKind {
    static let keyword = "socket"
    let name: String

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self(name: try syntax.string("the new handle's name")) }
    func explain(_ step: Step) -> String { "create a socket, named \(name)" }
    var usesHandle: Bool { false }
    var newHandle: String? { name }

    func perform(_ step: Step, in run: CaseRun) throws {
        let (provider, family) = (run.subject.provider, run.family)
        try run.subjectCall(step) { () throws(SocketError) in .handle(try provider.socket(family)) }
    }
}

/// `listen: HANDLE`: bind to the loopback and listen with the setup's backlog.
struct ListenStep: StepKind {
    static let keyword = "listen"

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        try syntax.handleArgument("the handle")
        return Self()
    }
    func explain(_ step: Step) -> String { "listen on \(step.handle)" }
    var usesHandle: Bool { true }

    func perform(_ step: Step, in run: CaseRun) throws {
        let handle = try run.handle(step.handle, step)
        let (provider, family, backlog) = (run.subject.provider, run.family, run.instance.setup.backlog)
        try run.subjectCall(step) { () throws(SocketError) in
            try provider.bind(handle, to: .loopback(family))
            try provider.listen(handle, backlog: backlog)
            return .none
        }
        if let address = try? provider.localAddress(handle) { run.scene.subjectListenAddress = address }
    }
}

/// `accept: LISTENER, as: NAME`.
struct AcceptStep: StepKind {
    static let keyword = "accept"
    let name: String

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        try syntax.handleArgument("the listening handle")
        return Self(name: try syntax.named("handle"))
    }
    func explain(_ step: Step) -> String { "accept on \(step.handle), naming the new handle \(name)" }
    var usesHandle: Bool { true }
    var newHandle: String? { name }

    func perform(_ step: Step, in run: CaseRun) throws {
        try run.callOnHandle(step) { subject, handle throws(SocketError) in .handle(try subject.provider.accept(handle).0) }
    }
}

/// `connect: peer | stalled`.
struct ConnectStep: StepKind {
    static let keyword = "connect"
    let target: ConnectTarget

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        let text = try syntax.string("where to connect")
        guard let target = ConnectTarget(rawValue: text) else {
            throw syntax.fail("expected where to connect as peer or stalled, not '\(text)'")
        }
        return Self(target: target)
    }
    func explain(_ step: Step) -> String {
        target == .stalled
            ? "connect on \(step.handle) to a listener whose queue is full (stays in progress)"
            : "connect on \(step.handle) to the peer's listener"
    }
    var usesHandle: Bool { true }

    func perform(_ step: Step, in run: CaseRun) throws {
        let handle = try run.handle(step.handle, step)
        let address = try run.connectTarget(target)
        let provider = run.subject.provider
        try run.subjectCall(step) { () throws(SocketError) in
            try provider.connect(handle, to: address)
            return .none
        }
    }
}

/// `send: SIZE`: the next bytes of the case's payload.
struct SendStep: StepKind {
    static let keyword = "send"
    let bytes: Int

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self(bytes: try syntax.size("the bytes to send")) }
    func explain(_ step: Step) -> String { "send \(sizeText(bytes)) on \(step.handle)" }
    var usesHandle: Bool { true }
    var addsToAccepted: Bool { true }
    func callText(_ step: Step) -> String { "send \(bytes) bytes on \(step.handle)" }

    func perform(_ step: Step, in run: CaseRun) throws {
        let payload = Payload.bytes(bytes, offset: run.scene.accepted)
        try run.callOnHandle(step) { subject, handle throws(SocketError) in .count(try subject.provider.send(handle, payload)) }
    }
}

/// `fill: HANDLE`: send without blocking until the provider would block (or `bytes:` are accepted).
struct FillStep: StepKind {
    static let keyword = "fill"
    let limit: Int?

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        try syntax.handleArgument("the handle")
        let reader = syntax.reader
        return Self(limit: try syntax.extra["bytes"].map { node throws(CaseFileError) in try reader.size(node, "the most bytes to send") })
    }
    func explain(_ step: Step) -> String {
        let text = "send on \(step.handle) without blocking until the provider would block (the peer's window and the buffers are full)"
        return text + (limit.map { " or \(sizeText($0)) are accepted" } ?? "")
    }
    var usesHandle: Bool { true }
    var addsToAccepted: Bool { true }

    func perform(_ step: Step, in run: CaseRun) throws {
        let handle = try run.handle(step.handle, step)
        let most = min(limit ?? 64 << 20, 64 << 20)
        let wasBlocking = run.scene.blocking[step.handle] ?? true
        let start = run.scene.accepted
        let provider = run.subject.provider
        try run.subjectCall(step) { () throws(SocketError) in
            try provider.setBlocking(handle, false)
            var total = 0
            while total < most {
                let chunk = Payload.bytes(min(65536, most - total), offset: start + total)
                do throws(SocketError) {
                    total += try provider.send(handle, chunk)
                } catch {
                    guard error == .wouldBlock else { throw error }
                    break
                }
            }
            if wasBlocking { try provider.setBlocking(handle, true) }
            return .count(total)
        }
    }
}

/// `receive: SIZE`: into a buffer kept after the call, so that a later write into it shows (PEND-7).
struct ReceiveStep: StepKind {
    static let keyword = "receive"
    let bytes: Int

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self(bytes: try syntax.size("the bytes to receive")) }
    func explain(_ step: Step) -> String { "receive up to \(sizeText(bytes)) on \(step.handle)" }
    var usesHandle: Bool { true }
    var zeroIsEndOfStream: Bool { true }
    func callText(_ step: Step) -> String { "receive \(bytes) bytes on \(step.handle)" }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) { check.receivingThreads.insert(step.thread) }

    func perform(_ step: Step, in run: CaseRun) throws {
        let handle = try run.handle(step.handle, step)
        let buffer = ReceiveBuffer(size: bytes)
        run.scene.receiveBuffers[step.thread] = buffer
        let provider = run.subject.provider
        try run.subjectCall(step) { () throws(SocketError) in
            let count = try provider.receive(handle, into: buffer.memory)
            buffer.returned = count
            return .count(count)
        }
    }
}

/// `close: HANDLE`, through the handle audit.
struct CloseStep: StepKind {
    static let keyword = "close"

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        try syntax.handleArgument("the handle")
        return Self()
    }
    func explain(_ step: Step) -> String { "close \(step.handle)" }
    var usesHandle: Bool { true }
    func check(_ step: Step, _ check: inout CaseCheck) throws(CaseFileError) {
        // A main-thread close that must succeed releases the handle: a later use must expect notSocket.
        if step.isMain && (step.expect == nil || step.expect == .ok) { check.closedAt[step.handle] = step.line }
    }

    func perform(_ step: Step, in run: CaseRun) throws {
        try run.callOnHandle(step) { subject, handle throws(SocketError) in
            try subject.close(handle)
            return .none
        }
    }
}

/// `shutdown: send | receive | both | N`.
struct ShutdownStep: StepKind {
    static let keyword = "shutdown"
    let direction: Int32

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        let text = try syntax.string("the direction")
        let directions: [String: Int32] = ["receive": 0, "send": 1, "both": 2]
        guard let direction = directions[text] ?? Int32(text) else {
            throw syntax.fail("expected the direction as send, receive, both or a number, not '\(text)'")
        }
        return Self(direction: direction)
    }
    func explain(_ step: Step) -> String {
        let names = ["receive", "send", "both"]
        return "shutdown(\(names.indices.contains(Int(direction)) ? names[Int(direction)] : String(direction))) on \(step.handle)"
    }
    var usesHandle: Bool { true }

    func perform(_ step: Step, in run: CaseRun) throws {
        let direction = ShutdownDirection(rawValue: direction)
        let sent = SentFin()
        try run.callOnHandle(step) { subject, handle throws(SocketError) in
            try subject.provider.shutdown(handle, direction)
            if direction == .send || direction == .both { sent.value = true }
            return .none
        }
        // A main-thread call has returned here: its FIN, once out, is part of what `wait: acknowledged` waits for.
        if step.isMain && sent.value { run.scene.subjectShutDown = true }
    }

    /// Whether the call succeeded, set on the call's thread and read after it returned.
    private final class SentFin: @unchecked Sendable { var value = false }
}

/// `linger: off | SECONDS | {on: BOOL, seconds: N}`.
struct LingerStep: StepKind {
    static let keyword = "linger"
    let linger: Linger
    /// Given as `{on, seconds}`: passed as is, even when out of range.
    let raw: Bool

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { try parseValue(syntax.argument, syntax.reader) }

    /// A linger value as the scenario language writes it (also what `get-linger` reads back).
    static func parseValue(_ node: Node, _ reader: NodeReader) throws(CaseFileError) -> Self {
        if let fields = node.mapping {
            var on: Bool?
            var seconds: Int?
            for (key, value) in try reader.mapping(.mapping(fields), what: "a linger value", allowed: ["on", "seconds"]) {
                if key == "on" {
                    on = try reader.bool(value, "on")
                } else {
                    seconds = try reader.integer(value, "seconds", in: Int(Int32.min)...Int(Int32.max))
                }
            }
            guard let on, let seconds else { throw reader.fail(node, "a raw linger value needs both 'on' and 'seconds'") }
            return Self(linger: Linger(isOn: on, seconds: seconds), raw: true)
        }
        let text = try reader.string(node, "the linger value")
        if text == "off" { return Self(linger: .off, raw: false) }
        if let seconds = Int32(text).map(Int.init) ?? NodeReader.parseDuration(text).map({ Int($0.components.seconds) }) {
            return Self(linger: .timeout(seconds), raw: false)
        }
        throw reader.fail(node, "expected linger as off, a timeout in seconds (0 is abortive) such as 1s, or {on: BOOL, seconds: N}")
    }

    func explain(_ step: Step) -> String {
        raw ? "set linger {on: \(linger.isOn), seconds: \(linger.seconds)} on \(step.handle)" : "set \(linger) on \(step.handle)"
    }
    var usesHandle: Bool { true }
    func callText(_ step: Step) -> String { raw ? "\(name) on \(step.handle)" : "set \(linger) on \(step.handle)" }

    func perform(_ step: Step, in run: CaseRun) throws {
        let linger = linger
        try run.callOnHandle(step) { subject, handle throws(SocketError) in
            try subject.provider.setOption(handle, .linger, to: .linger(linger))
            return .none
        }
    }
}

/// `dont-linger: BOOL`: `SO_DONTLINGER`; true turns linger off and keeps the timeout.
struct DontLingerStep: StepKind {
    static let keyword = "dont-linger"
    let flag: Bool

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self(flag: try syntax.bool("dont-linger")) }
    func explain(_ step: Step) -> String { "set SO_DONTLINGER \(flag) on \(step.handle)" }
    var usesHandle: Bool { true }

    func perform(_ step: Step, in run: CaseRun) throws {
        let flag = flag
        try run.callOnHandle(step) { subject, handle throws(SocketError) in
            try subject.provider.setOption(handle, .dontLinger, to: .flag(flag))
            return .none
        }
    }
}

/// `get-linger: VALUE`: reads the linger option, which must read back as VALUE.
struct GetLingerStep: StepKind {
    static let keyword = "get-linger"
    let expected: Linger

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        let value = try LingerStep.parseValue(syntax.argument, syntax.reader)
        guard !value.raw else { throw syntax.fail("expected the linger value to read back as off, 0 or a timeout such as 2s") }
        return Self(expected: value.linger)
    }
    func explain(_ step: Step) -> String { "read linger on \(step.handle); it must read back \(expected)" }
    var usesHandle: Bool { true }
    func judgeValue(_ value: CallOutcome.Value) -> String? {
        guard case .linger(let linger) = value, linger != expected else { return nil }
        return "get-linger read back \(linger); expected \(expected)"
    }

    func perform(_ step: Step, in run: CaseRun) throws {
        try run.callOnHandle(step) { subject, handle throws(SocketError) in .linger(try subject.provider.linger(handle)) }
    }
}

/// `blocking: BOOL`: the handle's blocking mode (FIONBIO).
struct BlockingStep: StepKind {
    static let keyword = "blocking"
    let flag: Bool

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self { Self(flag: try syntax.bool("blocking")) }
    func explain(_ step: Step) -> String { "make \(step.handle) \(flag ? "blocking" : "nonblocking")" }
    var usesHandle: Bool { true }

    func perform(_ step: Step, in run: CaseRun) throws {
        let flag = flag
        try run.callOnHandle(step) { subject, handle throws(SocketError) in
            try subject.provider.setBlocking(handle, flag)
            return .none
        }
        run.scene.blocking[step.handle] = flag
    }
}

/// `duplicate: HANDLE, as: NAME`: a second handle on the same socket.
struct DuplicateStep: StepKind {
    static let keyword = "duplicate"
    let name: String

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        try syntax.handleArgument("the handle")
        return Self(name: try syntax.named("handle"))
    }
    func explain(_ step: Step) -> String { "duplicate \(step.handle), naming the copy \(name)" }
    var usesHandle: Bool { true }
    var newHandle: String? { name }

    func perform(_ step: Step, in run: CaseRun) throws {
        try run.callOnHandle(step) { subject, handle throws(SocketError) in .handle(try subject.provider.duplicate(handle)) }
    }
}

/// `start-receive: NAME`: an asynchronous receive of `bytes:` (64 KiB), completed through the upcalls.
struct StartReceiveStep: StepKind {
    static let keyword = "start-receive"
    let operation: String
    let bytes: Int

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        Self(operation: try syntax.string("the operation's name"), bytes: try syntax.bytes(default: 65536))
    }
    func explain(_ step: Step) -> String {
        "start an asynchronous receive of \(sizeText(bytes)) on \(step.handle), named \(operation)"
    }
    var usesHandle: Bool { true }
    var newOperation: String? { operation }
    func callText(_ step: Step) -> String { "start-receive \(bytes) bytes on \(step.handle)" }

    func perform(_ step: Step, in run: CaseRun) throws {
        let bytes = bytes
        try run.callOnHandle(step) { subject, handle throws(SocketError) in .operation(try subject.startReceive(handle, maxBytes: bytes)) }
    }
}

/// `start-send: NAME`: an asynchronous send of `bytes:` (64 KiB).
struct StartSendStep: StepKind {
    static let keyword = "start-send"
    let operation: String
    let bytes: Int

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        Self(operation: try syntax.string("the operation's name"), bytes: try syntax.bytes(default: 65536))
    }
    func explain(_ step: Step) -> String { "start an asynchronous send of \(sizeText(bytes)) on \(step.handle), named \(operation)" }
    var usesHandle: Bool { true }
    var newOperation: String? { operation }
    func callText(_ step: Step) -> String { "start-send \(bytes) bytes on \(step.handle)" }

    func perform(_ step: Step, in run: CaseRun) throws {
        let payload = Payload.bytes(bytes, seed: 0x33)
        try run.callOnHandle(step) { subject, handle throws(SocketError) in .operation(try subject.startSend(handle, payload)) }
    }
}

/// `start-accept: NAME`: an asynchronous accept on `handle:` (the listener `l`).
struct StartAcceptStep: StepKind {
    static let keyword = "start-accept"
    let operation: String

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        let reader = syntax.reader
        syntax.handle = try syntax.extra["handle"].map { node throws(CaseFileError) in try reader.string(node, "the handle") } ?? "l"
        return Self(operation: try syntax.string("the operation's name"))
    }
    func explain(_ step: Step) -> String { "start an asynchronous accept on \(step.handle), named \(operation)" }
    var usesHandle: Bool { true }
    var newOperation: String? { operation }

    func perform(_ step: Step, in run: CaseRun) throws {
        try run.callOnHandle(step) { subject, handle throws(SocketError) in .operation(try subject.startAccept(handle)) }
    }
}

/// `every-call: HANDLE`: CLOSE-2's calls, each naming the handle and expected to fail the same way (notSocket).
struct EveryCallStep: StepKind {
    static let keyword = "every-call"

    static func parse(_ syntax: inout StepSyntax) throws(CaseFileError) -> Self {
        try syntax.handleArgument("the handle")
        return Self()
    }
    func explain(_ step: Step) -> String { "call send, receive, shutdown, options, blocking, duplicate and close on \(step.handle)" }
    var usesHandle: Bool { true }

    func perform(_ step: Step, in run: CaseRun) throws {
        let (provider, subject) = (run.subject.provider, run.subject)
        let handle = try run.handle(step.handle, step)
        let expected = step.expect ?? .error(.notSocket)
        let calls: [(String, @Sendable () throws(SocketError) -> Void)] = [
            ("send", { () throws(SocketError) in _ = try provider.send(handle, [1, 2, 3]) }),
            ("receive", { () throws(SocketError) in _ = try provider.receive(handle, maxBytes: 16) }),
            ("shutdown", { () throws(SocketError) in try provider.shutdown(handle, .both) }),
            ("get-linger", { () throws(SocketError) in _ = try provider.linger(handle) }),
            ("linger", { () throws(SocketError) in try provider.setOption(handle, .linger, to: .linger(.abortive)) }),
            ("blocking", { () throws(SocketError) in try provider.setBlocking(handle, false) }),
            ("duplicate", { () throws(SocketError) in _ = try provider.duplicate(handle) }),
            ("close", { () throws(SocketError) in try subject.close(handle) }),
        ]
        for (name, body) in calls {
            let call = BackgroundCall(name) { Result { () throws(SocketError) in try body() } }
            guard let result = call.result(within: run.options.watchdog) else {
                throw CaseAbort(
                    "provider did not return from \(name) on a released handle within \(run.options.watchdog) (line \(step.line))")
            }
            if !Judge.matches(result.map { .none }, expected, zeroIsEndOfStream: false) {
                let got: String =
                    switch result {
                    case .success: "success"
                    case .failure(let error): error.name
                    }
                run.finding("\(name) on the released handle expected \(expected); got \(got)", line: step.line)
            }
        }
    }
}
