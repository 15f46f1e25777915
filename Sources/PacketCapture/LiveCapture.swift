import Basics
@preconcurrency import CPcap
import CShim
import Foundation
import SocketSystem
public import WireAnalysis

/// How a live capture is set up.
public struct CaptureSettings: Sendable {
    /// The interface: the loopback, where the suite's connections run.
    public var interface = "lo"
    /// Bytes kept of each packet: enough for every header up to TCP options; payload lengths come from the IP header.
    public var snapshotLength: Int32 = 192
    /// The kernel buffer; with immediate mode it must be 1 MiB or more.
    public var bufferBytes: Int32 = 16 << 20

    public init() {}
}

/// A live capture on an interface with libpcap, read on a thread of its own as packets arrive,
/// written to a pcap file with libpcap's dumper and followed by an `Analyzer` as it goes.
///
/// Use `LiveCapture.with(...)` to have it stopped whatever happens.
public final class LiveCapture: @unchecked Sendable {
    public let filter: String
    public let path: String?
    private let handle: OpaquePointer
    private let dumper: OpaquePointer?
    private let wake: Int32
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var analyzer: Analyzer
    private var stopping = false
    /// What the one stop that released the capture gave; later stops give it again.
    private var stopped: Result<CaptureResult, CaptureError>?
    private let stopLock = NSLock()
    private var finished = false
    private var readError: String?

    /// Starts capturing at once.
    ///
    /// - Parameters:
    ///   - filter: a BPF expression, for example `tcp port 40001`.
    ///   - path: where to write the packets, or nil to keep only the analysis.
    ///   - ladder: when given, every segment is also drawn into it as it is captured (see `ladder`).
    /// - Throws: `CaptureError` (`.permission` when this process may not capture).
    public init(
        filter: String, path: String? = nil, ladder: WireLadder? = nil, settings: CaptureSettings = CaptureSettings()
    ) throws(CaptureError) {
        let handle = try Pcap.openLive(
            interface: settings.interface, snapshotLength: settings.snapshotLength, bufferBytes: settings.bufferBytes)
        let dataLink = pcap_datalink(handle)
        var dumper: OpaquePointer?
        do throws(CaptureError) {
            try Pcap.setFilter(handle, filter)
            try Pcap.setNonblocking(handle)
            guard let linkType = LinkType(dataLink: dataLink) else {
                throw CaptureError(.linkType, "\(settings.interface) has link type \(dataLink), which Teardown does not decode")
            }
            if let path { dumper = try Pcap.openDumper(handle, path: path) }
            analyzer = Analyzer(linkType: linkType, ladder: ladder)
        } catch {
            pcap_close(handle)
            throw error
        }
        let wake: Int32
        do {
            wake = try Syscall.eventDescriptor()
        } catch {
            if let dumper { pcap_dump_close(dumper) }
            pcap_close(handle)
            throw CaptureError(.unavailable, "eventfd: \(error)")
        }
        self.filter = filter
        self.path = path
        self.handle = handle
        self.dumper = dumper
        self.wake = wake
        let thread = Thread { [self] in readUntilStopped() }
        thread.name = "td-capture"
        thread.start()
    }

    /// Captures around `body` and stops whatever it does; returns its result and the capture's.
    public static func with<T>(
        filter: String, path: String? = nil, ladder: WireLadder? = nil, settings: CaptureSettings = CaptureSettings(),
        _ body: (LiveCapture) throws -> T
    ) throws -> (T, CaptureResult) {
        let capture = try LiveCapture(filter: filter, path: path, ladder: ladder, settings: settings)
        let value: T
        do {
            value = try body(capture)
        } catch {
            _ = try? capture.stop()
            throw error
        }
        return (value, try capture.stop())
    }

    /// The facts of the packets captured so far.
    public var facts: CaptureFacts {
        condition.lock()
        defer { condition.unlock() }
        return analyzer.facts()
    }

    /// Waits until `condition` holds for the facts captured so far.
    ///
    /// - Throws: `CaptureError(.timeout)` naming `what` if it does not hold within `timeout`.
    public func wait(for what: String, within timeout: Duration, until predicate: (CaptureFacts) -> Bool) throws(CaptureError) {
        let deadline = Deadline(after: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let seen = analyzer.packets
            if predicate(analyzer.facts()) { return }
            if let readError { throw CaptureError(.unavailable, readError) }
            guard condition.wait(until: deadline, for: { analyzer.packets != seen || readError != nil || finished }) else {
                throw CaptureError(.timeout, "the capture did not show \(what) within \(timeout) (\(analyzer.packets) packets seen)")
            }
            if finished && analyzer.packets == seen { throw CaptureError(.timeout, "the capture stopped before it showed \(what)") }
        }
    }

