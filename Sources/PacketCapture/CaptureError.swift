/// Why a capture could not be made or read. A capture error makes the evidence unusable: it is
/// reported as an error, never turned into a pass or a fail.
public struct CaptureError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The process may not capture (no root, no CAP_NET_RAW).
        case permission
        /// libpcap could not open or configure the interface.
        case unavailable
        /// The capture filter did not compile.
        case filter
        /// The kernel or the capture buffer dropped packets.
        case dropped
        /// A capture file could not be read or written.
        case file
        /// The capture's link-layer type is not one Teardown decodes.
        case linkType
        /// A wait on the capture ran out.
        case timeout
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
