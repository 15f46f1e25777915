import Foundation
public import ProviderInterface
import ReferenceProvider

/// A provider of this package's own: every call is counted, then made by Teardown's reference provider. (A real
/// provider would make the calls itself; what matters here is that the type is this package's, and that Teardown's
/// suite checks it from this package's tests.)
public final class CountingProvider: SocketProvider, @unchecked Sendable {
    private let inner: ReferenceProvider
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    public init(upcalls: any ProviderUpcalls) { inner = ReferenceProvider(upcalls: upcalls) }

    public var name: String { "counting" }
    public var capabilities: ProviderCapabilities { inner.capabilities }

    /// How many times each call was made.
    public var callCounts: [String: Int] { lock.withLock { counts } }

    private func count(_ call: String) { lock.withLock { counts[call, default: 0] += 1 } }

    public func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle {
        count("socket")
        return try inner.socket(family)
    }
    public func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        count("bind")
        try inner.bind(handle, to: address)
    }
    public func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError) {
        count("listen")
        try inner.listen(handle, backlog: backlog)
    }
    public func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) {
        count("accept")
        return try inner.accept(handle)
    }
    public func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        count("connect")
        try inner.connect(handle, to: address)
    }
    public func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        count("send")
        return try inner.send(handle, bytes)
    }
    public func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        count("receive")
        return try inner.receive(handle, into: buffer)
    }
    public func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) {
        count("shutdown")
        try inner.shutdown(handle, direction)
    }
    public func close(_ handle: SocketHandle) throws(SocketError) {
        count("close")
        try inner.close(handle)
    }
    public func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        count("option")
        return try inner.option(handle, option)
    }
    public func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        count("setOption")
        try inner.setOption(handle, option, to: value)
    }
    public func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        count("duplicate")
        return try inner.duplicate(handle)
    }
    public func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) {
        count("setBlocking")
        try inner.setBlocking(handle, blocking)
    }
    public func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        count("localAddress")
        return try inner.localAddress(handle)
    }
    public func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        count("remoteAddress")
        return try inner.remoteAddress(handle)
    }
    public func startSend(_ handle: SocketHandle, _ bytes: [UInt8], operation: OperationID) throws(SocketError) {
        count("startSend")
        try inner.startSend(handle, bytes, operation: operation)
    }
    public func startReceive(_ handle: SocketHandle, maxBytes: Int, operation: OperationID) throws(SocketError) {
        count("startReceive")
        try inner.startReceive(handle, maxBytes: maxBytes, operation: operation)
    }
    public func startAccept(_ handle: SocketHandle, operation: OperationID) throws(SocketError) {
        count("startAccept")
        try inner.startAccept(handle, operation: operation)
    }
    public func cleanup() {
        count("cleanup")
        inner.cleanup()
    }
}