    /// The ladder drawn from the segments captured so far (nil when none was asked for): the same as reading the
    /// pcap written, without reading it again.
    public var ladder: WireLadder? {
        condition.lock()
        defer { condition.unlock() }
        return analyzer.ladder
    }

    /// Stops the capture, reads what is left in the buffer, closes the file and checks that nothing was dropped.
    /// Calling it again gives the same result: the capture's descriptors are released once, never twice (a second
    /// close could close a descriptor another thread has opened since).
    ///
    /// - Throws: `CaptureError(.dropped)` when the kernel or the buffer dropped any packet: the evidence is then unusable.
    @discardableResult
    public func stop() throws(CaptureError) -> CaptureResult {
        stopLock.lock()
        defer { stopLock.unlock() }
        if let stopped { return try stopped.get() }
        condition.lock()
        if !stopping {
            stopping = true
            Syscall.signal(eventDescriptor: wake)
        }
        guard condition.wait(until: Deadline(after: .seconds(10)), for: { finished }) else {
            condition.unlock()
            // The thread may still use the handle: nothing is released, and a later stop waits again.
            throw CaptureError(.timeout, "the capture thread did not stop within 10 s")
        }
        let facts = analyzer.facts()
        let error = readError
        condition.unlock()
        let drops = Result { () throws(CaptureError) in try Pcap.drops(handle) }
        pcap_close(handle)
        try? Syscall.close(wake)
        let outcome = Result { () throws(CaptureError) -> CaptureResult in
            if let error { throw CaptureError(.unavailable, error) }
            let counts = try drops.get()
            if let error = Self.dropError(dropped: counts.dropped, interfaceDropped: counts.interfaceDropped) { throw error }
            return CaptureResult(facts: facts, path: path)
        }
        stopped = outcome
        return try outcome.get()
    }

    /// The error that drops make: any dropped packet leaves the evidence incomplete.
    static func dropError(dropped: UInt32, interfaceDropped: UInt32) -> CaptureError? {
        guard dropped > 0 || interfaceDropped > 0 else { return nil }
        return CaptureError(
            .dropped,
            "the capture dropped \(dropped) packets in the buffer and \(interfaceDropped) at the interface: the wire evidence is incomplete"
        )
    }

    /// A BPF filter for the TCP traffic of the given ports, in either direction.
    public static func filter(ports: [UInt16]) -> String {
        ports.isEmpty ? "tcp" : "tcp and (" + ports.map { "port \($0)" }.joined(separator: " or ") + ")"
    }

    private func readUntilStopped() {
        var descriptors = [
            pollfd(fd: pcap_get_selectable_fd(handle), events: Int16(POLLIN), revents: 0),
            pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
        ]
        var failure: String?
        while failure == nil {
            // No deadline here: stop() always writes the wake descriptor.
            do {
                _ = try Syscall.poll(&descriptors, timeoutMilliseconds: -1)
            } catch {
                failure = "poll on the capture: \(error)"
            }
            failure = failure ?? drain()
            condition.lock()
            let stop = stopping
            condition.unlock()
            if stop { break }
        }
        // What reached the buffer before stop() was called is read now.
        failure = failure ?? drain()
        if let dumper { pcap_dump_close(dumper) }
        condition.lock()
        readError = failure
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Reads every packet now in the buffer; returns an error text if libpcap fails.
    private func drain() -> String? {
        while true {
            var header: UnsafeMutablePointer<pcap_pkthdr>?
            var data: UnsafePointer<UInt8>?
            let status = pcap_next_ex(handle, &header, &data)
            guard status == 1, let header, let data else {
                return status == 0 ? nil : "reading the capture: \(Pcap.errorText(handle))"
            }
            let frame = UnsafeRawBufferPointer(start: data, count: Int(header.pointee.caplen))
            let time = Pcap.nanoseconds(header)
            if let dumper { Pcap.dump(dumper, frame, wireLength: Int(header.pointee.len), time: time) }
            condition.lock()
            analyzer.add(frame: frame, wireLength: Int(header.pointee.len), time: time)
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// What a stopped capture holds.
public struct CaptureResult: Sendable {
    public let facts: CaptureFacts
    /// The pcap file written, if one was asked for.
    public let path: String?
}
