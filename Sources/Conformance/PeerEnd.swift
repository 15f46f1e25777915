import Basics
import Foundation
import Harness
import ProviderInterface

/// The harness's end of one connection: its socket and, when it reads by itself, a reader thread.
/// Everything it read is kept, so that the bytes can be compared with what the subject's sends accepted.
final class PeerEnd: @unchecked Sendable {
    let name: String
    let socket: PeerSocket
    private let condition = NSCondition()
    private var bytes: [UInt8] = []
    private var ending: Ending = .open
    private var readerRunning = false
    private var closing = false
    private var history: [(at: ContinuousClock.Instant, bytes: Int, ending: Ending)] = []

    init(name: String, socket: PeerSocket) {
        self.name = name
        self.socket = socket
    }

    /// Starts reading on a thread of its own, at once or slowly, until the stream ends or `deadline`.
    func startReading(_ reading: PeerBehaviour.Reading, until deadline: Deadline) {
        guard reading != .never else { return }
        condition.lock()
        readerRunning = true
        condition.unlock()
        let (chunk, pause): (Int, Duration?) =
            switch reading {
            case .slowly(let chunk, let pause): (chunk, pause)
            default: (1 << 20, nil)
            }
        Thread.detachNewThread { [self] in
            defer {
                condition.lock()
                readerRunning = false
                condition.broadcast()
                condition.unlock()
            }
            while !deadline.hasPassed {
                guard let next = try? socket.receive(maxBytes: chunk, within: deadline.instant - .now) else { return }
                record(next)
                if next.ending != .open { return }
                if let pause, !next.bytes.isEmpty {
                    // The peer's reading rate is part of the scenario, not a synchronisation.
                    var none: [pollfd] = []
                    _ = poll(&none, 0, Deadline(after: pause).remainingMilliseconds)
                }
            }
        }
    }

    private func record(_ observation: PeerObservation) {
        condition.lock()
        // The end-of-stream that stopReading makes is the harness's own doing, not an observation.
        if closing && observation.ending != .open {
            condition.unlock()
            return
        }
        bytes += observation.bytes
        if observation.ending != .open {
            ending = observation.ending
        }
        if !observation.bytes.isEmpty || observation.ending != .open {
            history.append((.now, observation.bytes.count, observation.ending == .open ? .open : ending))
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Closes the peer's socket, first stopping its reader: a socket a thread is polling is not released by close(2).
    func close(abortive: Bool = false) {
        condition.lock()
        closing = true
        let running = readerRunning
        condition.unlock()
        if running {
            socket.stopReading()
            _ = wait(within: .seconds(5)) { _, _ in false }
        }
        socket.close(abortive: abortive)
    }

    /// Reads on the calling thread until `limit` more bytes, the end of the stream, or the deadline.
    func read(limit: Int?, within timeout: Duration) throws {
        let observation = try socket.read(limit: limit ?? .max, within: timeout)
        record(observation)
    }

    /// Waits until `predicate` holds for what has been read; false when the deadline comes first.
    func wait(within timeout: Duration, until predicate: (Int, Ending) -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        // A reader that has stopped will read nothing more: no use waiting for it.
        _ = condition.wait(until: Deadline(after: timeout)) { predicate(bytes.count, ending) || !readerRunning }
        return predicate(bytes.count, ending)
    }

    /// What has been read so far, and how the stream ended if it has.
    var observed: (bytes: [UInt8], ending: Ending) {
        condition.lock()
        defer { condition.unlock() }
        return (bytes, ending)
    }

    /// Each read that returned bytes or an ending, with when it returned.
    var readHistory: [(at: ContinuousClock.Instant, bytes: Int, ending: Ending)] {
        condition.lock()
        defer { condition.unlock() }
        return history
    }

    var isReading: Bool {
        condition.lock()
        defer { condition.unlock() }
        return readerRunning
    }
}
