import ArgumentParser
import Basics
import CShim
import Conformance
import Foundation
import Harness
import ProviderCatalogue
import ProviderInterface
import ProviderPlugin

/// `teardown worker`: runs one case instance (or describes a plugin) in a process of its own and prints the result
/// as JSON. Used by `teardown run` for plugins; not meant to be called by hand.
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one case instance in this process and print its result as JSON (used for plugins).", shouldDisplay: false)

    @Option var provider: String
    @Flag var describe = false

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
        // The job (the instance itself and what it needs of the run's options) comes on standard input.
        let job: WorkerJob
        do {
            job = try JSONDecoder().decode(WorkerJob.self, from: FileHandle.standardInput.readToEnd() ?? Data())
        } catch {
            throw CommandFailure("worker: the job on standard input is not a case instance: \(error)", code: 2)
        }
        let result = Runner.run([job.instance], options: job.options(provider: factory))[0]
        FileHandle.standardOutput.write(try JSONEncoder().encode(result))
        // A call the watchdog gave up on may still be stuck in the provider: returning ends the process without
        // waiting for it.
    }

    /// The provider, loaded in this process: a plugin through its C interface, or a built-in one.
    static func factory(_ spec: String) throws -> ProviderFactory {
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
