public import Conformance
import Foundation
public import Harness
import PacketCapture
public import ProviderInterface

/// Teardown's conformance suite for a Swift provider of your own, from your own `swift test`: add Teardown as a
/// package dependency, and in a test target
///
/// ```swift
/// import TeardownTestKit
/// import Testing
///
/// let kit = ConformanceKit(name: "mine") { upcalls in MyProvider(upcalls: upcalls) }
///
/// @Test(.enabled(if: ConformanceKit.captureDenied == nil), arguments: ConformanceKit.instanceIDs())
/// func conforms(_ id: String) {
///     let result = kit.run(id)
///     #expect(ConformanceKit.problem(in: result) == nil, "\(ConformanceKit.problem(in: result) ?? "")")
/// }
/// ```
///
/// Each case instance is then a test of its own, judged as `teardown run` judges it (the same runner, the same
/// capture and audit), its pcap and its result (JSON) written to `reports`.
public struct ConformanceKit: Sendable {
    public let provider: ProviderFactory
    /// The suite: statements.yaml and cases/ (Teardown's own by default).
    public let suite: String
    /// Known deviations, reported as expected rather than failed.
    public let expectations: Expectations?
    /// Where each instance's pcap and result go.
    public let reports: String
    /// Why the expectations file could not be read: every test then fails with it rather than pass them all.
    let expectationsProblem: String?

    /// - Parameters:
    ///   - name: the provider's name in reports.
    ///   - expectations: an expectations file (see conformance/expectations/posix.yaml) listing its known deviations.
    ///   - suite: another suite directory than Teardown's own.
    ///   - reports: where pcaps and results go (default: a directory under the system's temporary directory).
    ///   - make: a new provider whose upcalls go to the harness, for each case.
    public init(
        name: String, expectations: String? = nil, suite: String? = nil, reports: String? = nil,
        make: @escaping @Sendable (any ProviderUpcalls) -> any SocketProvider
    ) {
        provider = ProviderFactory(name: name) { registry in make(registry) }
        self.suite = suite ?? Self.teardownSuite
        var loaded: Expectations?
        var problem: String?
        if let expectations {
            do {
                loaded = try Expectations.load(path: expectations)
            } catch {
                problem = "\(error)"
            }
        }
        self.expectations = loaded
        expectationsProblem = problem
        self.reports = reports ?? NSTemporaryDirectory() + "teardown-kit-\(Runner.fileName(name))"
        try? FileManager.default.createDirectory(atPath: self.reports, withIntermediateDirectories: true)
    }

    /// Teardown's own suite, beside this file in Teardown's checkout.
    public static let teardownSuite: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("conformance").path

    /// Why the suite cannot capture here (its wire evidence needs CAP_NET_RAW: run as root, as CI does), or nil.
    public static let captureDenied: String? = CaptureAccess.probe().map { "Teardown's suite needs to capture: \($0.message)" }

    /// Every case instance of the suite, by id: the arguments of a parameterized test.
    public static func instanceIDs(suite: String = teardownSuite) -> [String] {
        loaded(suite).instances.map(\.id)
    }

    /// Runs one instance; a listed deviation is marked expected. An unknown id is an error result saying so.
    public func run(_ id: String) -> CaseResult {
        let found = Self.loaded(suite)
        guard let instance = found.instances.first(where: { $0.id == id }) else {
            let problem = found.problem ?? "no case instance '\(id)' in \(suite)"
            return CaseResult.malformed(CaseFileError(SourceLocation(file: suite, line: 0), problem))
        }
        var options = RunOptions(provider: provider)
        options.jobs = 1
        options.captureDirectory = reports
        if let expectationsProblem { return Runner.failed(instance, expectationsProblem, seconds: 0) }
        // A case that names released handles runs alone: a released value may already name another case's socket.
        var results = Self.turns.take(alone: instance.exclusive) { Runner.run([instance], options: options) }
        _ = expectations?.apply(to: &results)
        let result = results[0]
        if let data = try? JSONEncoder().encode(result) {
            try? data.write(to: URL(fileURLWithPath: "\(reports)/\(Runner.fileName(id)).json"))
        }
        return result
    }

    /// What a test should report about a result: nil when it conforms (a pass, a skip for a capability the provider
    /// does not offer, informational, or a deviation the expectations list), else the verdict and its findings.
    public static func problem(in result: CaseResult) -> String? {
        if result.expectedDeviation != nil { return nil }
        switch result.verdict {
        case .pass, .skipped, .informational: return nil
        default:
            return "\(result.id): \(result.verdict.rawValue)\n" + result.messages.map { "  \($0)" }.joined(separator: "\n")
        }
    }

    // MARK: The suite, loaded once

    private struct Loaded: Sendable {
        var instances: [CaseInstance]
        var problem: String?
    }

    nonisolated(unsafe) private static var cache: [String: Loaded] = [:]
    private static let cacheLock = NSLock()

    private static func loaded(_ suite: String) -> Loaded {
        cacheLock.withLock {
            if let known = cache[suite] { return known }
            var result = Loaded(instances: [], problem: nil)
            do {
                let statements = try CaseLoader.loadStatements(path: "\(suite)/statements.yaml")
                let (cases, errors) = CaseLoader.loadDirectory("\(suite)/cases", statements: statements)
                result.instances = cases.flatMap(\.instances)
                if let error = errors.first { result.problem = "\(error)" }
            } catch {
                result.problem = "\(error)"
            }
            cache[suite] = result
            return result
        }
    }

    private static let turns = Turns()
}

/// Cases run side by side, but an exclusive one alone: a readers-writer turn.
private final class Turns: @unchecked Sendable {
    private let condition = NSCondition()
    private var running = 0
    private var aloneRunning = false
    private var aloneWaiting = 0

    func take<T>(alone: Bool, _ body: () -> T) -> T {
        condition.lock()
        if alone {
            aloneWaiting += 1
            while running > 0 || aloneRunning { condition.wait() }
            aloneWaiting -= 1
            aloneRunning = true
        } else {
            while aloneRunning || aloneWaiting > 0 { condition.wait() }
            running += 1
        }
        condition.unlock()
        defer {
            condition.lock()
            if alone { aloneRunning = false } else { running -= 1 }
            condition.broadcast()
            condition.unlock()
        }
        return body()
    }
}
