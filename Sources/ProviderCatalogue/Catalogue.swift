public import Harness
public import Mutants
import PosixProvider
public import ProviderInterface
import ReferenceProvider

/// The providers Teardown knows by name: the built-in ones and the mutants. (A plugin, `plugin:PATH`, is loaded
/// by the command line, in worker processes.)
extension ProviderFactory {
    /// One of the providers built into Teardown.
    public static func builtIn(_ kind: ProviderKind) -> ProviderFactory {
        ProviderFactory(name: kind.rawValue) { kind.make(upcalls: $0) }
    }

    /// The reference provider with one mistake made on purpose.
    public static func mutant(_ mistake: Mistake) -> ProviderFactory {
        ProviderFactory(name: "mutant:\(mistake.rawValue)") { mistake.make(upcalls: $0) }
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
