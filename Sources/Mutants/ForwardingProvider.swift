public import ProviderInterface

/// A provider that forwards every call to another: the base of a wrong provider made around any provider
/// (a subclass changes one call), where a mutant of the reference changes one step of its close.
open class ForwardingProvider: SocketProvider, @unchecked Sendable {
    public let inner: any SocketProvider

    public init(_ inner: any SocketProvider) { self.inner = inner }

    open var name: String { "forwarding" }
    open var capabilities: ProviderCapabilities { inner.capabilities }
    open func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle { try inner.socket(family) }
    open func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) { try inner.bind(handle, to: address) }
    open func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError) { try inner.listen(handle, backlog: backlog) }
    open func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) { try inner.accept(handle) }
    open func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) { try inner.connect(handle, to: address) }
    open func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int { try inner.send(handle, bytes) }
    open func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        try inner.receive(handle, into: buffer)
    }
    open func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) { try inner.shutdown(handle, direction) }
    open func close(_ handle: SocketHandle) throws(SocketError) { try inner.close(handle) }
    open func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        try inner.option(handle, option)
    }
    open func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        try inner.setOption(handle, option, to: value)
    }
    open func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle { try inner.duplicate(handle) }
    open func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) { try inner.setBlocking(handle, blocking) }
    open func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress { try inner.localAddress(handle) }
    open func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress { try inner.remoteAddress(handle) }
    open func startSend(_ handle: SocketHandle, _ bytes: [UInt8], operation: OperationID) throws(SocketError) {
        try inner.startSend(handle, bytes, operation: operation)
    }
    open func startReceive(_ handle: SocketHandle, maxBytes: Int, operation: OperationID) throws(SocketError) {
        try inner.startReceive(handle, maxBytes: maxBytes, operation: operation)
    }
    open func startAccept(_ handle: SocketHandle, operation: OperationID) throws(SocketError) {
        try inner.startAccept(handle, operation: operation)
    }
    open func cleanup() { inner.cleanup() }
}
