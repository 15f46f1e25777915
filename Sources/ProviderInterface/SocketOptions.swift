/// The linger option (`SO_LINGER`): how the last close of a connected socket ends it.
public struct Linger: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Linger on (`l_onoff`).
    public var isOn: Bool
    /// The timeout in seconds (`l_linger`); kept when linger is turned off.
    public var seconds: Int

    public init(isOn: Bool, seconds: Int) {
        self.isOn = isOn
        self.seconds = seconds
    }

    /// The values a provider accepts for `seconds`, as Winsock's `u_short l_linger`.
    public static let validSeconds = 0...65535

    /// Linger off: graceful close that returns at once (the default).
    public static let off = Linger(isOn: false, seconds: 0)
    /// Linger on with timeout 0: abortive close (RST).
    public static let abortive = Linger(isOn: true, seconds: 0)
    /// Linger on with a timeout: close waits up to `seconds` for the data to be delivered.
    public static func timeout(_ seconds: Int) -> Linger { Linger(isOn: true, seconds: seconds) }

    public var description: String { isOn ? "linger on, \(seconds) s" : "linger off (\(seconds) s kept)" }
}

/// The socket options the interface knows.
public enum SocketOption: String, Hashable, Sendable, CaseIterable {
    /// `SO_LINGER`, a `Linger` value.
    case linger
    /// `SO_DONTLINGER`, a flag: true turns linger off and keeps the timeout; false turns it on again with the kept timeout.
    case dontLinger
    /// `SO_RCVBUF`, a size in bytes.
    case receiveBufferSize
    /// `SO_SNDBUF`, a size in bytes.
    case sendBufferSize
    /// `TCP_NODELAY`, a flag.
    case noDelay
    /// `SO_REUSEADDR`, a flag.
    case reuseAddress
    /// `SO_KEEPALIVE`, a flag.
    case keepAlive
}

/// The value of a socket option.
public enum SocketOptionValue: Hashable, Sendable, CustomStringConvertible {
    case linger(Linger)
    case flag(Bool)
    case size(Int)

    public var description: String {
        switch self {
        case .linger(let linger): linger.description
        case .flag(let flag): String(flag)
        case .size(let size): String(size)
        }
    }
}

/// Which directions `shutdown` closes (`SD_RECEIVE`, `SD_SEND`, `SD_BOTH`).
///
/// A raw value outside 0...2 is kept so that the invalid direction of SHUT-4 can be passed.
public struct ShutdownDirection: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let receive = ShutdownDirection(rawValue: 0)
    public static let send = ShutdownDirection(rawValue: 1)
    public static let both = ShutdownDirection(rawValue: 2)

    public var isValid: Bool { (0...2).contains(rawValue) }

    public var description: String {
        switch rawValue {
        case 0: "receive"
        case 1: "send"
        case 2: "both"
        default: "invalid(\(rawValue))"
        }
    }
}

/// What a provider declares it can do; the suite skips what a provider lacks, with the reason.
public struct ProviderCapabilities: OptionSet, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Asynchronous (overlapped) send, receive and accept, completed through the upcalls.
    public static let asynchronousOperations = ProviderCapabilities(rawValue: 1 << 0)
    /// `duplicate` returns a second handle to the same socket.
    public static let duplicate = ProviderCapabilities(rawValue: 1 << 1)
    /// IPv6 sockets.
    public static let ipv6 = ProviderCapabilities(rawValue: 1 << 2)
    /// Handles come from the harness (`createHandle`/`releaseHandle`), as a non-IFS provider's do.
    public static let harnessHandles = ProviderCapabilities(rawValue: 1 << 3)

    public static let names: [(ProviderCapabilities, String)] = [
        (.asynchronousOperations, "asynchronous"), (.duplicate, "duplicate"), (.ipv6, "ipv6"),
        (.harnessHandles, "harness-handles"),
    ]

    public var description: String {
        Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ", ")
    }
}
