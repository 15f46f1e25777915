import Basics
import CShim
import Glibc
public import ProviderInterface
import SocketSystem

/// How a stream of bytes ended for its reader: the one idea of a peer's ending, in the case files' words.
public enum Ending: String, Sendable, Codable {
    case endOfStream = "end-of-stream"
    /// Reset, or broken by another error (which `PeerObservation.error` names).
    case reset
    /// Still open when the deadline came; or the read stopped at its byte limit.
    case open
}

/// What a peer read: the bytes, and how the reading ended.
public struct PeerObservation: Sendable, CustomStringConvertible {
    public var bytes: [UInt8] = []
    public var ending: Ending = .open
    /// The errno that broke the stream when it was not a reset (ECONNRESET): the ending is then `reset` too.
    public var error: Int32?

    public var description: String {
        "\(bytes.count) bytes, then " + (error.map { "error \(SystemError($0))" } ?? ending.rawValue)
    }
}

/// The harness's own end of a connection: plain kernel calls, never the provider.
/// Every wait has a deadline.
public final class PeerSocket: @unchecked Sendable {
    public let fd: Int32
    private var open = true

    init(fd: Int32) throws {
        self.fd = fd
        try wrap("set the peer nonblocking") { () throws(SystemError) in try Syscall.setNonblocking(fd, true) }
    }

    deinit { close() }

    /// Connects to `address`; `receiveBuffer` sets SO_RCVBUF before the handshake, so the window follows it.
    public static func connect(
        to address: SocketAddress, receiveBuffer: Int? = nil, within timeout: Duration = .seconds(5)
    ) throws -> PeerSocket {
        let fd = Syscall.intoHarnessRange(
            try wrap("peer socket") { () throws(SystemError) in try Syscall.socket(address.family, nonblocking: true) })
        let peer = try PeerSocket(fd: fd)
        if let receiveBuffer {
            try wrap("peer SO_RCVBUF") { () throws(SystemError) in
                try Syscall.setOption(fd, SOL_SOCKET, SO_RCVBUF, Int32(receiveBuffer))
            }
        }
        let started = try wrap("peer connect to \(address)") { () throws(SystemError) in try Syscall.connect(fd, address) }
        if case .wouldBlock = started {
            guard try peer.poll(Int16(POLLOUT), Deadline(after: timeout)) else {
                throw HarnessError("peer: connect to \(address) did not complete within \(timeout)")
            }
            let code = try wrap("peer SO_ERROR") { () throws(SystemError) in try Syscall.pendingError(fd) }
            if code != 0 { throw HarnessError("peer: connect to \(address) failed: \(SystemError(code))") }
        }
        return peer
    }

    /// The peer's local address.
    public var localAddress: SocketAddress {
        get throws { try wrap("peer getsockname") { () throws(SystemError) in try Syscall.localAddress(fd) } }
    }

    /// The address of the other end: the subject's.
    public var remoteAddress: SocketAddress {
        get throws { try wrap("peer getpeername") { () throws(SystemError) in try Syscall.remoteAddress(fd) } }
    }

    /// Sends every byte, waiting for room until the deadline; returns how many were sent and
    /// the error that stopped it early, if any (for example a reset).
    public func send(_ bytes: [UInt8], within timeout: Duration = .seconds(5)) throws -> (sent: Int, error: SocketError?) {
        let deadline = Deadline(after: timeout)
        var sent = 0
        while sent < bytes.count {
            do {
                let outcome = try bytes.withUnsafeBytes { raw throws(SystemError) in
                    try Syscall.send(fd, UnsafeRawBufferPointer(rebasing: raw[sent...]), dontWait: true)
                }
                switch outcome {
                case .done(let count): sent += count
                case .wouldBlock:
                    guard try poll(Int16(POLLOUT), deadline) else {
                        throw HarnessError("peer: sent only \(sent) of \(bytes.count) bytes within \(timeout)")
                    }
                }
            } catch let error as SystemError {
                return (sent, error.socketError)
            }
        }
        return (sent, nil)
    }

