/// A socket provider: the small socket interface the suite checks, modeled on
/// the Windows Sockets service provider interface (`WSP*` calls).
///
/// Every call is synchronous and may be made from any thread. Calls that block
/// (accept, connect, send, receive, and close with a linger timeout) do so only
/// on a blocking socket; on a nonblocking one they fail with `wouldBlock`
/// instead. Closing a handle aborts every call pending on it in any thread
/// (SPEC PEND-*). All sockets are TCP stream sockets.
public protocol SocketProvider: AnyObject, Sendable {
    /// A short name for reports (`reference`, `posix`).
    var name: String { get }

    /// What this provider can do; the suite skips the cases that need more.
    var capabilities: ProviderCapabilities { get }

    /// Creates a TCP socket, blocking, with linger off.
    ///
    /// The corresponding call is `WSPSocket` / `socket(2)`.
    /// - Throws: `addressFamilyNotSupported`, `tooManySockets`, `noBuffers`.
    func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle

    /// Binds a socket to a local address; port 0 picks a free port.
    ///
    /// The corresponding call is `WSPBind` / `bind(2)`.
    func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError)

    /// Makes a bound socket listen for connections.
    ///
    /// The corresponding call is `WSPListen` / `listen(2)`.
    func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError)

    /// Takes the next connection from a listening socket; blocks on a blocking socket.
    ///
    /// The corresponding call is `WSPAccept` / `accept(2)`.
    /// - Returns: the new socket's handle and the remote address.
    /// - Throws: `interrupted` when the listening handle is closed meanwhile (PEND-3), `wouldBlock`.
    func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress)

    /// Connects to a remote address; blocks until connected on a blocking socket.
    ///
    /// The corresponding call is `WSPConnect` / `connect(2)`.
    /// - Throws: `interrupted` when the handle is closed meanwhile (PEND-4), `connectionRefused`,
    ///   `wouldBlock` (the connect goes on), `alreadyInProgress`, `alreadyConnected`.
    func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError)

    /// Sends bytes. A blocking send returns when every byte is accepted; a nonblocking
    /// send returns how many bytes it accepted, at least one, or fails with `wouldBlock`.
    ///
    /// If the handle is closed while a blocking send waits, the send fails with
    /// `interrupted` when it had accepted nothing yet, and otherwise returns the count it
    /// had accepted, so that the caller's total of accepted bytes stays exact (PEND-2).
    ///
    /// The corresponding call is `WSPSend` / `send(2)`.
    /// - Throws: `interrupted`, `wouldBlock`, `shutdown`, `connectionReset`, `notConnected`.
    func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int

    /// Receives bytes into a buffer; 0 means end-of-stream.
    ///
    /// A receive that fails writes nothing into the buffer afterwards (PEND-7).
    ///
    /// The corresponding call is `WSPRecv` / `recv(2)`.
    /// - Throws: `interrupted` when the handle is closed meanwhile (PEND-1), `wouldBlock`,
    ///   `connectionReset`, `shutdown`, `notConnected`.
    func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int

    /// Shuts down one or both directions; returns at once whatever the linger option.
    ///
    /// The corresponding call is `WSPShutdown` / `shutdown(2)`.
    /// - Throws: `notSocket`, `notConnected`, `invalidArgument` for an invalid direction (SHUT-4).
    func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError)

    /// Releases the handle: aborts every operation pending on it, and on the last
    /// reference to the socket ends the connection as the linger option says.
    ///
    /// The corresponding call is `WSPCloseSocket` / `close(2)`.
    /// - Throws: `notSocket` for a released or unknown handle (CLOSE-2, CLOSE-4); `wouldBlock`
    ///   for a nonblocking socket with a linger timeout whose data cannot be delivered at
    ///   once, in which case the handle stays valid (LINGER-6).
    func close(_ handle: SocketHandle) throws(SocketError)

    /// Reads a socket option; options are shared by every handle of a socket (SHARE-3).
    ///
    /// The corresponding call is `WSPGetSockOpt` / `getsockopt(2)`.
    func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue

    /// Sets a socket option.
    ///
    /// The corresponding call is `WSPSetSockOpt` / `setsockopt(2)`.
    /// - Throws: `invalidArgument` for a value out of range or of the wrong kind, leaving the
    ///   previous value in force (LINGER-8).
    func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError)

    /// Returns a second handle to the same socket; the socket lives until its last handle is closed.
    ///
    /// The corresponding call is `WSPDuplicateSocket` (within one process) / `dup(2)`.
    /// - Throws: `operationNotSupported` when the provider lacks the `duplicate` capability.
    func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle

    /// Sets blocking or nonblocking mode for the socket.
    ///
    /// The corresponding call is `WSPIoctl(FIONBIO)` / `fcntl(O_NONBLOCK)`.
    func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError)

    /// The local address of a bound socket.
    ///
    /// The corresponding call is `WSPGetSockName` / `getsockname(2)`.
    func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress

    /// The remote address of a connected socket.
    ///
    /// The corresponding call is `WSPGetPeerName` / `getpeername(2)`.
    func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress

    /// Starts an asynchronous send of every byte; completes once through `completeOperation`.
    ///
    /// The corresponding call is `WSPSend` with an overlapped structure.
    func startSend(_ handle: SocketHandle, _ bytes: [UInt8], operation: OperationID) throws(SocketError)

    /// Starts an asynchronous receive of at most `maxBytes`; completes once through `completeOperation`.
    ///
    /// The corresponding call is `WSPRecv` with an overlapped structure.
    func startReceive(_ handle: SocketHandle, maxBytes: Int, operation: OperationID) throws(SocketError)

    /// Starts an asynchronous accept; completes once through `completeOperation`.
    ///
    /// The corresponding call is `AcceptEx`.
    func startAccept(_ handle: SocketHandle, operation: OperationID) throws(SocketError)

    /// Ends the provider: every handle still open is closed as with an abortive linger and
    /// released (HANDLE-5), and pending asynchronous operations complete with `operationAborted`.
    ///
    /// The corresponding call is `WSPCleanup`.
    func cleanup()
}

