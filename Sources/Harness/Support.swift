import PosixProvider
public import ProviderInterface
public import ReferenceProvider

/// A failure of the harness or the environment (not of the provider under test):
/// a wait that ran out, a peer call that failed.
public struct HarnessError: Error, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// A point in time that waits are bounded by.
public struct Deadline: Sendable {
    public let instant: ContinuousClock.Instant

    public init(after duration: Duration) { instant = .now + duration }

    public var hasPassed: Bool { ContinuousClock.now >= instant }

    /// What is left, in milliseconds for poll(2): at least 0, rounded up.
    public var remainingMilliseconds: Int32 {
        let left = instant - .now
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
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
            for index in 0..<count {
                let position = offset &+ index
                buffer[index] = UInt8(truncatingIfNeeded: position &* 7 &+ position / 251 &+ Int(seed))
            }
            initialized = count
        }
    }
}

/// A small seeded generator (SplitMix64): the same seed gives the same draws, so faults, generated captures
/// and damaged frames can be replayed.
public struct SplitMix: Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A draw in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
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

    /// One of the providers built into Teardown.
    public static func builtIn(_ kind: ProviderKind) -> ProviderFactory {
        ProviderFactory(name: kind.rawValue) { kind.make(upcalls: $0) }
    }

    /// The reference provider with one mistake made on purpose.
    public static func mutant(_ mistake: Mistake) -> ProviderFactory {
        ProviderFactory(name: "mutant:\(mistake.rawValue)") { ReferenceProvider(upcalls: $0, mistake: mistake) }
    }

    /// The provider a command line names: a built-in one (`reference`, `posix`) or `mutant:NAME`.
    /// - Throws: `ProviderNameError` saying what the names are.
    public static func named(_ text: String) throws(ProviderNameError) -> ProviderFactory {
        if let kind = ProviderKind(rawValue: text) { return .builtIn(kind) }
        if text.hasPrefix("mutant:") {
            let name = String(text.dropFirst("mutant:".count))
            guard let mistake = Mistake(rawValue: name) else {
                throw ProviderNameError(
                    "unknown mutant '\(name)'; the mutants are: \(Mistake.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .mutant(mistake)
        }
        throw ProviderNameError(
            "unknown provider '\(text)'; give \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")), or mutant:NAME (teardown power lists them)"
        )
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

/// Why a provider name on a command line names no provider.
public struct ProviderNameError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The providers built into Teardown.
public enum ProviderKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The reference provider: every statement of SPEC.md.
    case reference
    /// The interface mapped straight onto Linux calls.
    case posix

    public var description: String { rawValue }

    /// What a provider of this kind declares it can do.
    public var capabilities: ProviderCapabilities { ProviderFactory.builtIn(self).capabilities }

    /// Makes a provider of this kind that makes its upcalls into `upcalls`.
    public func make(upcalls: any ProviderUpcalls) -> any SocketProvider {
        switch self {
        case .reference: ReferenceProvider(upcalls: upcalls)
        case .posix: PosixProvider(upcalls: upcalls)
        }
    }
}
