@preconcurrency import CPcap
public import WireAnalysis

/// A capture file read through libpcap (`pcap_open_offline`), pcap or pcapng.
public enum CaptureFile {
    /// Reads every frame of the file at `path` and returns its teardown facts.
    ///
    /// A file that ends in the middle of a packet still gives the facts of the packets before it,
    /// with `truncated` saying where it stopped.
    /// - Throws: `CaptureError` when the file cannot be opened, is not a capture, or has a link type
    ///   Teardown does not decode.
    public static func analyze(path: String) throws(CaptureError) -> CaptureFacts {
        try analyze(path: path, drawing: nil).facts
    }

    /// Reads the file at `path` as `analyze(path:)` does, and draws its segments into `ladder`.
    public static func analyze(path: String, drawing ladder: WireLadder?) throws(CaptureError) -> (
        facts: CaptureFacts, ladder: WireLadder?
    ) {
        var analyzer: Analyzer?
        let truncated = try read(path: path) { linkType in
            analyzer = Analyzer(linkType: linkType, ladder: ladder)
        } frame: { frame, wireLength, time in
            analyzer!.add(frame: frame, wireLength: wireLength, time: time)
        }
        return (analyzer!.facts(truncated: truncated), analyzer!.ladder)
    }

    /// Reads the file at `path` and hands each connection's facts to `emit` as soon as it has ended and gone
    /// quiet (`Analyzer.retire`), the others when the file ends: only the connections still open are held.
    /// `start` is told the link type first; `emit` gets the capture's start time (`CaptureFacts.captureStart`) with
    /// each connection.
    /// - Returns: the capture's facts without its connections (the counts, what was skipped, whether it was
    ///   cut short), how many connections were emitted, and the ladder drawn.
    public static func stream(
        path: String, drawing ladder: WireLadder?, start: (LinkType) -> Void = { _ in }, emit: (ConnectionFacts, Double) -> Void
    ) throws(CaptureError) -> (facts: CaptureFacts, connections: Int, ladder: WireLadder?) {
        var analyzer: Analyzer?
        var emitted = 0
        let truncated = try read(path: path) { linkType in
            analyzer = Analyzer(linkType: linkType, ladder: ladder)
            start(linkType)
        } frame: { frame, wireLength, time in
            analyzer!.add(frame: frame, wireLength: wireLength, time: time)
            // A look every 1024 packets is plenty: retire itself looks at most once a second of capture time.
            if analyzer!.packets & 1023 == 0 {
                for connection in analyzer!.retire() {
                    emitted += 1
                    emit(connection, analyzer!.captureStartSeconds)
                }
            }
        }
        for connection in analyzer!.retireAll() {
            emitted += 1
            emit(connection, analyzer!.captureStartSeconds)
        }
        return (analyzer!.facts(truncated: truncated), emitted, analyzer!.ladder)
    }

    /// Calls `frame` for every frame of the file, in order, after `start` with its link type.
    ///
    /// - Returns: why reading stopped before the end of the file, or nil when it reached the end.
    public static func read(
        path: String, start: (LinkType) -> Void, frame: (UnsafeRawBufferPointer, Int, Int64) -> Void
    ) throws(CaptureError) -> String? {
        let handle = try Pcap.openOffline(path)
        defer { pcap_close(handle) }
        let dataLink = pcap_datalink(handle)
        guard let linkType = LinkType(dataLink: dataLink) else {
            let name = pcap_datalink_val_to_name(dataLink).map { String(cString: $0) } ?? "\(dataLink)"
            let known = LinkType.allCases.map(\.description).joined(separator: ", ")
            throw CaptureError(.linkType, "\(path): link type \(name) is not one Teardown decodes (\(known))")
        }
        start(linkType)
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var number = 0
        while true {
            let status = pcap_next_ex(handle, &header, &data)
            guard status == 1, let header, let data else {
                if status == PCAP_ERROR_BREAK { return nil }
                // libpcap says "truncated" when the file ends inside a record; anything else is a damaged record.
                let reason = Pcap.errorText(handle)
                let what =
                    reason.contains("truncated")
                    ? "the file is cut short inside packet \(number + 1)" : "packet \(number + 1) is a corrupt record"
                return "\(path): \(what), after \(number) good packets: \(reason)"
            }
            number += 1
            frame(
                UnsafeRawBufferPointer(start: data, count: Int(header.pointee.caplen)), Int(header.pointee.len),
                Pcap.nanoseconds(header))
        }
    }
}

/// Writes frames to a pcap file with libpcap's own dumper, with nanosecond timestamps.
public final class CaptureWriter {
    private let handle: OpaquePointer
    private var dumper: OpaquePointer?
    public let path: String

    /// Creates (or replaces) the file at `path` for frames of `linkType`.
    public init(path: String, linkType: LinkType, snapshotLength: Int32 = 262_144) throws(CaptureError) {
        guard let handle = Pcap.openDead(linkType: linkType.rawValue, snapshotLength: snapshotLength) else {
            throw CaptureError(.file, "cannot create a capture of link type \(linkType)")
        }
        self.handle = handle
        self.path = path
        do {
            dumper = try Pcap.openDumper(handle, path: path)
        } catch {
            pcap_close(handle)
            throw error
        }
    }

    /// Appends one frame captured at `time` (nanoseconds since the epoch).
    public func write(_ frame: UnsafeRawBufferPointer, wireLength: Int, time: Int64) {
        guard let dumper else { return }
        Pcap.dump(dumper, frame, wireLength: wireLength, time: time)
    }

    /// Flushes and closes the file.
    public func close() throws(CaptureError) {
        guard let dumper else { return }
        self.dumper = nil
        defer { pcap_close(handle) }
        try Pcap.closeDumper(dumper)
    }

    deinit {
        if let dumper {
            pcap_dump_close(dumper)
            pcap_close(handle)
        }
    }
}
