/// The calls a provider makes into the harness, as a Winsock service provider
/// calls `WPUCreateSocketHandle`, `WPUCloseSocketHandle`,
/// `WPUQuerySocketHandleContext` and `WPUCompleteOverlappedRequest`.
///
/// The harness audits every call: a handle must be released exactly once, by
/// the close that releases it, and never named again after that.
/// Implementations must not call back into the provider from these calls.
public protocol ProviderUpcalls: AnyObject, Sendable {
    /// Issues a new handle that carries `context` for the provider.
    ///
    /// The corresponding call is `WPUCreateSocketHandle`.
    /// - Throws: `tooManySockets` when the harness has no handle to give.
    func createHandle(context: UInt64) throws(SocketError) -> SocketHandle

    /// Gives a handle back; the provider calls this once per handle, from the close that releases it.
    ///
    /// The corresponding call is `WPUCloseSocketHandle`.
    /// - Throws: `notSocket` for a handle the harness did not issue or that was already released.
    func releaseHandle(_ handle: SocketHandle) throws(SocketError)

    /// The context the provider attached to a live handle.
    ///
    /// The corresponding call is `WPUQuerySocketHandleContext`.
    /// - Throws: `notSocket` for an unknown or released handle.
    func queryContext(of handle: SocketHandle) throws(SocketError) -> UInt64

    /// Reports the end of an asynchronous operation; exactly once per operation.
    ///
    /// The corresponding call is `WPUCompleteOverlappedRequest`.
    func completeOperation(_ operation: OperationID, with result: OperationResult)
}
