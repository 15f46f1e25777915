import CShim
package import Glibc
package import ProviderInterface

/// A failed system call: the errno it set, read at once.
package struct SystemError: Error, Hashable, CustomStringConvertible {
    package let errno: Int32

    package init(_ errno: Int32) { self.errno = errno }

    /// The named socket error this errno maps to.
    package var socketError: SocketError { SocketError(errno: errno) }

    package var description: String { "\(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The result of a nonblocking call: done, or it would block (a value, not an error).
package enum IOResult<Value> {
    case done(Value)
    case wouldBlock
}

/// Thin wrappers over the socket system calls: the one place where errno is
/// read, EINTR retried, and `EAGAIN` turned into `IOResult.wouldBlock`.
package enum Syscall {
    /// Runs a call that returns -1 on failure, retrying on EINTR.
    @inline(__always)
    static func retrying<T: FixedWidthInteger>(_ body: () -> T) throws(SystemError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = Glibc.errno
            if code != EINTR { throw SystemError(code) }
        }
    }

    /// As `retrying`, with EAGAIN / EWOULDBLOCK / EINPROGRESS as `.wouldBlock`.
    @inline(__always)
    static func nonblocking<T: FixedWidthInteger>(_ body: () -> T) throws(SystemError) -> IOResult<T> {
        while true {
            let result = body()
            if result != -1 { return .done(result) }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK || code == EINPROGRESS { return .wouldBlock }
            throw SystemError(code)
        }
    }

    package static func socket(_ family: SocketAddress.Family, nonblocking: Bool) throws(SystemError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | (nonblocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        return try retrying { Glibc.socket(family.domain, type, 0) }
    }

    package static func bind(_ fd: Int32, _ address: SocketAddress) throws(SystemError) {
        _ = try retrying { address.withSockaddr { Glibc.bind(fd, $0, $1) } }
    }

    package static func listen(_ fd: Int32, backlog: Int32) throws(SystemError) {
        _ = try retrying { Glibc.listen(fd, backlog) }
    }

    /// accept4 with close-on-exec, and nonblocking when asked.
    package static func accept(_ fd: Int32, nonblocking: Bool) throws(SystemError) -> IOResult<(Int32, SocketAddress)> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let flags = Int32(SOCK_CLOEXEC.rawValue) | (nonblocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        let result = try Syscall.nonblocking {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { td_accept4(fd, $0, &length, flags) }
            }
        }
        guard case .done(let newFD) = result else { return .wouldBlock }
        return .done((newFD, SocketAddress(storage) ?? .loopback(.ipv4)))
    }

    /// connect; `.wouldBlock` when the connection is in progress on a nonblocking socket.
    package static func connect(_ fd: Int32, _ address: SocketAddress) throws(SystemError) -> IOResult<Void> {
        // A connect interrupted by a signal goes on in the background; retrying would fail with EALREADY.
        let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if result == 0 { return .done(()) }
        let code = Glibc.errno
        if code == EINPROGRESS || code == EINTR || code == EAGAIN { return .wouldBlock }
        throw SystemError(code)
    }

    /// Ends the connection abortively (an RST) while the descriptor stays open: connect to AF_UNSPEC.
    package static func disconnect(_ fd: Int32) {
        var unspecified = sockaddr()
        unspecified.sa_family = sa_family_t(AF_UNSPEC)
        _ = Glibc.connect(fd, &unspecified, socklen_t(MemoryLayout<sockaddr>.size))
    }

    package static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, dontWait: Bool) throws(SystemError) -> IOResult<Int> {
        let flags = Int32(MSG_NOSIGNAL) | (dontWait ? Int32(MSG_DONTWAIT) : 0)
        return try nonblocking { Glibc.send(fd, bytes.baseAddress, bytes.count, flags) }
    }

    package static func receive(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, dontWait: Bool) throws(SystemError) -> IOResult<Int> {
        let flags = dontWait ? Int32(MSG_DONTWAIT) : 0
        return try nonblocking { Glibc.recv(fd, buffer.baseAddress, buffer.count, flags) }
    }

    package static func shutdown(_ fd: Int32, _ how: Int32) throws(SystemError) {
        _ = try retrying { Glibc.shutdown(fd, how) }
    }

    /// close(2), never retried: on Linux the descriptor is gone even when close reports EINTR.
    package static func close(_ fd: Int32) throws(SystemError) {
        if Glibc.close(fd) == -1, Glibc.errno != EINTR { throw SystemError(Glibc.errno) }
    }

    package static func duplicate(_ fd: Int32) throws(SystemError) -> Int32 {
        try retrying { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }

    package static func setNonblocking(_ fd: Int32, _ nonblocking: Bool) throws(SystemError) {
        let flags = try retrying { fcntl(fd, F_GETFL) }
        let wanted = nonblocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags { _ = try retrying { fcntl(fd, F_SETFL, wanted) } }
    }

    package static func isNonblocking(_ fd: Int32) throws(SystemError) -> Bool {
        try retrying { fcntl(fd, F_GETFL) } & O_NONBLOCK != 0
    }

    package static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var value = value
        _ = try retrying { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    package static func option(_ fd: Int32, _ level: Int32, _ name: Int32) throws(SystemError) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try retrying { getsockopt(fd, level, name, &value, &length) }
        return value
    }

    /// Sets the kernel's SO_LINGER.
    package static func setLinger(_ fd: Int32, on: Bool, seconds: Int32) throws(SystemError) {
        var value = Glibc.linger(l_onoff: on ? 1 : 0, l_linger: seconds)
        _ = try retrying { setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size)) }
    }

    /// Reads the kernel's SO_LINGER.
    package static func linger(_ fd: Int32) throws(SystemError) -> (on: Bool, seconds: Int32) {
        var value = Glibc.linger()
        var length = socklen_t(MemoryLayout<Glibc.linger>.size)
        _ = try retrying { getsockopt(fd, SOL_SOCKET, SO_LINGER, &value, &length) }
        return (value.l_onoff != 0, value.l_linger)
    }

    /// The pending error of a socket (SO_ERROR), which reading clears.
    package static func pendingError(_ fd: Int32) throws(SystemError) -> Int32 {
        try option(fd, SOL_SOCKET, SO_ERROR)
    }

    package static func localAddress(_ fd: Int32) throws(SystemError) -> SocketAddress {
        try address(fd, getsockname)
    }

    package static func remoteAddress(_ fd: Int32) throws(SystemError) -> SocketAddress {
        try address(fd, getpeername)
    }

    private static func address(
        _ fd: Int32,
        _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try retrying {
            withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) } }
        }
        guard let address = SocketAddress(storage) else { throw SystemError(EAFNOSUPPORT) }
        return address
    }

    /// Bytes sent but not yet acknowledged by the peer (SIOCOUTQ); 0 where the socket has no send queue.
    package static func unackedBytes(_ fd: Int32) -> Int {
        var count: Int32 = 0
        return td_unacked_bytes(fd, &count) == 0 ? Int(count) : 0
    }

    /// Bytes received but not yet read (FIONREAD); 0 where the socket has no receive queue.
    package static func unreadBytes(_ fd: Int32) -> Int {
        var count: Int32 = 0
        return td_unread_bytes(fd, &count) == 0 ? Int(count) : 0
    }

    /// The TCP state from TCP_INFO (1 established ... 7 closed), or nil.
    package static func tcpState(_ fd: Int32) -> Int32? {
        var state: Int32 = 0
        return td_tcp_state(fd, &state) == 0 ? state : nil
    }

    /// A nonblocking, close-on-exec eventfd.
    package static func eventDescriptor() throws(SystemError) -> Int32 {
        try retrying { td_eventfd() }
    }

    /// Makes an eventfd readable; it stays readable until read.
    package static func signal(eventDescriptor fd: Int32) {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, MemoryLayout<UInt64>.size)
    }

    /// Reads an eventfd back to zero.
    package static func drain(eventDescriptor fd: Int32) {
        var value: UInt64 = 0
        _ = Glibc.read(fd, &value, MemoryLayout<UInt64>.size)
    }

    /// The lowest descriptor number the harness's own sockets use: half the process's limit, at most 4096. A
    /// provider's sockets get the lowest free numbers, so a descriptor number a provider has closed and still
    /// writes to (a stale one) lands among its own, never in the harness's evidence.
    package static let harnessDescriptorFloor: Int32 = {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 512 }
        return Int32(clamping: min(max(Int(limit.rlim_cur / 2), 64), 4096))
    }()

    /// Moves `fd` to the harness's range (at or above `harnessDescriptorFloor`) and returns its new number; where
    /// that range is full, `fd` stays as it is.
    package static func intoHarnessRange(_ fd: Int32) -> Int32 {
        guard fd < harnessDescriptorFloor else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, harnessDescriptorFloor)
        guard moved >= 0 else { return fd }
        Glibc.close(fd)
        return moved
    }

    /// poll(2) with a timeout in milliseconds (-1: none); returns the number of ready entries.
    package static func poll(_ fds: inout [pollfd], timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        let count = nfds_t(fds.count)
        return Int(try retrying { fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, count, timeoutMilliseconds) } })
    }
}