extension SocketProvider {
    public func startSend(_ handle: SocketHandle, _ bytes: [UInt8], operation: OperationID) throws(SocketError) {
        throw .operationNotSupported
    }

    public func startReceive(_ handle: SocketHandle, maxBytes: Int, operation: OperationID) throws(SocketError) {
        throw .operationNotSupported
    }

    public func startAccept(_ handle: SocketHandle, operation: OperationID) throws(SocketError) {
        throw .operationNotSupported
    }

    public func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        throw .operationNotSupported
    }

    /// Reads the linger option.
    public func linger(_ handle: SocketHandle) throws(SocketError) -> Linger {
        guard case .linger(let linger) = try option(handle, .linger) else { throw .invalidArgument }
        return linger
    }

    /// Sets the linger option.
    public func setLinger(_ handle: SocketHandle, _ linger: Linger) throws(SocketError) {
        try setOption(handle, .linger, to: .linger(linger))
    }

    /// Sends every byte of an array; a convenience over `send(_:_:)`.
    public func send(_ handle: SocketHandle, _ bytes: [UInt8]) throws(SocketError) -> Int {
        var result = Result<Int, SocketError>.success(0)
        bytes.withUnsafeBytes { raw in result = Result { () throws(SocketError) in try send(handle, raw) } }
        return try result.get()
    }

    /// Receives at most `maxBytes` into a new array; empty means end-of-stream.
    public func receive(_ handle: SocketHandle, maxBytes: Int) throws(SocketError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        var result = Result<Int, SocketError>.success(0)
        buffer.withUnsafeMutableBytes { raw in result = Result { () throws(SocketError) in try receive(handle, into: raw) } }
        return Array(buffer.prefix(try result.get()))
    }
}