    /// Sends as much of `bytes` as the socket takes now, without waiting for room; returns how many it took.
    public func sendWithoutWaiting(_ bytes: [UInt8]) throws -> Int {
        var sent = 0
        while sent < bytes.count {
            let outcome = try wrap("peer send") { () throws(SystemError) in
                try bytes.withUnsafeBytes { raw in
                    Result { () throws(SystemError) in
                        try Syscall.send(fd, UnsafeRawBufferPointer(rebasing: raw[sent...]), dontWait: true)
                    }
                }.get()
            }
            guard case .done(let count) = outcome else { break }
            sent += count
        }
        return sent
    }

    /// One receive of at most `maxBytes`, waiting until the deadline: data, or how the stream ended.
    public func receive(maxBytes: Int = 65536, within timeout: Duration) throws -> PeerObservation {
        var observation = PeerObservation()
        let deadline = Deadline(after: timeout)
        while true {
            var buffer = [UInt8](repeating: 0, count: maxBytes)
            do {
                let outcome = try buffer.withUnsafeMutableBytes { raw throws(SystemError) in
                    try Syscall.receive(fd, raw, dontWait: true)
                }
                switch outcome {
                case .done(0):
                    observation.ending = .endOfStream
                    return observation
                case .done(let count):
                    observation.bytes = Array(buffer.prefix(count))
                    return observation
                case .wouldBlock:
                    guard try poll(Int16(POLLIN), deadline) else { return observation }
                }
            } catch let error as SystemError {
                observation.ending = .reset
                if error.errno != ECONNRESET { observation.error = error.errno }
                return observation
            }
        }
    }

    /// Reads until end-of-stream, a reset, an error, `limit` bytes, or the deadline.
    /// With `pace`, reads at most `chunk` bytes, then waits `pace` before the next read: a slow reader.
    public func read(
        limit: Int = .max, within timeout: Duration = .seconds(10), chunk: Int = 1 << 20, pace: Duration? = nil
    ) throws -> PeerObservation {
        let deadline = Deadline(after: timeout)
        var observation = PeerObservation()
        while observation.bytes.count < limit {
            let left = deadline.instant - .now
            if left <= .zero { return observation }
            let next = try receive(maxBytes: min(chunk, limit - observation.bytes.count), within: left)
            observation.bytes += next.bytes
            if next.ending != .open {
                observation.ending = next.ending
                return observation
            }
            if let pace, !next.bytes.isEmpty {
                // The peer's reading rate is part of the scenario, not a synchronisation.
                var none: [pollfd] = []
                _ = try? Syscall.poll(&none, timeoutMilliseconds: Deadline(after: pace).remainingMilliseconds)
            }
        }
        return observation
    }

    /// Waits until the connection is reset (RST received): true, or false if the deadline
    /// comes first or the connection ends without a reset.
    ///
    /// The evidence is the socket's pending error: the kernel sets ECONNRESET when an RST
    /// arrives, or EPIPE when it arrives after the peer has read end-of-stream (CLOSE_WAIT).
    /// Reading the error clears it, so a later receive sees end-of-stream instead.
    public func waitForReset(within timeout: Duration) throws -> Bool {
        let deadline = Deadline(after: timeout)
        while true {
            let code = try wrap("peer SO_ERROR") { () throws(SystemError) in try Syscall.pendingError(fd) }
            if code == ECONNRESET || code == EPIPE { return true }
            // TCP_CLOSE without an error: the connection ended both ways without a reset.
            if Syscall.tcpState(fd) == 7 || deadline.hasPassed { return false }
            var fds = [pollfd(fd: fd, events: 0, revents: 0)]
            let ready = try wrap("peer poll") { () throws(SystemError) in
                try Syscall.poll(&fds, timeoutMilliseconds: deadline.remainingMilliseconds)
            }
            if ready == 0 {
                let last = try wrap("peer SO_ERROR") { () throws(SystemError) in try Syscall.pendingError(fd) }
                return last == ECONNRESET || last == EPIPE
            }
        }
    }

