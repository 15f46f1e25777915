import Glibc

/// An IPv4 or IPv6 address with a port.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address family of a socket or an address.
    public enum Family: String, Hashable, Sendable, CaseIterable, Codable {
        case ipv4
        case ipv6
    }

    public let family: Family
    /// The address in network order: 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    public var port: UInt16

    /// An address from its bytes in network order; nil when the count does not match the family.
    public init?(family: Family, bytes: [UInt8], port: UInt16) {
        guard bytes.count == (family == .ipv4 ? 4 : 16) else { return nil }
        self.family = family
        self.bytes = bytes
        self.port = port
    }

    /// The loopback address of a family (`127.0.0.1` or `::1`).
    public static func loopback(_ family: Family, port: UInt16 = 0) -> SocketAddress {
        switch family {
        case .ipv4: SocketAddress(family: .ipv4, bytes: [127, 0, 0, 1], port: port)!
        case .ipv6: SocketAddress(family: .ipv6, bytes: Array(repeating: 0, count: 15) + [1], port: port)!
        }
    }

    /// Parses `127.0.0.1:8080`, `[::1]:8080`, or an address without a port (port 0).
    public init?(_ text: String) {
        var host = Substring(text)
        var port: UInt16 = 0
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let value = UInt16(rest.dropFirst()) else { return nil }
                port = value
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.lastIndex(of: ":") {
            guard let value = UInt16(host[host.index(after: colon)...]) else { return nil }
            port = value
            host = host[..<colon]
        }
        let family: Family = host.contains(":") ? .ipv6 : .ipv4
        var buffer = [UInt8](repeating: 0, count: 16)
        let parsed = String(host).withCString { inet_pton(family == .ipv4 ? AF_INET : AF_INET6, $0, &buffer) }
        guard parsed == 1 else { return nil }
        self.init(family: family, bytes: Array(buffer.prefix(family == .ipv4 ? 4 : 16)), port: port)
    }

    /// The address without the port, as `inet_ntop` prints it.
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = bytes.withUnsafeBytes { raw in
            inet_ntop(family == .ipv4 ? AF_INET : AF_INET6, raw.baseAddress, &text, socklen_t(text.count))
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { family == .ipv4 ? "\(host):\(port)" : "[\(host)]:\(port)" }
}