extension SocketAddress.Family {
    package var domain: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
}

extension SocketAddress {
    /// The address as a sockaddr_in or sockaddr_in6, for the duration of `body`.
    package func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        switch family {
        case .ipv4:
            var value = sockaddr_in()
            value.sin_family = sa_family_t(AF_INET)
            value.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &value.sin_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &value) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6:
            var value = sockaddr_in6()
            value.sin6_family = sa_family_t(AF_INET6)
            value.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &value.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &value) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    /// The address in a sockaddr_storage, or nil for a family other than IPv4 and IPv6.
    package init?(_ storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let value = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            let bytes = withUnsafeBytes(of: value.sin_addr) { Array($0) }
            self.init(family: .ipv4, bytes: bytes, port: UInt16(bigEndian: value.sin_port))
        case AF_INET6:
            let value = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            let bytes = withUnsafeBytes(of: value.sin6_addr) { Array($0) }
            self.init(family: .ipv6, bytes: bytes, port: UInt16(bigEndian: value.sin6_port))
        default:
            return nil
        }
    }
}

/// Runs a system call wrapper and turns its errno into the named socket error.
@inline(__always)
package func system<T>(_ body: () throws(SystemError) -> T) throws(SocketError) -> T {
    do {
        return try body()
    } catch {
        throw error.socketError
    }
}

extension SocketOption {
    /// The kernel's level and name for the options the provider passes through, and whether it is a flag.
    package var kernelOption: (level: Int32, name: Int32, isFlag: Bool) {
        switch self {
        case .receiveBufferSize: (SOL_SOCKET, SO_RCVBUF, false)
        case .sendBufferSize: (SOL_SOCKET, SO_SNDBUF, false)
        case .noDelay: (Int32(IPPROTO_TCP), TCP_NODELAY, true)
        case .reuseAddress: (SOL_SOCKET, SO_REUSEADDR, true)
        case .keepAlive: (SOL_SOCKET, SO_KEEPALIVE, true)
        case .linger, .dontLinger: (SOL_SOCKET, SO_LINGER, false)
        }
    }
}
