/// A socket handle as the application and the harness see it.
///
/// A provider that takes its handles from the harness (`ProviderUpcalls.createHandle`)
/// returns those values unchanged; a provider that uses descriptors returns
/// the descriptor number. The value is opaque to everyone but its issuer.
public struct SocketHandle: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `INVALID_SOCKET`: never a handle.
    public static let invalid = SocketHandle(rawValue: UInt64.max)

    public var description: String { "handle 0x\(String(rawValue, radix: 16))" }
}

/// Names one asynchronous (overlapped) operation; chosen by the caller, echoed in its completion.
public struct OperationID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public var description: String { "operation \(rawValue)" }
}

/// How an asynchronous operation ended, as the provider reports it through
/// `ProviderUpcalls.completeOperation`.
public enum OperationResult: Hashable, Sendable, CustomStringConvertible {
    /// An asynchronous send accepted this many bytes (all of them, or fewer when the provider said so).
    case sent(Int)
    /// An asynchronous receive returned these bytes; empty means end-of-stream.
    case received([UInt8])
    /// An asynchronous accept returned a new socket.
    case accepted(SocketHandle, SocketAddress)
    /// The operation failed; after a close, with `operationAborted`.
    case failed(SocketError)

    public var description: String {
        switch self {
        case .sent(let count): "sent \(count) bytes"
        case .received(let bytes): bytes.isEmpty ? "received end-of-stream" : "received \(bytes.count) bytes"
        case .accepted(let handle, let address): "accepted \(handle) from \(address)"
        case .failed(let error): "failed with \(error.name)"
        }
    }
}
