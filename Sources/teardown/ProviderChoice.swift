import ArgumentParser
import Basics
import CShim
import Conformance
import Foundation
import Harness
import ProviderCatalogue
import ProviderInterface
import ProviderPlugin

/// The provider a command line names, and how its cases run: a built-in provider or a mutant in this
/// process; a plugin (`plugin:PATH`) or a provider's process (`exec:COMMAND`) in worker processes, so that a
/// provider that crashes or hangs costs one case, not the run.
struct ProviderChoice {
    let spec: String
    let factory: ProviderFactory
    /// For a plugin: the library's path; its cases run in worker processes.
    let pluginPath: String?
    /// For a provider in a process of its own: the command that starts it; its cases run in worker processes.
    var processCommand: String? = nil

    /// Whether the provider is described by a worker and its cases run in workers.
    var isExternal: Bool { pluginPath != nil || processCommand != nil }

    static func parse(_ text: String) throws -> ProviderChoice {
        if text.hasPrefix("exec:") {
            let command = String(text.dropFirst("exec:".count)).trimmingCharacters(in: .whitespaces)
            guard !command.isEmpty else {
                throw ValidationError(
                    "exec: needs the command that starts the provider's process, as exec:'java -cp Examples/java-provider/build JavaProvider'"
                )
            }
            return ProviderChoice(
                spec: text, factory: ProviderFactory(name: text) { _ in UnstartedPlugin() }, pluginPath: nil, processCommand: command)
        }
        guard text.hasPrefix("plugin:") else {
            do {
                return ProviderChoice(spec: text, factory: try ProviderFactory.named(text), pluginPath: nil)
            } catch {
                throw ValidationError(error.description)
            }
        }
        let path = String(text.dropFirst("plugin:".count))
        guard !path.isEmpty else {
            throw ValidationError("plugin: needs the path of the provider's shared library, as plugin:./libexample.so")
        }
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path): no such file (for --provider \(text))") }
        return ProviderChoice(spec: text, factory: ProviderFactory(name: text) { _ in UnstartedPlugin() }, pluginPath: path)
    }

    /// Sets up where the cases run: a plugin (or any provider with `isolate`) in a worker process per case.
    /// A plugin is described by a worker (loaded there, never here); throws (exit 2) with the worker's words when it
    /// cannot be used.
    /// - Returns: the name a plugin reports for itself (`td_provider.name`), nil for the others.
    @discardableResult
    func prepare(_ options: inout RunOptions, isolate: Bool = false) throws -> String? {
        options.provider = factory
        guard isExternal || isolate else { return nil }
        var reportedName: String?
        if isExternal {
            let description = try WorkerProcess.describe(provider: spec)
            reportedName = description.name
            options.provider = ProviderFactory(
                name: spec, capabilities: ProviderCapabilities(rawValue: description.capabilities)
            ) { _ in UnstartedPlugin() }
        }
        let limit = options.caseLimit + options.watchdog + .seconds(20)
        let runOptions = options
        let pool = WorkerPool(provider: spec, limit: limit)
        options.isolation = { instance, directory in
            pool.run(WorkerJob(instance, options: runOptions, captureDirectory: directory))
        }
        return reportedName
    }

    /// The names an expectations file may give this provider: the --provider text as given; for a plugin
    /// also its path (as given, or any path to the same file), the library's file name (`libexample.so`), and
    /// the name the provider reports for itself.
    func accepts(_ name: String, reportedName: String?) -> Bool {
        if name == spec { return true }
        if processCommand != nil { return name == reportedName }
        guard let pluginPath else { return false }
        let named = name.hasPrefix("plugin:") ? String(name.dropFirst("plugin:".count)) : name
        if named == pluginPath || named == reportedName || named == URL(fileURLWithPath: pluginPath).lastPathComponent { return true }
        return URL(fileURLWithPath: named).standardizedFileURL.resolvingSymlinksInPath()
            == URL(fileURLWithPath: pluginPath).standardizedFileURL.resolvingSymlinksInPath()
    }

    /// - Throws: `CommandFailure` (64) when the expectations file is another provider's, with the names it could give.
    func check(_ expectations: Expectations, from path: String, reportedName: String?) throws(CommandFailure) {
        guard !accepts(expectations.provider, reportedName: reportedName) else { return }
        var names = ["'\(spec)'"]
        if processCommand != nil, let reportedName { names.append("'\(reportedName)' (the name it reports)") }
        if let pluginPath {
            names += ["'\(URL(fileURLWithPath: pluginPath).lastPathComponent)'"]
            if let reportedName { names.append("'\(reportedName)' (the name it reports)") }
        }
        throw CommandFailure(
            "\(path) lists the deviations of '\(expectations.provider)', not of \(spec); its provider: may be "
                + names.joined(separator: ", or "))
    }
}

