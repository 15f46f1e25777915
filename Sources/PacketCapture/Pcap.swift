@preconcurrency import CPcap
import Glibc

/// The one place that calls libpcap: thin wrappers that turn its status codes and error buffers
/// into `CaptureError`s.
enum Pcap {
    /// The libpcap version string, for diagnostics.
    static var version: String { String(cString: pcap_lib_version()) }

    static func errorText(_ handle: OpaquePointer) -> String { String(cString: pcap_geterr(handle)) }

    /// Calls `body` with an error buffer of the size libpcap requires.
    static func withErrorBuffer<T>(_ body: (UnsafeMutablePointer<CChar>) -> T) -> (T, String) {
        var buffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let result = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (result, text)
    }

    /// `pcap_create` then the settings Teardown needs, then `pcap_activate`.
    static func openLive(
        interface: String, snapshotLength: Int32, bufferBytes: Int32
    ) throws(CaptureError) -> OpaquePointer {
        let (created, errorText) = withErrorBuffer { pcap_create(interface, $0) }
        guard let handle = created else { throw CaptureError(.unavailable, "cannot open \(interface) for capture: \(errorText)") }
        // Immediate mode: otherwise packets are delivered up to a second late. Then a buffer
        // large enough for a burst of loopback segments, and a snapshot long enough for the headers.
        pcap_set_snaplen(handle, snapshotLength)
        pcap_set_promisc(handle, 0)
        pcap_set_immediate_mode(handle, 1)
        pcap_set_buffer_size(handle, bufferBytes)
        pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let status = pcap_activate(handle)
        if status < 0 {
            let detail = status == PCAP_ERROR ? self.errorText(handle) : String(cString: pcap_statustostr(status))
            pcap_close(handle)
            if status == PCAP_ERROR_PERM_DENIED {
                throw CaptureError(.permission, "no permission to capture on \(interface): \(detail)")
            }
            throw CaptureError(.unavailable, "cannot capture on \(interface): \(detail)")
        }
        return handle
    }

    /// Compiles and installs a BPF filter.
    static func setFilter(_ handle: OpaquePointer, _ expression: String) throws(CaptureError) {
        var program = bpf_program()
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw CaptureError(.filter, "capture filter '\(expression)' does not compile: \(errorText(handle))")
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw CaptureError(.filter, "capture filter '\(expression)' cannot be installed: \(errorText(handle))")
        }
    }

    static func setNonblocking(_ handle: OpaquePointer) throws(CaptureError) {
        let (status, text) = withErrorBuffer { pcap_setnonblock(handle, 1, $0) }
        guard status == 0 else { throw CaptureError(.unavailable, "cannot make the capture nonblocking: \(text)") }
    }

    /// Packets the kernel or the buffer dropped since the capture began.
    static func drops(_ handle: OpaquePointer) throws(CaptureError) -> (dropped: UInt32, interfaceDropped: UInt32) {
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else {
            throw CaptureError(.unavailable, "cannot read the capture statistics: \(errorText(handle))")
        }
        return (stats.ps_drop, stats.ps_ifdrop)
    }

    /// Opens a capture file (pcap or pcapng) with nanosecond timestamps.
    static func openOffline(_ path: String) throws(CaptureError) -> OpaquePointer {
        let (opened, text) = withErrorBuffer {
            pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), $0)
        }
        guard let handle = opened else { throw CaptureError(.file, "\(path): \(text)") }
        return handle
    }

    /// A handle for writing a capture file of `linkType` frames with nanosecond timestamps.
    static func openDead(linkType: Int32, snapshotLength: Int32) -> OpaquePointer? {
        pcap_open_dead_with_tstamp_precision(linkType, snapshotLength, UInt32(PCAP_TSTAMP_PRECISION_NANO))
    }

    static func openDumper(_ handle: OpaquePointer, path: String) throws(CaptureError) -> OpaquePointer {
        guard let dumper = pcap_dump_open(handle, path) else {
            throw CaptureError(.file, "cannot write \(path): \(errorText(handle))")
        }
        return dumper
    }

    /// Writes one frame; `time` is in nanoseconds since the epoch (the dumper was opened for nanoseconds).
    static func dump(_ dumper: OpaquePointer, _ frame: UnsafeRawBufferPointer, wireLength: Int, time: Int64) {
        var header = pcap_pkthdr()
        header.ts.tv_sec = Int(time / 1_000_000_000)
        header.ts.tv_usec = Int(time % 1_000_000_000)
        header.caplen = UInt32(frame.count)
        header.len = UInt32(wireLength)
        let user = UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self)
        pcap_dump(user, &header, frame.baseAddress?.assumingMemoryBound(to: UInt8.self))
    }

    static func closeDumper(_ dumper: OpaquePointer) throws(CaptureError) {
        let flushed = pcap_dump_flush(dumper)
        pcap_dump_close(dumper)
        guard flushed == 0 else { throw CaptureError(.file, "cannot flush the capture file: \(String(cString: strerror(errno)))") }
    }

    /// Nanoseconds since the epoch from a header of a handle opened with nanosecond precision.
    /// A time past what 64 bits of nanoseconds hold (a pcapng block with a huge timestamp or resolution) saturates
    /// at the largest or smallest value instead of trapping.
    @inline(__always) static func nanoseconds(_ header: UnsafePointer<pcap_pkthdr>) -> Int64 {
        let seconds = Int64(header.pointee.ts.tv_sec)
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (time, carried) = scaled.addingReportingOverflow(Int64(header.pointee.ts.tv_usec))
        guard !overflow && !carried else { return seconds < 0 ? .min : .max }
        return time
    }
}
