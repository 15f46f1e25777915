import Harness
import PacketCapture
import ProviderInterface
import WireAnalysis

/// The stages of a case around its steps: setting the scene up, and at the end the tear-down and the audit of
/// what the provider gave back.
struct SceneStages: CaseStage {
    unowned let run: CaseRun

    var ladder: LadderRecorder { run.ladder }
    var family: SocketAddress.Family { run.family }
    func finding(_ message: String, level: Level) { run.finding(message, level: level) }

    // MARK: - Setup

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
            scene.listeners.append(listener)
            try startCapture(port: listener.address.port)
            let (provider, socketFamily) = (subject.provider, family)
            let handle = try setupCall("socket") { () throws(SocketError) in try provider.socket(socketFamily) }
            scene.handles["s"] = handle
            try setSendBuffer(handle)
            let address = listener.address
            try setupCall("connect") { () throws(SocketError) in try provider.connect(handle, to: address) }
            scene.peers["peer"] = PeerEnd(name: "peer", socket: try harness { try listener.accept() })
        case .connected:
            let address = try listenSubject(name: "l")
            try startCapture(port: address.port)
            let peerSocket = try harness { try PeerSocket.connect(to: address, receiveBuffer: instance.peer.receiveBuffer) }
            scene.peers["peer"] = PeerEnd(name: "peer", socket: peerSocket)
            let (subject, listener) = (subject, scene.handles["l"]!)
            let (handle, _) = try setupCall("accept") { () throws(SocketError) in try subject.provider.accept(listener) }
            scene.handles["s"] = handle
            try setSendBuffer(handle)
            try setupCall("close(listener)") { () throws(SocketError) in try subject.close(listener) }
            scene.handles["l"] = nil
        }
        scene.peers["peer"]?.startReading(instance.peer.reads, until: run.caseDeadline)
        scene.mainPeerAddress = try? scene.peers["peer"]?.socket.localAddress.description
    }

    func setSendBuffer(_ handle: SocketHandle) throws {
        guard let size = instance.setup.subjectSendBuffer else { return }
        let subject = subject
        try setupCall("setOption(sendBufferSize)") { () throws(SocketError) in
            try subject.provider.setOption(handle, .sendBufferSize, to: .size(size))
        }
    }

    func startCapture(port: UInt16) throws {
        guard options.capture else { return }
        do {
            // The capture draws the ladder's segments as it goes; their sides are the harness's ports, known at the end.
            let wire = WireLadder(sides: .rightPorts([]), origin: ladder.origin.wallNanoseconds)
            scene.capture = try LiveCapture(filter: LiveCapture.filter(ports: [port]), path: run.pcapPath, ladder: wire)
        } catch {
            throw CaseAbort("capture: \(error.message)")
        }
    }

    func listenSubject(name: String) throws -> SocketAddress {
        let (subject, family, backlog) = (subject, family, instance.setup.backlog)
        let (handle, address) = try setupCall("listen") { () throws(SocketError) in try subject.listen(family, backlog: backlog) }
        scene.handles[name] = handle
        scene.subjectListenAddress = address
        return address
    }

    /// A provider call made to set the case up, bounded by the watchdog; a failure is a finding that ends the case.
    func setupCall<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws(SocketError) -> T) throws -> T {
        let call = BackgroundCall("\(name)") { Result { () throws(SocketError) in try body() } }
        let result = call.result(within: options.watchdog)
        let text = "setup: \(name)"
        switch result {
        case .success?:
            ladder.noteCall(text, thread: "main", started: call.startedAt, returned: call.finishedAt, result: "success", failed: false)
        case .failure(let error)?:
            ladder.noteCall(text, thread: "main", started: call.startedAt, returned: call.finishedAt, result: error.name, failed: true)
        case nil: ladder.noteStuckCall(text, thread: "main", started: call.startedAt)
        }
        guard let result else {
            throw CaseAbort("provider did not return from \(name) within \(options.watchdog) (setting the case up)")
        }
        switch result {
        case .success(let value): return value
        case .failure(let error):
            finding("setting the case up, \(name) failed with \(error.name)")
            throw CaseRun.SetupFailed()
        }
    }

    // MARK: - Teardown and audit

    func tearDown() throws {
        // A call still pending in an accept is ended by a connection (a provider whose close does not wake it).
        if let address = scene.subjectListenAddress, scene.hasPendingCall {
            let connecting = ContinuousClock.now
            if let socket = try? PeerSocket.connect(to: address, within: .seconds(1)) {
                scene.stalled.append(socket)
                if let local = try? socket.localAddress { scene.peerPorts.insert(local.port) }
                ladder.note(.right, "harness connects, to end a pending accept", at: connecting)
            }
        }
        scene.closeHarnessSockets()
        for handle in scene.churned { subject.discard(handle) }
        scene.churned = []
        cleanUp()
        for name in scene.threads.keys.sorted() {
            // An overdue call was reported already; its late result is not checked again, only drawn.
            if run.overdue.contains(name), let thread = scene.threads[name], !thread.checked {
                scene.threads[name]?.checked = true
                try run.join(name, within: options.watchdog)
                if let outcome = thread.call.result(within: .zero) {
                    ladder.noteCall(thread.step.action.callText(thread.step), thread: name, outcome)
                }
                continue
            }
            try run.join(name, within: options.watchdog)
        }
        if let capture = scene.capture {
            do {
                try capture.stop()
            } catch {
                throw CaseAbort("capture: \(error.message)")
            }
            try checkPeerIntegrity(capture.facts)
        }
        let leaked = SocketInventory.descriptors(holding: scene.ownedInodes)
        if !leaked.isEmpty {
            finding(
                "audit: \(leaked.count) socket descriptor(s) of this case still open after cleanup (\(leaked.joined(separator: ", ")))",
                level: .must)
        }
    }

    /// The evidence is the harness's own: the wire carries no byte from the main peer that the peer did not send.
    /// More means something else wrote into the peer's socket (a provider writing to a descriptor it no longer
    /// owns): the case cannot be judged.
    func checkPeerIntegrity(_ facts: CaptureFacts) throws {
        guard let address = scene.mainPeerAddress, let fromPeer = Scene.direction(facts, peer: address, fromPeer: true),
            fromPeer.bytesSent > Int64(scene.peerSent)
        else { return }
        throw CaseAbort(
            "evidence disturbed: the wire carried \(fromPeer.bytesSent) bytes from the harness's peer, which sent \(scene.peerSent); something else wrote into the peer's socket (a provider writing to a descriptor it no longer owns?)"
        )
    }

    /// The provider's cleanup and the final audit of its upcalls, once.
    func cleanUp() {
        guard !run.cleanedUp else { return }
        run.cleanedUp = true
        // A close the fault plan made from a thread of its own may still be inside the provider.
        if let faultLayer = run.faultLayer, !faultLayer.context.waitForClosers(within: options.watchdog) {
            finding("a close made by the fault plan did not return within \(options.watchdog)", line: nil)
        }
        for violation in subject.finish() {
            finding(violation.description, level: violation.statement == "HANDLE-5" ? .should : .must)
        }
    }

    /// After an error: release what can be released without waiting on the provider.
    func abandon() {
        scene.closeHarnessSockets()
        _ = try? scene.capture?.stop()
    }
}
