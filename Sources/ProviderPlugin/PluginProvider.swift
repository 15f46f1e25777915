import CShim
@preconcurrency import CTeardownProvider
import Foundation
public import ProviderInterface

/// A provider instance of a plugin, seen through the `SocketProvider` interface: each call goes to the
/// plugin's table, its status becomes a named error. The thread's current call is noted for the crash report.
public final class PluginProvider: SocketProvider, @unchecked Sendable {
    enum OperationKind { case send, receive, accept }

    private let table: td_provider
    private let bridge: UpcallBridge
    private let upcallTable: UnsafeMutablePointer<td_upcalls>
    private let lock = NSLock()
    private var ended = false
    public let name: String
    public let capabilities: ProviderCapabilities

    init(_ table: td_provider, bridge: UpcallBridge, upcallTable: UnsafeMutablePointer<td_upcalls>) {
        self.table = table
        self.bridge = bridge
        self.upcallTable = upcallTable
        name = table.name.map { String(cString: $0) } ?? "plugin"
        capabilities = ProviderCapabilities(rawValue: table.capabilities)
    }

    /// Calls into the plugin with the call's name noted; a missing function is `operationNotSupported`.
    private func call(_ name: StaticString, _ body: () -> td_status?) throws(SocketError) {
        td_set_current_call(UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self))
        defer { td_set_current_call(nil) }
        guard let status = body() else { throw .operationNotSupported }
        if status != TD_OK { throw SocketError(rawValue: status) }
    }

    public func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle {
        var handle: td_handle = 0
        try call("socket") { table.socket?(table.state, family == .ipv4 ? TD_AF_INET : TD_AF_INET6, &handle) }
        return SocketHandle(rawValue: handle)
    }

    public func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        var raw = Self.raw(address)
        try call("bind") { table.bind?(table.state, handle.rawValue, &raw) }
    }

    public func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError) {
        try call("listen") { table.listen?(table.state, handle.rawValue, Int32(clamping: backlog)) }
    }

    public func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) {
        var accepted: td_handle = 0
        var address = td_address()
        try call("accept") { table.accept?(table.state, handle.rawValue, &accepted, &address) }
        return (SocketHandle(rawValue: accepted), Self.address(address) ?? .loopback(.ipv4))
    }

    public func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        var raw = Self.raw(address)
        try call("connect") { table.connect?(table.state, handle.rawValue, &raw) }
    }

    public func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        var sent = 0
        try call("send") { table.send?(table.state, handle.rawValue, bytes.baseAddress, bytes.count, &sent) }
        return sent
    }

    public func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        var received = 0
        try call("receive") { table.receive?(table.state, handle.rawValue, buffer.baseAddress, buffer.count, &received) }
        return received
    }

    public func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) {
        try call("shutdown") { table.shutdown?(table.state, handle.rawValue, direction.rawValue) }
    }

    public func close(_ handle: SocketHandle) throws(SocketError) {
        try call("close") { table.close?(table.state, handle.rawValue) }
    }

    public func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        var value = td_option_value()
        try call("get_option") { table.get_option?(table.state, handle.rawValue, Self.code(option), &value) }
        switch option {
        case .linger: return .linger(Linger(isOn: value.on != 0, seconds: Int(value.seconds)))
        case .receiveBufferSize, .sendBufferSize: return .size(Int(value.size))
        default: return .flag(value.on != 0)
        }
    }

    public func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        var raw = td_option_value()
        switch value {
        case .linger(let linger):
            // Every value reaches the provider, whose own validation is what is judged: a negative one as its
            // 32-bit two's complement (above 65535, as C's conversion would make it), one wider than 32 bits as
            // UINT32_MAX.
            raw.on = linger.isOn ? 1 : 0
            raw.seconds =
                Int32(exactly: linger.seconds).map { UInt32(bitPattern: $0) } ?? UInt32(exactly: linger.seconds) ?? UInt32.max
        case .flag(let flag): raw.on = flag ? 1 : 0
        case .size(let size): raw.size = Int64(size)
        }
        try call("set_option") { table.set_option?(table.state, handle.rawValue, Self.code(option), &raw) }
    }

    public func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        var duplicate: td_handle = 0
        try call("duplicate") { table.duplicate?(table.state, handle.rawValue, &duplicate) }
        return SocketHandle(rawValue: duplicate)
    }

    public func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) {
        try call("set_blocking") { table.set_blocking?(table.state, handle.rawValue, blocking ? 1 : 0) }
    }

    public func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        var address = td_address()
        try call("local_address") { table.local_address?(table.state, handle.rawValue, &address) }
        guard let result = Self.address(address) else { throw .addressFamilyNotSupported }
        return result
    }

    public func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        var address = td_address()
        try call("remote_address") { table.remote_address?(table.state, handle.rawValue, &address) }
        guard let result = Self.address(address) else { throw .addressFamilyNotSupported }
        return result
    }

    public func startSend(_ handle: SocketHandle, _ bytes: [UInt8], operation: OperationID) throws(SocketError) {
        bridge.started(operation, .send)
        try call("start_send") {
            bytes.withUnsafeBytes { raw in
                table.start_send?(table.state, handle.rawValue, raw.baseAddress, raw.count, operation.rawValue)
            }
        }
    }

    public func startReceive(_ handle: SocketHandle, maxBytes: Int, operation: OperationID) throws(SocketError) {
        bridge.started(operation, .receive)
        try call("start_receive") { table.start_receive?(table.state, handle.rawValue, maxBytes, operation.rawValue) }
    }

    public func startAccept(_ handle: SocketHandle, operation: OperationID) throws(SocketError) {
        bridge.started(operation, .accept)
        try call("start_accept") { table.start_accept?(table.state, handle.rawValue, operation.rawValue) }
    }

    /// Ends the instance once; the upcall table stays valid until then.
    public func cleanup() {
        lock.lock()
        let first = !ended
        ended = true
        lock.unlock()
        guard first else { return }
        try? call("cleanup") {
            table.cleanup?(table.state)
            return TD_OK
        }
        Unmanaged<UpcallBridge>.fromOpaque(upcallTable.pointee.harness).release()
        upcallTable.deallocate()
    }

    // MARK: - Conversions

    static func code(_ option: SocketOption) -> UInt32 {
        switch option {
        case .linger: TD_OPT_LINGER
        case .dontLinger: TD_OPT_DONTLINGER
        case .receiveBufferSize: TD_OPT_RCVBUF
        case .sendBufferSize: TD_OPT_SNDBUF
        case .noDelay: TD_OPT_NODELAY
        case .reuseAddress: TD_OPT_REUSEADDR
        case .keepAlive: TD_OPT_KEEPALIVE
        }
    }

    static func raw(_ address: SocketAddress) -> td_address {
        var raw = td_address()
        raw.family = address.family == .ipv4 ? TD_AF_INET : TD_AF_INET6
        raw.port = address.port
        withUnsafeMutableBytes(of: &raw.bytes) { bytes in
            for (index, byte) in address.bytes.enumerated() { bytes[index] = byte }
        }
        return raw
    }

    static func address(_ raw: td_address) -> SocketAddress? {
        let bytes = withUnsafeBytes(of: raw.bytes) { Array($0) }
        switch raw.family {
        case TD_AF_INET: return SocketAddress(family: .ipv4, bytes: Array(bytes.prefix(4)), port: raw.port)
        case TD_AF_INET6: return SocketAddress(family: .ipv6, bytes: bytes, port: raw.port)
        default: return nil
        }
    }
}