/// Stands for a plugin in the process that only orchestrates: its cases run in workers, so it is never called.
final class UnstartedPlugin: SocketProvider, @unchecked Sendable {
    let name = "plugin"
    let capabilities: ProviderCapabilities = []
    func socket(_ family: SocketAddress.Family) throws(SocketError) -> SocketHandle { throw .systemCallFailure }
    func bind(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) { throw .systemCallFailure }
    func listen(_ handle: SocketHandle, backlog: Int) throws(SocketError) { throw .systemCallFailure }
    func accept(_ handle: SocketHandle) throws(SocketError) -> (SocketHandle, SocketAddress) { throw .systemCallFailure }
    func connect(_ handle: SocketHandle, to address: SocketAddress) throws(SocketError) { throw .systemCallFailure }
    func send(_ handle: SocketHandle, _ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int { throw .systemCallFailure }
    func receive(_ handle: SocketHandle, into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        throw .systemCallFailure
    }
    func shutdown(_ handle: SocketHandle, _ direction: ShutdownDirection) throws(SocketError) { throw .systemCallFailure }
    func close(_ handle: SocketHandle) throws(SocketError) { throw .systemCallFailure }
    func option(_ handle: SocketHandle, _ option: SocketOption) throws(SocketError) -> SocketOptionValue { throw .systemCallFailure }
    func setOption(_ handle: SocketHandle, _ option: SocketOption, to value: SocketOptionValue) throws(SocketError) {
        throw .systemCallFailure
    }
    func setBlocking(_ handle: SocketHandle, _ blocking: Bool) throws(SocketError) { throw .systemCallFailure }
    func localAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress { throw .systemCallFailure }
    func remoteAddress(_ handle: SocketHandle) throws(SocketError) -> SocketAddress { throw .systemCallFailure }
    func cleanup() {}
}

/// What a worker says about a plugin.
struct PluginDescription: Codable {
    var name: String
    var capabilities: UInt32
}

/// Runs one case in a worker process (`teardown worker`) and turns what became of it into a result.
enum WorkerProcess {
    static var executable: String { CurrentProcess.executablePath() }

    static func describe(provider spec: String) throws -> PluginDescription {
        let outcome = launch(["worker", "--describe", "--provider", spec], limit: .seconds(90))
        guard outcome.signal == nil, outcome.status == 0,
            let description = try? JSONDecoder().decode(PluginDescription.self, from: outcome.output)
        else {
            let said = outcome.errorText
            let why =
                outcome.signal.map { "it crashed with \(signalName($0)) \(crashPlace(outcome.errors))" }
                ?? (said.hasPrefix("teardown: ") ? String(said.dropFirst("teardown: ".count)) : said)
            let what =
                spec.hasPrefix("plugin:") ? "the plugin \(spec.dropFirst("plugin:".count))" : "the provider \(spec)"
            throw CommandFailure("cannot use \(what): \(why)", code: 2)
        }
        return description
    }

    /// A provider that crashed the worker has failed the case at its level: the findings made before the crash
    /// are kept, and the crash names the call it happened in. A crash outside the provider's calls (in a thread
    /// of its own) is the provider's too; a worker killed from outside is not a crash (SIGKILL stays an error).
    static func crashed(_ instance: CaseInstance, signal: Int32, errors: Data, seconds: Double) -> CaseResult {
        crashed(
            instance, crash: "provider crashed: \(signalName(signal))\(crashPlace(errors))", killed: signal == SIGKILL, errors: errors,
            seconds: seconds)
    }

    /// A provider's process that ended while it served the case has failed it as a crashed plugin does, findings
    /// kept; one killed with SIGKILL (from outside: the machine ran out of memory, someone killed it) is an error.
    static func providerDied(_ instance: CaseInstance, _ death: ProviderDeath, errors: Data, seconds: Double) -> CaseResult {
        crashed(instance, crash: death.description, killed: death.signal == SIGKILL, errors: errors, seconds: seconds)
    }

    /// A crash, in `crash`'s words: a fail keeping the findings the worker passed on before it, or an error when the
    /// process was killed from outside.
    private static func crashed(_ instance: CaseInstance, crash: String, killed: Bool, errors: Data, seconds: Double) -> CaseResult {
        guard !killed else { return Runner.failed(instance, crash, seconds: seconds) }
        let findings = WorkerFinding.all(in: errors).map { (level: $0.level, message: $0.message) }
        return Runner.crashed(instance, findings: findings, crash: crash, seconds: seconds)
    }

    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGSEGV: "SIGSEGV", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGFPE: "SIGFPE", SIGABRT: "SIGABRT", SIGKILL: "SIGKILL",
        ]
        return "signal \(signal)" + (names[signal].map { " (\($0))" } ?? "")
    }

    /// " in close", from the worker's crash report; " outside the harness's calls" when the crashing thread was
    /// in none (a thread of the provider's own).
    static func crashPlace(_ errors: Data) -> String {
        let text = String(decoding: errors, as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("teardown-worker: signal") }) else { return "" }
        guard let range = line.range(of: " in ") else { return " outside the harness's calls (in a thread of the provider's own)" }
        return " in " + line[range.upperBound...]
    }

    /// Starts `teardown` with `arguments` and waits for it, at most `limit`.
    static func launch(_ arguments: [String], input: Data? = nil, limit: Duration) -> ChildProcess.Outcome {
        ChildProcess.run(executable, arguments, input: input, within: limit)
    }
}
