import Foundation
import Harness
import PacketCapture
import ProviderInterface

extension CaseRun {
    /// The handle a step names; a name no step has created is an error in the case, found when it runs.
    func handle(_ name: String, _ step: Step) throws -> SocketHandle {
        if name == "bogus" { return SocketHandle(rawValue: 0x5EED_0000_0000_0001) }
        if let handle = handles[name] { return handle }
        guard let handle = released[name] else {
            // After a finding (the call that should have made the handle failed) the steps end; otherwise the case is wrong.
            if !findings.isEmpty { throw StepsEnded() }
            throw CaseAbort("line \(step.line): no handle named '\(name)' exists at this step")
        }
        // Outside an exclusive case a released value may already name another case's socket: the steps end here.
        guard instance.exclusive || expectsReleased(step) else {
            finding("\(step.action.name) on \(name) not made: the handle was released earlier than the case expects")
            throw StepsEnded()
        }
        return handle
    }

    /// Whether the step itself expects the handle to be released (it expects notSocket).
    func expectsReleased(_ step: Step) -> Bool {
        step.expect == .error(.notSocket)
    }

    func peer(_ name: String, _ step: Step) throws -> PeerEnd {
        guard let peer = peers[name] else { throw CaseAbort("line \(step.line): no peer named '\(name)' exists at this step") }
        return peer
    }

    func perform(_ step: Step) throws {
        if step.isMain { mainStepStarts.append(.now) }
        noteStep(step)
        let provider = subject.provider
        switch step.action {
        case .wait(let wait): try perform(wait, step)
        case .wireQuiet: try checkQuiet(step)
        case .peerSend(let name, let bytes):
            let sent = try harness { try peer(name, step).socket.send(Payload.bytes(bytes, seed: 0x5A), within: .seconds(10)) }
            if name == "peer" { peerSent += sent.sent }
            if let error = sent.error { finding("the peer's send failed with \(error.name) after \(sent.sent) bytes", line: step.line) }
        case .peerRead(let name, let bytes):
            try harness { try peer(name, step).read(limit: bytes, within: .seconds(10)) }
        case .peerReadAccepted(let name):
            let peer = try peer(name, step)
            let missing = accepted - peer.observed.bytes.count
            if missing > 0 { try harness { try peer.read(limit: missing, within: .seconds(10)) } }
        case .peerClose(let name, let abortive):
            try peer(name, step).close(abortive: abortive)
        case .peerShutdown(let name):
            try harness { try peer(name, step).socket.shutdownSending() }
        case .peerConnect(let name):
            guard let address = subjectListenAddress else {
                throw CaseAbort("line \(step.line): peer-connect needs a subject listener ('setup: kind: listening')")
            }
            let socket = try harness { try PeerSocket.connect(to: address, receiveBuffer: instance.peer.receiveBuffer) }
            peers[name] = PeerEnd(name: name, socket: socket)
        case .churn(let count):
            let family = self.family
            for _ in 0..<count {
                let call = BackgroundCall("socket") { Result { () throws(SocketError) in try provider.socket(family) } }
                guard let result = call.result(within: options.watchdog) else {
                    throw CaseAbort("provider did not return from socket within \(options.watchdog) (line \(step.line))")
                }
                switch result {
                case .success(let handle): churned.append(handle)
                case .failure(let error) where [.tooManySockets, .noBuffers].contains(error):
                    // A limit of the machine (descriptors, memory), not the provider's mistake: the case cannot be judged.
                    throw CaseAbort(
                        "line \(step.line): the system ran out of resources after \(churned.count) new sockets (\(error.name)); raise the limit (ulimit -n) or lower churn"
                    )
                case .failure(let error):
                    finding("socket failed with \(error.name) after \(churned.count) new sockets", line: step.line)
                    return
                }
            }
        case .cleanup:
            cleanUp()
        case .release(let gate):
            guard let faultLayer else { throw CaseAbort("line \(step.line): 'release' needs a fault plan that holds calls") }
            faultLayer.context.release(gate)
        case .bufferUntouched(let thread):
            guard let buffer = receiveBuffers[thread] else {
                throw CaseAbort("line \(step.line): no receive was made on thread '\(thread)'")
            }
            let written = buffer.writtenAfter
            if written > 0 {
                finding("the receive on thread \(thread) wrote \(written) bytes into its buffer after it had returned", line: step.line)
            }
        case .everyCall:
            try everyCall(step)
        default:
            try subjectStep(step)
        }
    }

