import Foundation
import Harness
import PacketCapture
import ProviderInterface
import WireAnalysis

/// What exists while a case runs: the subject's handles by the names the case gives them, the harness's peers
/// and listeners, the calls left running on named threads, the asynchronous operations, the capture, and the
/// counts the expectations are judged against. The steps change it; nothing in it judges.
final class Scene {
    /// Live handles by name.
    var handles: [String: SocketHandle] = [:] {
        didSet { for (name, handle) in handles where oldValue[name] != handle { onNamed(handle, name) } }
    }
    /// Told each new name of a handle (the fault plan's rules name handles as the case does).
    var onNamed: (SocketHandle, String) -> Void = { _, _ in }
    /// Handles closed successfully, still nameable by later steps (CLOSE-2).
    var released: [String: SocketHandle] = [:]
    /// Sockets `churn` made, closed at the end.
    var churned: [SocketHandle] = []
    /// Each thread's last receive buffer, kept after the call returns (PEND-7).
    var receiveBuffers: [String: ReceiveBuffer] = [:]
    /// Blocking mode as the case set it, by handle name.
    var blocking: [String: Bool] = [:]
    var peers: [String: PeerEnd] = [:]
    var listeners: [PeerListener] = []
    /// Connections the harness made and does not read (to a stalled listener, or to end a pending accept).
    var stalled: [PeerSocket] = []
    var threads: [String: ThreadCall] = [:]
    var operations: [String: OperationID] = [:]
    /// Bytes the subject's sends reported accepted, in order: N of "FIN at N+1".
    var accepted = 0
    /// Bytes the main peer sent.
    var peerSent = 0
    /// Whether the main peer has shut down sending: its FIN follows the bytes it sent.
    var peerShutDown = false
    /// Whether the subject shut down its sending side (on the main thread).
    var subjectShutDown = false
    /// The main peer's address (its end of the main connection), to find that connection on the wire.
    var mainPeerAddress: String?
    var capture: LiveCapture?
    var subjectListenAddress: SocketAddress?
    /// Inodes of the subject's sockets in this case: its listener and its ends of the peers' connections.
    var ownedInodes: Set<String> = []
    /// The local ports of the harness's sockets in this case: segments from them come from the peer's side.
    var peerPorts: Set<UInt16> = []

    /// Notes which of the process's sockets are the subject's in this case, identified by the peers' port pairs
    /// (unique while the connections live) and, while it is certainly still ours, the listener's port.
    func recordOwnedSockets(includingListener: Bool) {
        var pairs: Set<[UInt16]> = []
        for peer in peers.values {
            guard let local = try? peer.socket.localAddress, let remote = try? peer.socket.remoteAddress else { continue }
            peerPorts.insert(local.port)
            pairs.insert([remote.port, local.port])
        }
        let listenPort = includingListener ? subjectListenAddress?.port : nil
        for entry in SocketInventory.sockets() {
            if pairs.contains([entry.localPort, entry.remotePort])
                || (entry.localPort == listenPort && entry.listening)
            {
                ownedInodes.insert(entry.inode)
            }
        }
    }

    /// Whether any thread's call is still inside the provider.
    var hasPendingCall: Bool { threads.values.contains { $0.call.finishedAt == nil } }

    /// Closes the harness's own sockets: peers, stalled connections, listeners.
    func closeHarnessSockets() {
        for peer in peers.values { peer.close() }
        for socket in stalled { socket.close() }
        for listener in listeners { listener.close() }
    }

    /// The peer's direction (`fromPeer`) or the subject's, on the connection of the peer at `peerAddress`.
    static func direction(_ facts: CaptureFacts, peer peerAddress: String, fromPeer: Bool) -> DirectionFacts? {
        guard let connection = facts.connections.last(where: { $0.client == peerAddress || $0.server == peerAddress }) else { return nil }
        return connection.directions.first { ($0.from == peerAddress) == fromPeer }
    }
}

/// A call left running on a named thread.
struct ThreadCall {
    let step: Step
    let call: BackgroundCall<CallOutcome>
    var checked = false
}

/// A receive's buffer, kept after the call returns so that a later write into it can be seen (PEND-7).
final class ReceiveBuffer: @unchecked Sendable {
    static let sentinel: UInt8 = 0xEE
    let memory: UnsafeMutableRawBufferPointer
    var returned = 0

    init(size: Int) {
        memory = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: Self.sentinel)
    }

    deinit { memory.deallocate() }

    /// Bytes past what the call returned that are no longer the sentinel.
    var writtenAfter: Int { memory[returned...].filter { $0 != Self.sentinel }.count }
}
