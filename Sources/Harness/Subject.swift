public import ProviderInterface

/// The provider under test with its handle registry: the calls whose effects the
/// harness audits (close, cleanup, asynchronous operations) go through here.
public final class Subject: @unchecked Sendable {
    public let provider: any SocketProvider
    public let registry: HandleRegistry

    /// A fresh provider from `factory`, its upcalls going to a new registry.
    public init(_ factory: ProviderFactory) {
        registry = HandleRegistry()
        provider = factory.make(registry)
    }

    public var capabilities: ProviderCapabilities { provider.capabilities }

    /// Whether the registry's audit applies: the provider takes its handles from the harness.
    public var auditsHandles: Bool { capabilities.contains(.harnessHandles) }

    /// Closes a handle, audited when the provider's handles come from the harness.
    public func close(_ handle: SocketHandle) throws(SocketError) {
        guard auditsHandles else { return try provider.close(handle) }
        try registry.auditClose(handle) { () throws(SocketError) in try provider.close(handle) }
    }

    /// Starts an asynchronous receive; the operation id to wait on.
    public func startReceive(_ handle: SocketHandle, maxBytes: Int) throws(SocketError) -> OperationID {
        try start(handle) { (id) throws(SocketError) in try provider.startReceive(handle, maxBytes: maxBytes, operation: id) }
    }

    /// Starts an asynchronous send; the operation id to wait on.
    public func startSend(_ handle: SocketHandle, _ bytes: [UInt8]) throws(SocketError) -> OperationID {
        try start(handle) { (id) throws(SocketError) in try provider.startSend(handle, bytes, operation: id) }
    }

    /// Starts an asynchronous accept; the operation id to wait on.
    public func startAccept(_ handle: SocketHandle) throws(SocketError) -> OperationID {
        try start(handle) { (id) throws(SocketError) in try provider.startAccept(handle, operation: id) }
    }

    private func start(_ handle: SocketHandle, _ body: (OperationID) throws(SocketError) -> Void) throws(SocketError) -> OperationID {
        let id = registry.newOperation(on: handle)
        do {
            try body(id)
        } catch {
            registry.withdraw(id)
            throw error
        }
        return id
    }

    /// Runs the provider's cleanup and ends the audit; the violations recorded, if the audit applies.
    public func finish() -> [HandleRegistry.Violation] {
        guard auditsHandles else {
            provider.cleanup()
            return []
        }
        registry.auditCleanup { provider.cleanup() }
        return registry.finalAudit()
    }

    /// Closes a handle if it is still open, ignoring the outcome: for clean-up after a check.
    public func discard(_ handle: SocketHandle) {
        try? close(handle)
    }
}

/// Which end of the connection the subject is.
public enum Role: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// The subject connects to the harness's listener.
    case client
    /// The subject listens and accepts the harness's connection.
    case server

    public var description: String { rawValue }
}

/// A connection between a subject handle and the harness's peer.
public struct Connection: @unchecked Sendable {
    public let subject: SocketHandle
    public let peer: PeerSocket
}

extension Subject {
    /// Connects a subject socket to a harness peer over loopback.
    /// - Parameters:
    ///   - peerReceiveBuffer: the peer's SO_RCVBUF, set before the handshake, to make its window small.
    ///   - subjectSendBuffer: the subject's SO_SNDBUF, set through the provider.
    public func connect(
        role: Role = .client, family: SocketAddress.Family = .ipv4,
        peerReceiveBuffer: Int? = nil, subjectSendBuffer: Int? = nil
    ) throws -> Connection {
        switch role {
        case .client:
            let listener = try PeerListener(family, receiveBuffer: peerReceiveBuffer)
            defer { listener.close() }
            let handle = try provider.socket(family)
            do {
                if let subjectSendBuffer { try provider.setOption(handle, .sendBufferSize, to: .size(subjectSendBuffer)) }
                try provider.connect(handle, to: listener.address)
                return Connection(subject: handle, peer: try listener.accept())
            } catch {
                discard(handle)
                throw error
            }
        case .server:
            let (listener, address) = try listen(family)
            defer { discard(listener) }
            let peer = try PeerSocket.connect(to: address, receiveBuffer: peerReceiveBuffer)
            let (handle, _) = try provider.accept(listener)
            if let subjectSendBuffer { try provider.setOption(handle, .sendBufferSize, to: .size(subjectSendBuffer)) }
            return Connection(subject: handle, peer: peer)
        }
    }

    /// A subject socket listening on the loopback address of `family`, and that address.
    public func listen(_ family: SocketAddress.Family = .ipv4, backlog: Int = 4) throws(SocketError) -> (SocketHandle, SocketAddress) {
        let listener = try provider.socket(family)
        do throws(SocketError) {
            try provider.bind(listener, to: .loopback(family))
            try provider.listen(listener, backlog: backlog)
            return (listener, try provider.localAddress(listener))
        } catch {
            discard(listener)
            throw error
        }
    }

    /// Sends through the subject, nonblocking, until the provider would block or `limit` bytes are
    /// accepted; returns the bytes accepted, in order. The socket is left nonblocking.
    public func fill(_ handle: SocketHandle, limit: Int = 64 << 20, seed: UInt8 = 1) throws -> [UInt8] {
        try provider.setBlocking(handle, false)
        var accepted: [UInt8] = []
        while accepted.count < limit {
            let chunk = Payload.bytes(min(65536, limit - accepted.count), seed: seed, offset: accepted.count)
            do throws(SocketError) {
                accepted += chunk.prefix(try provider.send(handle, chunk))
            } catch {
                if error == .wouldBlock { break }
                throw error
            }
        }
        return accepted
    }
}
