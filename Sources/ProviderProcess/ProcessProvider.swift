import Foundation
public import ProviderInterface

/// One provider instance served by a provider's process (docs/provider-protocol.md), seen through the
/// `SocketProvider` interface: each call is a request the process makes on a thread of its own, each answer a
/// result or a Winsock error code; its upcalls (handles, completions) come back as messages and go to `upcalls`.
public final class ProcessProvider: SocketProvider, @unchecked Sendable {
    private let host: ProviderProcessHost
    private let upcalls: any ProviderUpcalls
    public var name: String { host.name }
    public var capabilities: ProviderCapabilities { host.capabilities }

    /// Serves a new instance on `host`; the one served before must have been cleaned up.
    public init(host: ProviderProcessHost, upcalls: any ProviderUpcalls) {
        self.host = host
        self.upcalls = upcalls
        host.serve(self)
    }

    // MARK: Encoding

    static func data(_ bytes: UnsafeRawBufferPointer) -> String {
        bytes.isEmpty ? "-" : Data(bytes).base64EncodedString()
    }

    static func bytes(_ word: Substring) throws(SocketError) -> [UInt8] {
        if word == "-" { return [] }
        guard let data = Data(base64Encoded: String(word)) else { throw .systemCallFailure }
        return [UInt8](data)
    }

    static func handle(_ word: Substring?) throws(SocketError) -> SocketHandle {
        guard let word, let value = UInt64(word) else { throw .systemCallFailure }
        return SocketHandle(rawValue: value)
    }

    static func address(_ word: Substring?) throws(SocketError) -> SocketAddress {
        guard let word, let address = SocketAddress(String(word)) else { throw .systemCallFailure }
        return address
    }

    static func count(_ word: Substring?) throws(SocketError) -> Int {
        guard let word, let value = Int(word), value >= 0 else { throw .systemCallFailure }
        return value
    }

    static func option(_ value: SocketOptionValue) -> String {
        switch value {
        case .linger(let linger): "\(linger.isOn ? "on" : "off"),\(linger.seconds)"
        case .flag(let flag): String(flag)
        case .size(let size): String(size)
        }
    }

    static func option(_ word: Substring?, as option: SocketOption) throws(SocketError) -> SocketOptionValue {
        guard let word else { throw .systemCallFailure }
        switch option {
        case .linger:
            let parts = word.split(separator: ",")
            guard parts.count == 2, parts[0] == "on" || parts[0] == "off", let seconds = Int(parts[1]) else { throw .systemCallFailure }
            return .linger(Linger(isOn: parts[0] == "on", seconds: seconds))
        case .dontLinger, .noDelay, .reuseAddress, .keepAlive:
            guard let flag = Bool(String(word)) else { throw .systemCallFailure }
            return .flag(flag)
        case .receiveBufferSize, .sendBufferSize:
            return .size(try count(word))
        }
    }

    // MARK: The interface

    public func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle {
        try Self.handle(host.call("socket", [family.rawValue]).first)
    }

