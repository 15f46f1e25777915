import CShim
public import ProviderInterface

/// A failure of the harness or the environment (not of the provider under test):
/// a wait that ran out, a peer call that failed.
public struct HarnessError: Error, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// The suite's timing tolerances (SPEC.md): "at once" and "about t".
public struct Tolerances: Sendable {
    /// A call that must return at once returns within this.
    public var atOnce: Duration = .milliseconds(200)
    /// "About t" means no earlier than t minus this...
    public var early: Duration = .milliseconds(100)
    /// ...and no later than t plus this.
    public var late: Duration = .milliseconds(750)

    public init() {}

    public static let standard = Tolerances()

    /// Whether `elapsed` is "about" `target`.
    public func isAbout(_ elapsed: Duration, _ target: Duration) -> Bool {
        elapsed >= target - early && elapsed <= target + late
    }
}

/// Deterministic payloads whose bytes say where they belong, so that the peer can tell intact from not.
public enum Payload {
    /// `count` bytes of a pattern that does not repeat with any short period, starting at
    /// position `offset` of the pattern, so that a long payload can be made a chunk at a time.
    public static func bytes(_ count: Int, seed: UInt8 = 0, offset: Int = 0) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { td_payload(buffer.baseAddress!, count, seed, offset) }
            initialized = count
        }
    }

    /// Whether `bytes` are the pattern's `bytes.count` bytes from position `offset`.
    public static func matches(_ bytes: [UInt8], seed: UInt8 = 0, offset: Int = 0) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.isEmpty || td_payload_matches(buffer.baseAddress!, buffer.count, seed, offset) != 0
        }
    }
}

/// How to make fresh instances of a provider under test, whichever it is: built in, wrapped, or loaded.
public struct ProviderFactory: Sendable, CustomStringConvertible {
    /// The name reports use.
    public let name: String
    /// A new provider whose upcalls go to the registry given.
    public let make: @Sendable (HandleRegistry) -> any SocketProvider

    /// What the provider declares it can do, when known without making one (a plugin asked in a worker process).
    public let declaredCapabilities: ProviderCapabilities?

    public init(
        name: String, capabilities: ProviderCapabilities? = nil, make: @escaping @Sendable (HandleRegistry) -> any SocketProvider
    ) {
        self.name = name
        self.make = make
        declaredCapabilities = capabilities
    }

    /// What the provider declares it can do.
    public var capabilities: ProviderCapabilities {
        if let declaredCapabilities { return declaredCapabilities }
        let provider = make(HandleRegistry())
        defer { provider.cleanup() }
        return provider.capabilities
    }

    public var description: String { name }
}
