import Glibc

/// A named socket error, as a provider reports it and as reports show it.
///
/// The raw value is the Winsock error code, so a provider written against
/// the C interface returns the same numbers. Each error maps to the nearest
/// `errno` in one table (`SocketError.table`).
public struct SocketError: Error, RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The Winsock error code (`WSAENOTSOCK` is 10038, and so on).
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The handle does not name an open socket (`WSAENOTSOCK`).
    public static let notSocket = SocketError(rawValue: 10038)
    /// A blocking call was interrupted because its handle was closed (`WSAEINTR`).
    public static let interrupted = SocketError(rawValue: 10004)
    /// An asynchronous operation was aborted because its handle was closed (`WSA_OPERATION_ABORTED`).
    public static let operationAborted = SocketError(rawValue: 995)
    /// A nonblocking call cannot complete at once (`WSAEWOULDBLOCK`).
    public static let wouldBlock = SocketError(rawValue: 10035)
    /// The peer reset the connection (`WSAECONNRESET`).
    public static let connectionReset = SocketError(rawValue: 10054)
    /// The connection was aborted locally (`WSAECONNABORTED`).
    public static let connectionAborted = SocketError(rawValue: 10053)
    /// The socket was shut down in this direction (`WSAESHUTDOWN`).
    public static let shutdown = SocketError(rawValue: 10058)
    /// The socket is not connected (`WSAENOTCONN`).
    public static let notConnected = SocketError(rawValue: 10057)
    /// An argument is out of range or the call is invalid in this state (`WSAEINVAL`).
    public static let invalidArgument = SocketError(rawValue: 10022)
    /// The local address is in use (`WSAEADDRINUSE`).
    public static let addressInUse = SocketError(rawValue: 10048)
    /// The address is not available on this machine (`WSAEADDRNOTAVAIL`).
    public static let addressNotAvailable = SocketError(rawValue: 10049)
    /// Nothing listens at the remote address (`WSAECONNREFUSED`).
    public static let connectionRefused = SocketError(rawValue: 10061)
    /// No buffer space or memory (`WSAENOBUFS`).
    public static let noBuffers = SocketError(rawValue: 10055)
    /// Too many sockets are open (`WSAEMFILE`).
    public static let tooManySockets = SocketError(rawValue: 10024)
    /// The operation timed out (`WSAETIMEDOUT`).
    public static let timedOut = SocketError(rawValue: 10060)
    /// The network is down (`WSAENETDOWN`).
    public static let networkDown = SocketError(rawValue: 10050)
    /// The network is unreachable (`WSAENETUNREACH`).
    public static let networkUnreachable = SocketError(rawValue: 10051)
    /// The host is unreachable (`WSAEHOSTUNREACH`).
    public static let hostUnreachable = SocketError(rawValue: 10065)
    /// The socket is already connected (`WSAEISCONN`).
    public static let alreadyConnected = SocketError(rawValue: 10056)
    /// A nonblocking connect is already in progress (`WSAEALREADY`).
    public static let alreadyInProgress = SocketError(rawValue: 10037)
    /// The address family is not supported (`WSAEAFNOSUPPORT`).
    public static let addressFamilyNotSupported = SocketError(rawValue: 10047)
    /// The operation is not supported on this socket or by this provider (`WSAEOPNOTSUPP`).
    public static let operationNotSupported = SocketError(rawValue: 10045)
    /// A buffer or address argument is invalid (`WSAEFAULT`).
    public static let fault = SocketError(rawValue: 10014)
    /// A system call failed in a way no other error describes (`WSASYSCALLFAILURE`).
    public static let systemCallFailure = SocketError(rawValue: 10107)

    /// One row of the error table.
    public struct Entry: Sendable {
        /// The name used in reports, case files and the C interface's documentation.
        public let name: String
        public let error: SocketError
        /// The Winsock constant's name.
        public let winsockName: String
        /// The errno a Linux provider sees first for this error; reports print it.
        public let errno: Int32
        /// Further errno values that map to this error.
        public let otherErrnos: [Int32]
    }

    /// The one table of named errors: name, Winsock code and errno.
    public static let table: [Entry] = [
        Entry(name: "notSocket", error: .notSocket, winsockName: "WSAENOTSOCK", errno: EBADF, otherErrnos: [ENOTSOCK]),
        Entry(name: "interrupted", error: .interrupted, winsockName: "WSAEINTR", errno: EINTR, otherErrnos: []),
        Entry(name: "operationAborted", error: .operationAborted, winsockName: "WSA_OPERATION_ABORTED", errno: ECANCELED, otherErrnos: []),
        Entry(name: "wouldBlock", error: .wouldBlock, winsockName: "WSAEWOULDBLOCK", errno: EWOULDBLOCK, otherErrnos: []),
        Entry(name: "connectionReset", error: .connectionReset, winsockName: "WSAECONNRESET", errno: ECONNRESET, otherErrnos: []),
        Entry(name: "connectionAborted", error: .connectionAborted, winsockName: "WSAECONNABORTED", errno: ECONNABORTED, otherErrnos: []),
        Entry(name: "shutdown", error: .shutdown, winsockName: "WSAESHUTDOWN", errno: EPIPE, otherErrnos: []),
        Entry(name: "notConnected", error: .notConnected, winsockName: "WSAENOTCONN", errno: ENOTCONN, otherErrnos: []),
        Entry(name: "invalidArgument", error: .invalidArgument, winsockName: "WSAEINVAL", errno: EINVAL, otherErrnos: []),
        Entry(name: "addressInUse", error: .addressInUse, winsockName: "WSAEADDRINUSE", errno: EADDRINUSE, otherErrnos: []),
        Entry(
            name: "addressNotAvailable", error: .addressNotAvailable, winsockName: "WSAEADDRNOTAVAIL", errno: EADDRNOTAVAIL, otherErrnos: []
        ),
        Entry(name: "connectionRefused", error: .connectionRefused, winsockName: "WSAECONNREFUSED", errno: ECONNREFUSED, otherErrnos: []),
        Entry(name: "noBuffers", error: .noBuffers, winsockName: "WSAENOBUFS", errno: ENOBUFS, otherErrnos: [ENOMEM]),
        Entry(name: "tooManySockets", error: .tooManySockets, winsockName: "WSAEMFILE", errno: EMFILE, otherErrnos: [ENFILE]),
        Entry(name: "timedOut", error: .timedOut, winsockName: "WSAETIMEDOUT", errno: ETIMEDOUT, otherErrnos: []),
        Entry(name: "networkDown", error: .networkDown, winsockName: "WSAENETDOWN", errno: ENETDOWN, otherErrnos: []),
        Entry(name: "networkUnreachable", error: .networkUnreachable, winsockName: "WSAENETUNREACH", errno: ENETUNREACH, otherErrnos: []),
        Entry(name: "hostUnreachable", error: .hostUnreachable, winsockName: "WSAEHOSTUNREACH", errno: EHOSTUNREACH, otherErrnos: []),
        Entry(name: "alreadyConnected", error: .alreadyConnected, winsockName: "WSAEISCONN", errno: EISCONN, otherErrnos: []),
        Entry(
            name: "alreadyInProgress", error: .alreadyInProgress, winsockName: "WSAEALREADY", errno: EALREADY, otherErrnos: [EINPROGRESS]),
        Entry(
            name: "addressFamilyNotSupported", error: .addressFamilyNotSupported, winsockName: "WSAEAFNOSUPPORT", errno: EAFNOSUPPORT,
            otherErrnos: [EPFNOSUPPORT]),
        Entry(
            name: "operationNotSupported", error: .operationNotSupported, winsockName: "WSAEOPNOTSUPP", errno: EOPNOTSUPP, otherErrnos: []),
        Entry(name: "fault", error: .fault, winsockName: "WSAEFAULT", errno: EFAULT, otherErrnos: []),
        Entry(name: "systemCallFailure", error: .systemCallFailure, winsockName: "WSASYSCALLFAILURE", errno: EIO, otherErrnos: []),
    ]

    private static let byCode: [Int32: Entry] = Dictionary(uniqueKeysWithValues: table.map { ($0.error.rawValue, $0) })
    private static let byName: [String: Entry] = Dictionary(uniqueKeysWithValues: table.map { ($0.name, $0) })
    private static let byErrno: [Int32: SocketError] = {
        var map: [Int32: SocketError] = [:]
        for entry in table {
            for code in [entry.errno] + entry.otherErrnos where map[code] == nil { map[code] = entry.error }
        }
        return map
    }()

    /// The error's row in the table, or nil for a code the table does not name.
    public var entry: Entry? { Self.byCode[rawValue] }

    /// The error's name (`notSocket`), or `winsock(N)` for a code the table does not name.
    public var name: String { entry?.name ?? "winsock(\(rawValue))" }

    /// The nearest errno, for reports.
    public var errno: Int32 { entry?.errno ?? EIO }

    public var description: String {
        guard let entry else { return "unknown socket error \(rawValue)" }
        return "\(entry.name) (\(entry.winsockName) \(rawValue), errno \(entry.errno))"
    }

    /// The named error for a name as case files and reports spell it.
    public init?(name: String) {
        guard let entry = Self.byName[name] else { return nil }
        self = entry.error
    }

    /// The named error a Linux errno maps to; errno values without a name map to `systemCallFailure`.
    public init(errno code: Int32) {
        self = Self.byErrno[code] ?? .systemCallFailure
    }
}