    public func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        _ = try host.call("bind", ["\(handle.rawValue)", address.description])
    }

    public func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError) {
        _ = try host.call("listen", ["\(handle.rawValue)", "\(backlog)"])
    }

    public func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) {
        let words = try host.call("accept", ["\(handle.rawValue)"])
        return (try Self.handle(words.first), try Self.address(words.dropFirst().first))
    }

    public func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) {
        _ = try host.call("connect", ["\(handle.rawValue)", address.description])
    }

    public func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        let count = try Self.count(host.call("send", ["\(handle.rawValue)"], payload: Self.data(bytes)).first)
        guard count <= bytes.count else { throw .systemCallFailure }
        return count
    }

    public func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        let words = try host.call("receive", ["\(handle.rawValue)", "\(buffer.count)"])
        let bytes = try Self.bytes(words.first ?? "-")
        guard bytes.count <= buffer.count else { throw .systemCallFailure }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return bytes.count
    }

    public func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) {
        _ = try host.call("shutdown", ["\(handle.rawValue)", "\(direction.rawValue)"])
    }

    public func close(_ handle: SocketHandle) throws(SocketError) {
        _ = try host.call("close", ["\(handle.rawValue)"])
    }

    public func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue {
        try Self.option(host.call("getopt", ["\(handle.rawValue)", option.rawValue]).first, as: option)
    }

    public func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        _ = try host.call("setopt", ["\(handle.rawValue)", option.rawValue, Self.option(value)])
    }

    public func duplicate(_ handle: SocketHandle) throws(SocketError) -> SocketHandle {
        try Self.handle(host.call("duplicate", ["\(handle.rawValue)"]).first)
    }

    public func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) {
        _ = try host.call("blocking", ["\(handle.rawValue)", "\(blocking)"])
    }

    public func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        try Self.address(host.call("localaddr", ["\(handle.rawValue)"]).first)
    }

    public func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress {
        try Self.address(host.call("remoteaddr", ["\(handle.rawValue)"]).first)
    }

    public func startSend(_ handle: SocketHandle, _ bytes: [UInt8], operation: OperationID) throws(SocketError) {
        let data = bytes.withUnsafeBytes { Self.data($0) }
        _ = try host.call("startsend", ["\(handle.rawValue)", "\(operation.rawValue)"], payload: data)
    }

    public func startReceive(_ handle: SocketHandle, maxBytes: Int, operation: OperationID) throws(SocketError) {
        _ = try host.call("startreceive", ["\(handle.rawValue)", "\(operation.rawValue)", "\(maxBytes)"])
    }

    public func startAccept(_ handle: SocketHandle, operation: OperationID) throws(SocketError) {
        _ = try host.call("startaccept", ["\(handle.rawValue)", "\(operation.rawValue)"])
    }

    public func cleanup() {
        _ = try? host.call("cleanup", [])
        host.serve(nil)
    }

    // MARK: Events

    /// A completion or an upcall from the provider's process (on the thread that reads it).
    func event(_ words: [Substring]) {
        if words[0] == "complete" {
            guard words.count >= 3, let id = UInt64(words[1]), let result = Self.result(Array(words.dropFirst(2))) else {
                return report(words)
            }
            upcalls.completeOperation(OperationID(rawValue: id), with: result)
            return
        }
        guard words.count >= 4 else { return report(words) }
        let number = words[1]
        switch words[2] {
        case "create":
            guard let context = UInt64(words[3]) else { return report(words) }
            host.answer(upcall: number, Result { () throws(SocketError) in "\(try upcalls.createHandle(context: context).rawValue)" })
        case "release":
            guard let handle = UInt64(words[3]) else { return report(words) }
            host.answer(
                upcall: number, Result { () throws(SocketError) in try upcalls.releaseHandle(SocketHandle(rawValue: handle)) }.map { "" })
        case "query":
            guard let handle = UInt64(words[3]) else { return report(words) }
            host.answer(
                upcall: number, Result { () throws(SocketError) in "\(try upcalls.queryContext(of: SocketHandle(rawValue: handle)))" })
        default:
            report(words)
        }
    }

    static func result(_ words: [Substring]) -> OperationResult? {
        switch words[0] {
        case "sent": return (try? count(words.dropFirst().first)).map { .sent($0) }
        case "received": return (try? bytes(words.count > 1 ? words[1] : "-")).map { .received($0) }
        case "accepted":
            guard let handle = try? handle(words.dropFirst().first), let address = try? address(words.dropFirst(2).first) else {
                return nil
            }
            return .accepted(handle, address)
        case "failed": return words.count > 1 ? Int32(words[1]).map { .failed(SocketError(rawValue: $0)) } : nil
        default: return nil
        }
    }

    private func report(_ words: [Substring]) { host.protocolError(words.joined(separator: " ")) }
}
