import Glibc
public import ProviderInterface
import SocketSystem

/// The interface mapped straight onto Linux calls, as most people would write
/// it first: the handle is the descriptor, close is `close(2)`, linger is the
/// kernel's `SO_LINGER`, duplicate is `dup(2)`, blocking mode is `O_NONBLOCK`.
///
/// It is a real alternative provider and the suite's first proof of power: it
/// deviates where SPEC.md says Linux differs. `close(2)` wakes no thread blocked
/// on the descriptor (PEND-1..4, PEND-7, SHARE-5), descriptor numbers are
/// reused at once (CLOSE-3), a linger timeout ends with a FIN instead of a reset
/// (LINGER-5), and a nonblocking close with a linger timeout blocks (LINGER-6).
public final class PosixProvider: SocketProvider, @unchecked Sendable {
    public let name = "posix"
    public let capabilities: ProviderCapabilities = [.duplicate, .ipv6]

    /// Creates the provider; it uses descriptors as handles, so it makes no handle upcalls.
    public init(upcalls: any ProviderUpcalls) {}

    public func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle {
        SocketHandle(rawValue: UInt64(try system { () throws(SystemError) in try Syscall.socket(family, nonblocking: false) }))
    }

    public func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        let fd = try descriptor(handle)
        try system { () throws(SystemError) in try Syscall.bind(fd, address) }
    }

    public func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError) {
        let fd = try descriptor(handle)
        try system { () throws(SystemError) in try Syscall.listen(fd, backlog: Int32(clamping: max(0, backlog))) }
    }

    public func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) {
        let fd = try descriptor(handle)
        let outcome = try system { () throws(SystemError) in try Syscall.accept(fd, nonblocking: false) }
        guard case .done(let (newFD, address)) = outcome else { throw .wouldBlock }
        return (SocketHandle(rawValue: UInt64(newFD)), address)
    }

    public func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        let fd = try descriptor(handle)
        guard case .done = try system({ () throws(SystemError) in try Syscall.connect(fd, address) }) else { throw .wouldBlock }
    }

    public func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        let fd = try descriptor(handle)
        guard case .done(let count) = try system({ () throws(SystemError) in try Syscall.send(fd, bytes, dontWait: false) }) else {
            throw .wouldBlock
        }
        return count
    }

    public func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        let fd = try descriptor(handle)
        guard case .done(let count) = try system({ () throws(SystemError) in try Syscall.receive(fd, buffer, dontWait: false) }) else {
            throw .wouldBlock
        }
        return count
    }

    public func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) {
        let fd = try descriptor(handle)
        try system { () throws(SystemError) in try Syscall.shutdown(fd, direction.rawValue) }
    }

    public func close(_ handle: SocketHandle) throws(SocketError) {
        let fd = try descriptor(handle)
        try system { () throws(SystemError) in try Syscall.close(fd) }
    }

    public func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        let fd = try descriptor(handle)
        switch option {
        case .linger, .dontLinger:
            let (on, seconds) = try system { () throws(SystemError) in try Syscall.linger(fd) }
            return option == .linger ? .linger(Linger(isOn: on, seconds: Int(seconds))) : .flag(!on)
        default:
            let (level, name, isFlag) = option.kernelOption
            let value = try system { () throws(SystemError) in try Syscall.option(fd, level, name) }
            return isFlag ? .flag(value != 0) : .size(Int(value))
        }
    }

    public func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        let fd = try descriptor(handle)
        switch (option, value) {
        case (.linger, .linger(let linger)):
            // Linux takes any l_linger; the interface's range is Winsock's u_short.
            guard Linger.validSeconds.contains(linger.seconds) else { throw .invalidArgument }
            try system { () throws(SystemError) in try Syscall.setLinger(fd, on: linger.isOn, seconds: Int32(linger.seconds)) }
        case (.dontLinger, .flag(let dontLinger)):
            let (_, seconds) = try system { () throws(SystemError) in try Syscall.linger(fd) }
            try system { () throws(SystemError) in try Syscall.setLinger(fd, on: !dontLinger, seconds: seconds) }
        case (.receiveBufferSize, .size(let size)), (.sendBufferSize, .size(let size)):
            guard let raw = Int32(exactly: size), raw > 0 else { throw .invalidArgument }
            let (level, name, _) = option.kernelOption
            try system { () throws(SystemError) in try Syscall.setOption(fd, level, name, raw) }
        case (.noDelay, .flag(let flag)), (.reuseAddress, .flag(let flag)), (.keepAlive, .flag(let flag)):
            let (level, name, _) = option.kernelOption
            try system { () throws(SystemError) in try Syscall.setOption(fd, level, name, flag ? 1 : 0) }
        default:
            throw .invalidArgument
        }
    }

    public func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        let fd = try descriptor(handle)
        return SocketHandle(rawValue: UInt64(try system { () throws(SystemError) in try Syscall.duplicate(fd) }))
    }

    public func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) {
        let fd = try descriptor(handle)
        try system { () throws(SystemError) in try Syscall.setNonblocking(fd, !blocking) }
    }

    public func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        let fd = try descriptor(handle)
        return try system { () throws(SystemError) in try Syscall.localAddress(fd) }
    }

    public func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        let fd = try descriptor(handle)
        return try system { () throws(SystemError) in try Syscall.remoteAddress(fd) }
    }

    /// Descriptors are not tracked, so there is nothing to clean up.
    public func cleanup() {}

    private func descriptor(_ handle: SocketHandle) throws(SocketError) -> Int32 {
        guard let fd = Int32(exactly: handle.rawValue) else { throw .notSocket }
        return fd
    }
}
