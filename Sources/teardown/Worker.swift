import ArgumentParser
import Basics
import CShim
import Conformance
import Foundation
import Harness
import ProviderCatalogue
import ProviderInterface
import ProviderPlugin
import ProviderProcess

/// `teardown worker`: runs one case instance (or describes a plugin) in a process of its own and prints the result
/// as JSON. Used by `teardown run` for plugins; not meant to be called by hand.
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one case instance in this process and print its result as JSON (used for plugins).", shouldDisplay: false)

    @Option var provider: String
    @Flag var describe = false
    /// Runs job after job, one JSON line each on standard input, answering each with one line; ends at end of input.
    @Flag var serve = false

    func run() throws {
        td_install_crash_reporter()
        let factory = try Self.factory(provider)
        if describe {
            let made = factory.make(HandleRegistry())
            let description = PluginDescription(name: made.name, capabilities: made.capabilities.rawValue)
            made.cleanup()
            FileHandle.standardOutput.write(try JSONEncoder().encode(description))
            return
        }
        if serve {
            while let line = readLine(strippingNewline: true) {
                FileHandle.standardError.write(Data(ServingWorker.jobMarker.utf8))
                let result = try Self.run(Data(line.utf8), factory: factory)
                FileHandle.standardOutput.write(try JSONEncoder().encode(result) + Data("\n".utf8))
            }
            return
        }
        // The job (the instance itself and what it needs of the run's options) comes on standard input.
        let result = try Self.run(FileHandle.standardInput.readToEnd() ?? Data(), factory: factory)
        FileHandle.standardOutput.write(try JSONEncoder().encode(result))
        // A call the watchdog gave up on may still be stuck in the provider: returning ends the process without
        // waiting for it.
    }

    /// Runs one job (a `WorkerJob` as JSON), passing each finding on to standard error as it is made.
    static func run(_ text: Data, factory: ProviderFactory) throws -> CaseResult {
        let job: WorkerJob
        do {
            job = try JSONDecoder().decode(WorkerJob.self, from: text)
        } catch {
            throw CommandFailure("worker: the job on standard input is not a case instance: \(error)", code: 2)
        }
        var options = job.options(provider: factory)
        // Each finding goes out as it is made: a provider that then crashes the process cannot take it along.
        options.onFinding = { level, message in
            guard let line = try? JSONEncoder().encode(WorkerFinding(level: level, message: message)) else { return }
            FileHandle.standardError.write(Data(WorkerFinding.prefix.utf8) + line + Data("\n".utf8))
        }
        return Runner.run([job.instance], options: options)[0]
    }

    /// The provider, loaded in this process: a plugin through its C interface, a provider's process started here
    /// (on the main thread, which it is tied to: it dies with this worker), or a built-in one.
    static func factory(_ spec: String) throws -> ProviderFactory {
        if spec.hasPrefix("exec:") { return try processFactory(spec) }
        guard spec.hasPrefix("plugin:") else { return try ProviderChoice.parse(spec).factory }
        let path = String(spec.dropFirst("plugin:".count))
        let library: PluginLibrary
        do {
            library = try PluginLibrary(path: path)
            // Started once here, so that a refusal (a version it does not speak) is told now, not in every case.
            try library.start(upcalls: HandleRegistry()).cleanup()
        } catch {
            throw CommandFailure("\(error)", code: 2)
        }
        return ProviderFactory(name: spec) { registry -> any SocketProvider in
            do {
                return try library.start(upcalls: registry)
            } catch {
                return UnstartedPlugin()
            }
        }
    }
}

extension Worker {
    /// The process serves one case after another while they pass. If it ends while it serves a case, this worker
    /// says how on standard error (`ProviderDeath.prefix`) and exits: the case is the provider's, as with a crash of
    /// a plugin.
    static func processFactory(_ spec: String) throws -> ProviderFactory {
        guard let command = try ProviderChoice.parse(spec).processCommand else {
            throw CommandFailure("not a provider's process: \(spec)", code: 2)
        }
        let host: ProviderProcessHost
        do {
            host = try ProviderProcessHost(command: command) { death in
                let said = ProviderDeath(signal: death.signal, description: death.description)
                if let line = try? JSONEncoder().encode(said) {
                    FileHandle.standardError.write(Data(ProviderDeath.prefix.utf8) + line + Data("\n".utf8))
                }
                // From the thread that saw it: the case cannot go on, and its findings are already out.
                Glibc._exit(ProviderDeath.exitStatus)
            }
        } catch {
            throw CommandFailure("\(error)", code: 2)
        }
        return ProviderFactory(name: spec) { registry in ProcessProvider(host: host, upcalls: registry) }
    }
}

/// How a provider's process ended while it served a case, as a worker tells it before it exits.
struct ProviderDeath: Codable {
    static let prefix = "teardown-worker: provider process ended "
    static let exitStatus: Int32 = 3
    /// The signal that killed the process, if one did.
    var signal: Int32?
    var description: String

    static func find(in errors: Data) -> ProviderDeath? {
        String(decoding: errors, as: UTF8.self).split(separator: "\n").reversed().lazy.compactMap { line -> ProviderDeath? in
            guard line.hasPrefix(prefix) else { return nil }
            return try? JSONDecoder().decode(ProviderDeath.self, from: Data(line.dropFirst(prefix.count).utf8))
        }.first
    }
}

/// A finding a worker passes on as it is made, one line on its standard error.
struct WorkerFinding: Codable {
    static let prefix = "teardown-worker: finding "
    var level: Level
    var message: String

    /// The findings in a worker's standard error, in order.
    static func all(in errors: Data) -> [WorkerFinding] {
        String(decoding: errors, as: UTF8.self).split(separator: "\n").compactMap { line in
            guard line.hasPrefix(prefix) else { return nil }
            return try? JSONDecoder().decode(WorkerFinding.self, from: Data(line.dropFirst(prefix.count).utf8))
        }
    }
}