    /// A call on a subject handle, on its thread, checked against its expectation when it returns.
    func subjectStep(_ step: Step) throws {
        let provider = subject.provider
        let subject = self.subject
        let family = self.family
        switch step.action {
        case .socket(let name):
            try subjectCall(step, expectedByDefault: .ok, naming: name) { () throws(SocketError) in .handle(try provider.socket(family)) }
        case .listen:
            let handle = try handle(step.handle, step)
            let backlog = instance.setup.backlog
            try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in
                try provider.bind(handle, to: .loopback(family))
                try provider.listen(handle, backlog: backlog)
                return .none
            }
            if let address = try? provider.localAddress(handle) { subjectListenAddress = address }
        case .accept(let name):
            let handle = try handle(step.handle, step)
            try subjectCall(step, expectedByDefault: .ok, naming: name) { () throws(SocketError) in .handle(try provider.accept(handle).0) }
        case .connect(let target):
            let handle = try handle(step.handle, step)
            let address = try connectTarget(target)
            try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in
                try provider.connect(handle, to: address)
                return .none
            }
        case .send(let bytes):
            let handle = try handle(step.handle, step)
            let payload = Payload.bytes(bytes, offset: accepted)
            try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in .count(try provider.send(handle, payload)) }
        case .fill(let limit):
            let handle = try handle(step.handle, step)
            let most = min(limit ?? 64 << 20, 64 << 20)
            let wasBlocking = blocking[step.handle] ?? true
            let start = accepted
            try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in
                try provider.setBlocking(handle, false)
                var total = 0
                while total < most {
                    let chunk = Payload.bytes(min(65536, most - total), offset: start + total)
                    do throws(SocketError) {
                        let sent = try provider.send(handle, chunk)
                        total += sent
                    } catch {
                        guard error == .wouldBlock else { throw error }
                        break
                    }
                }
                if wasBlocking { try provider.setBlocking(handle, true) }
                return .count(total)
            }
        case .receive(let bytes):
            let handle = try handle(step.handle, step)
            let buffer = ReceiveBuffer(size: bytes)
            receiveBuffers[step.thread] = buffer
            try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in
                let count = try provider.receive(handle, into: buffer.memory)
                buffer.returned = count
                return .count(count)
            }
        case .close:
            let handle = try handle(step.handle, step)
            try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in
                try subject.close(handle)
                return .none
            }
        case .shutdown(let direction):
            let handle = try handle(step.handle, step)
            try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in
                try provider.shutdown(handle, ShutdownDirection(rawValue: direction))
                return .none
            }
        case .setLinger(let linger):
            try option(step) { handle throws(SocketError) in try provider.setOption(handle, .linger, to: .linger(linger)) }
        case .setLingerRaw(let on, let seconds):
            try option(step) { handle throws(SocketError) in
                try provider.setOption(handle, .linger, to: .linger(Linger(isOn: on, seconds: seconds)))
            }
        case .dontLinger(let flag):
            try option(step) { handle throws(SocketError) in try provider.setOption(handle, .dontLinger, to: .flag(flag)) }
        case .getLinger:
            let handle = try handle(step.handle, step)
            try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in .linger(try provider.linger(handle)) }
        case .setBlocking(let flag):
            let handle = try handle(step.handle, step)
            blocking[step.handle] = flag
            try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in
                try provider.setBlocking(handle, flag)
                return .none
            }
        case .duplicate(let name):
            let handle = try handle(step.handle, step)
            try subjectCall(step, expectedByDefault: .ok, naming: name) { () throws(SocketError) in .handle(try provider.duplicate(handle))
            }
        case .startReceive(let name, let bytes):
            let handle = try handle(step.handle, step)
            try subjectCall(step, expectedByDefault: .ok, operation: name) { () throws(SocketError) in
                .operation(try subject.startReceive(handle, maxBytes: bytes))
            }
        case .startSend(let name, let bytes):
            let handle = try handle(step.handle, step)
            let payload = Payload.bytes(bytes, seed: 0x33)
            try subjectCall(step, expectedByDefault: .ok, operation: name) { () throws(SocketError) in
                .operation(try subject.startSend(handle, payload))
            }
        case .startAccept(let name):
            let handle = try handle(step.handle, step)
            try subjectCall(step, expectedByDefault: .ok, operation: name) { () throws(SocketError) in
                .operation(try subject.startAccept(handle))
            }
        default:
            throw CaseAbort("line \(step.line): '\(step.action.name)' is not a subject call")
        }
    }

    func option(_ step: Step, _ body: @escaping @Sendable (SocketHandle) throws(SocketError) -> Void) throws {
        let handle = try handle(step.handle, step)
        try subjectCall(step, expectedByDefault: .ok) { () throws(SocketError) in
            try body(handle)
            return .none
        }
    }

    func connectTarget(_ target: ConnectTarget) throws -> SocketAddress {
        switch target {
        case .peer:
            if let listener = listeners.first { return listener.address }
            let listener = try harness { try PeerListener(family, receiveBuffer: instance.peer.receiveBuffer) }
            listeners.append(listener)
            return listener.address
        case .stalled:
            // A listener whose accept queue is full drops new SYNs, so a connect to it stays in progress.
            let listener = try harness { try PeerListener(family, backlog: 0) }
            listeners.append(listener)
            stalled.append(try harness { try PeerSocket.connect(to: listener.address) })
            return listener.address
        }
    }

    /// Makes a subject call on the step's thread. On `main` it waits (bounded by the watchdog) and checks the result;
    /// on another thread it leaves the call running, to be checked when a `wait: returned` step or the end collects it.
    func subjectCall(
        _ step: Step, expectedByDefault: CallExpectation, naming name: String? = nil, operation: String? = nil,
        _ body: @escaping @Sendable () throws(SocketError) -> CallOutcome.Value
    ) throws {
        let label = "\(step.action.name) on \(step.handle) (line \(step.line))"
        let receives: Bool =
            switch step.action {
            case .receive: true
            default: false
            }
        let call = BackgroundCall(label) {
            let started = ContinuousClock.now
            let result = Result { () throws(SocketError) in try body() }
            return CallOutcome(result: result, startedAt: started, returnedAt: .now, zeroIsEndOfStream: receives)
        }
        if !step.isMain {
            if threads[step.thread].map({ $0.call.finishedAt == nil }) == true {
                throw CaseAbort("line \(step.line): thread '\(step.thread)' still has a call pending")
            }
            threads[step.thread] = ThreadCall(step: step, call: call)
            return
        }
        guard let outcome = call.result(within: options.watchdog) else {
            noteStuckCall(Self.callText(step), thread: step.thread, started: call.startedAt)
            throw CaseAbort("provider did not return from \(step.action.name) within \(options.watchdog) (line \(step.line))")
        }
        absorb(outcome, of: step, naming: name, operation: operation, reference: outcome.startedAt, expected: expectedByDefault)
    }

    /// Records what a returned call produced (handles, accepted bytes, operations) and checks it.
    func absorb(
        _ outcome: CallOutcome, of step: Step, naming name: String?, operation: String?, reference: ContinuousClock.Instant,
        expected defaultExpectation: CallExpectation
    ) {
        noteCall(Self.callText(step), thread: step.thread, outcome)
        switch outcome.result {
        case .success(.handle(let handle)):
            if let name { handles[name] = handle }
        case .success(.count(let count)):
            if case .send = step.action { accepted += count }
            if case .fill = step.action { accepted += count }
        case .success(.operation(let id)):
            if let operation { operations[operation] = id }
        case .success(.linger(let linger)):
            if case .getLinger(let expected) = step.action, linger != expected {
                finding("get-linger read back \(linger); expected \(expected)", line: step.line)
            }
        default:
            break
        }
        if case .success = outcome.result, case .close = step.action, let handle = handles[step.handle] {
            released[step.handle] = handle
            handles[step.handle] = nil
        }
        let expected = step.expect ?? defaultExpectation
        if !matches(outcome.result, expected, step) {
            finding("\(step.action.name) expected \(expected); got \(outcome.summary)", line: step.line)
        }
        if let timing = step.timing {
            let elapsed = outcome.returnedAt - reference
            let ok: Bool =
                switch timing {
                case .atOnce: elapsed <= tolerances.atOnce
                case .about(let target): tolerances.isAbout(elapsed, target)
                case .within(let limit): elapsed <= limit
                }
            if !ok { finding("\(step.action.name) expected to return \(timing); it took \(format(elapsed))", line: step.line) }
        }
    }

    func matches(_ result: Result<CallOutcome.Value, SocketError>, _ expected: CallExpectation, _ step: Step) -> Bool {
        switch (result, expected) {
        case (.success(.count(0)), .endOfStream): if case .receive = step.action { return true } else { return false }
        case (.success(.count(0)), .ok): if case .receive = step.action { return false } else { return true }
        case (.success(.count(let count)), .partial): return count > 0
        case (.success, .ok): return true
        case (.failure(let error), .error(let wanted)): return error == wanted
        case (_, .oneOf(let choices)): return choices.contains { matches(result, $0, step) }
        default: return false
        }
    }

    /// CLOSE-2's calls: each names the handle and must fail the same way.
    func everyCall(_ step: Step) throws {
        let provider = subject.provider
        let subject = self.subject
        let handle = try handle(step.handle, step)
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
            guard let result = call.result(within: options.watchdog) else {
                throw CaseAbort("provider did not return from \(name) on a released handle within \(options.watchdog) (line \(step.line))")
            }
            let outcome: Result<CallOutcome.Value, SocketError> = result.map { .none }
            if !matches(outcome, expected, step) {
                let got: String =
                    switch result {
                    case .success: "success"
                    case .failure(let error): error.name
                    }
                finding("\(name) on the released handle expected \(expected); got \(got)", line: step.line)
            }
        }
    }

    func format(_ duration: Duration) -> String {
        String(format: "%.3f s", duration.seconds)
    }
}
