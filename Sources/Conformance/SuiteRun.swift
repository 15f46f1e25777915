import Foundation
import Harness

/// Which instances a run takes: those whose id or case id matches a `cases` glob (all when there is none),
/// minus those an `exclude` glob matches, in id order; then one shard of them.
public struct Selection: Sendable {
    public var cases: [String] = []
    public var exclude: [String] = []
    /// Shard I of N (1-based): every Nth instance from the Ith, so that shards split evenly and deterministically.
    public var shard: (index: Int, count: Int)?

    public init(cases: [String] = [], exclude: [String] = [], shard: (index: Int, count: Int)? = nil) {
        self.cases = cases
        self.exclude = exclude
        self.shard = shard
    }

    /// The selected instances before sharding, in id order.
    public func matching(_ instances: [CaseInstance]) -> [CaseInstance] {
        instances.filter { instance in
            (cases.isEmpty || cases.contains { glob($0, instance.id) || glob($0, instance.caseID) })
                && !exclude.contains { glob($0, instance.id) || glob($0, instance.caseID) }
        }.sorted { $0.id < $1.id }
    }

    /// This shard of the instances `matching` selected, in their order.
    public func shard(of matched: [CaseInstance]) -> [CaseInstance] {
        guard let shard else { return matched }
        return matched.enumerated().filter { $0.offset % shard.count == shard.index - 1 }.map(\.element)
    }
}

/// Shell-style matching of an id against a glob (`pend.*`, `linger.graceful[role=client*`); an exact id,
/// brackets and all, always matches itself.
public func glob(_ pattern: String, _ text: String) -> Bool { pattern == text || fnmatch(pattern, text, 0) == 0 }

/// One run of the suite against one provider, from the selected instances to its report: every round (a
/// round per repetition, each into a directory of its own), the instances whose verdict differed between
/// rounds, the malformed cases as errors, and the known deviations of an expectations file applied.
public struct SuiteRun {
    public var instances: [CaseInstance]
    public var options: RunOptions
    /// The name the report gives the provider (as the command line named it).
    public var provider: String
    /// Where the pcaps go; each round in a numbered directory of its own when there are several.
    public var directory: String
    public var repetitions = 1
    /// The case files that could not be read: each an `error` in the report.
    public var malformed: [CaseFileError] = []
    public var expectations: Expectations?
    /// The shard as the command line gave it, for the report.
    public var shardText: String?

    public init(instances: [CaseInstance], options: RunOptions, provider: String, directory: String) {
        self.instances = instances
        self.options = options
        self.provider = provider
        self.directory = directory
    }

    /// Runs every round; `progress` is called as each instance finishes, `roundDone` after each round with its results.
    public func run(
        progress: @escaping @Sendable (CaseResult) -> Void = { _ in },
        roundDone: (_ number: Int, _ results: [CaseResult]) -> Void = { _, _ in }
    ) -> RunReport {
        let started = Date()
        var options = self.options
        var rounds: [[CaseResult]] = []
        for round in 0..<repetitions {
            options.captureDirectory = repetitions == 1 ? directory : "\(directory)/\(round + 1)"
            if repetitions > 1 {
                try? FileManager.default.createDirectory(atPath: options.captureDirectory!, withIntermediateDirectories: true)
            }
            rounds.append(Runner.run(instances, options: options) { _, result in progress(result) })
            roundDone(round + 1, rounds[round])
        }
        var results = rounds.last ?? []
        results += malformed.map(CaseResult.malformed)
        // An instance is unstable when its verdict differs between rounds (or it is missing from one).
        let verdicts = rounds.map { round in Dictionary(round.map { ($0.id, $0.verdict) }, uniquingKeysWith: { first, _ in first }) }
        let unstable = instances.map(\.id).filter { id in Set(verdicts.map { $0[id]?.rawValue ?? "missing" }).count > 1 }
        let deviations = expectations?.apply(to: &results) ?? []
        return RunReport(
            provider: provider, seed: options.seed, started: ISO8601DateFormatter().string(from: started),
            seconds: Date().timeIntervalSince(started), repeatCount: repetitions, shard: shardText, captureDirectory: directory,
            results: results, deviations: deviations, unstable: unstable)
    }
}