    /// Whether anything at all (data, end-of-stream, reset) arrives within `window`; reads nothing.
    public func isQuiet(for window: Duration) throws -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN) | 0x2000 /* POLLRDHUP, which Glibc hides without _GNU_SOURCE */, revents: 0)]
        let ready = try wrap("peer poll") { () throws(SystemError) in
            try Syscall.poll(&fds, timeoutMilliseconds: Deadline(after: window).remainingMilliseconds)
        }
        return ready == 0
    }

    /// Bytes the peer sent that the subject's kernel has not acknowledged.
    public var unackedBytes: Int { Syscall.unackedBytes(fd) }

    /// Whether the peer's TCP state is still ESTABLISHED: it has received neither FIN nor RST.
    public var isEstablished: Bool { Syscall.tcpState(fd) == 1 }

    /// Bytes waiting in the peer's receive queue.
    public var unreadBytes: Int { Syscall.unreadBytes(fd) }

    /// Half-closes: sends FIN.
    public func shutdownSending() throws {
        try wrap("peer shutdown") { () throws(SystemError) in try Syscall.shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Wakes any thread of the harness blocked reading this socket (shutdown(SHUT_RD) puts nothing on the wire).
    public func stopReading() {
        guard open else { return }
        try? Syscall.shutdown(fd, Int32(SHUT_RD))
    }

    /// Closes; abortively (RST) when asked.
    public func close(abortive: Bool = false) {
        guard open else { return }
        open = false
        if abortive { try? Syscall.setLinger(fd, on: true, seconds: 0) }
        try? Syscall.close(fd)
    }

    /// Polls for `events`; false when the deadline came first.
    func poll(_ events: Int16, _ deadline: Deadline) throws -> Bool {
        var fds = [pollfd(fd: fd, events: events, revents: 0)]
        return try wrap("peer poll") { () throws(SystemError) in
            try Syscall.poll(&fds, timeoutMilliseconds: deadline.remainingMilliseconds)
        } > 0
    }
}

/// A listening socket of the harness's own, for subjects in the client role.
public final class PeerListener: @unchecked Sendable {
    public let fd: Int32
    public let address: SocketAddress
    private var open = true

    /// Listens on the loopback address of `family`; accepted sockets inherit `receiveBuffer`.
    public init(_ family: SocketAddress.Family, backlog: Int32 = 16, receiveBuffer: Int? = nil) throws {
        let fd = Syscall.intoHarnessRange(
            try wrap("listener socket") { () throws(SystemError) in try Syscall.socket(family, nonblocking: true) })
        self.fd = fd
        do {
            if let receiveBuffer {
                try wrap("listener SO_RCVBUF") { () throws(SystemError) in
                    try Syscall.setOption(fd, SOL_SOCKET, SO_RCVBUF, Int32(receiveBuffer))
                }
            }
            try wrap("listener bind") { () throws(SystemError) in try Syscall.bind(fd, .loopback(family)) }
            try wrap("listen") { () throws(SystemError) in try Syscall.listen(fd, backlog: backlog) }
            address = try wrap("listener address") { () throws(SystemError) in try Syscall.localAddress(fd) }
        } catch {
            try? Syscall.close(fd)
            throw error
        }
    }

    deinit { close() }

    /// Accepts the next connection, waiting until the deadline.
    public func accept(within timeout: Duration = .seconds(5)) throws -> PeerSocket {
        let deadline = Deadline(after: timeout)
        while true {
            let outcome = try wrap("peer accept") { () throws(SystemError) in try Syscall.accept(fd, nonblocking: true) }
            if case .done(let (newFD, _)) = outcome { return try PeerSocket(fd: Syscall.intoHarnessRange(newFD)) }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            let ready = try wrap("peer poll") { () throws(SystemError) in
                try Syscall.poll(&fds, timeoutMilliseconds: deadline.remainingMilliseconds)
            }
            if ready == 0 { throw HarnessError("peer: no connection to accept on \(address) within \(timeout)") }
        }
    }

    public func close() {
        guard open else { return }
        open = false
        try? Syscall.close(fd)
    }
}

/// Runs a system call wrapper and turns its failure into a harness error that says what failed.
func wrap<T>(_ what: String, _ body: () throws(SystemError) -> T) throws(HarnessError) -> T {
    do {
        return try body()
    } catch {
        throw HarnessError("\(what) failed: \(error)")
    }
}
