import CShim
@preconcurrency import CTeardownProvider
import Foundation
public import ProviderInterface

/// Why a provider plugin cannot be used.
public struct PluginError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A provider plugin: a shared library, written in any language, that exports `td_provider_startup`
/// (see `teardown_provider.h`). Loaded with `dlopen`; each `start` makes a new provider instance.
public final class PluginLibrary: @unchecked Sendable {
    public let path: String
    private let library: UnsafeMutableRawPointer
    private let startup: td_provider_startup_fn

    /// The interface version this Teardown speaks.
    public static let interfaceVersion = UInt32(TD_PROVIDER_ABI_VERSION)

    /// Loads the library at `path` and finds its startup function.
    /// - Throws: `PluginError` saying what is wrong: no such file, not a shared library, no `td_provider_startup`.
    public init(path: String) throws(PluginError) {
        guard FileManager.default.fileExists(atPath: path) else { throw PluginError("\(path): no such file") }
        // A path without a slash would be looked up in the library path instead of the file named.
        let resolved = path.contains("/") ? path : "./\(path)"
        guard let library = dlopen(resolved, RTLD_NOW | RTLD_LOCAL) else {
            throw PluginError("\(path) cannot be loaded: \(String(cString: dlerror()))")
        }
        guard let symbol = dlsym(library, TD_PROVIDER_STARTUP_SYMBOL) else {
            dlclose(library)
            throw PluginError("\(path) does not export \(TD_PROVIDER_STARTUP_SYMBOL) (see teardown_provider.h)")
        }
        self.path = path
        self.library = library
        startup = unsafeBitCast(symbol, to: td_provider_startup_fn.self)
    }

    /// Starts a new provider instance whose upcalls go to `upcalls`.
    /// - Throws: `PluginError` when startup fails or the provider speaks another interface version.
    public func start(upcalls: any ProviderUpcalls) throws(PluginError) -> PluginProvider {
        let harness = UpcallBridge(upcalls)
        let table = UnsafeMutablePointer<td_upcalls>.allocate(capacity: 1)
        table.initialize(to: UpcallBridge.table(for: harness))
        var provider = td_provider()
        td_set_current_call("startup")
        let status = startup(Self.interfaceVersion, table, &provider)
        td_set_current_call(nil)
        func fail(_ message: String) -> PluginError {
            table.deallocate()
            Unmanaged.passUnretained(harness).release()
            return PluginError("\(path): \(message)")
        }
        if status == TD_VERNOTSUPPORTED {
            throw fail("the provider does not speak provider interface version \(Self.interfaceVersion)")
        }
        guard status == TD_OK else { throw fail("td_provider_startup failed with \(SocketError(rawValue: status).name)") }
        guard provider.abi_version == Self.interfaceVersion else {
            throw fail(
                "the provider speaks provider interface version \(provider.abi_version); this Teardown speaks \(Self.interfaceVersion)")
        }
        guard provider.size >= UInt32(MemoryLayout<td_provider>.size) else {
            throw fail("the provider's table is \(provider.size) bytes, not the \(MemoryLayout<td_provider>.size) of version 1")
        }
        return PluginProvider(provider, bridge: harness, upcallTable: table)
    }
}

/// The harness's side of the upcalls: the C table's functions find the registry through `harness`.
final class UpcallBridge: @unchecked Sendable {
    let upcalls: any ProviderUpcalls
    private let lock = NSLock()
    /// What each started operation is, to turn its completion into a result; kept after completion,
    /// so that a second completion still reaches the registry, which records it.
    private var kinds: [UInt64: PluginProvider.OperationKind] = [:]

    init(_ upcalls: any ProviderUpcalls) { self.upcalls = upcalls }

    func started(_ operation: OperationID, _ kind: PluginProvider.OperationKind) {
        lock.lock()
        kinds[operation.rawValue] = kind
        lock.unlock()
    }

    func kind(of operation: UInt64) -> PluginProvider.OperationKind? {
        lock.lock()
        defer { lock.unlock() }
        return kinds[operation]
    }

    static func from(_ harness: UnsafeMutableRawPointer?) -> UpcallBridge {
        Unmanaged<UpcallBridge>.fromOpaque(harness!).takeUnretainedValue()
    }

    /// The table handed to the provider; it holds one reference to `bridge`, given back at cleanup.
    static func table(for bridge: UpcallBridge) -> td_upcalls {
        var table = td_upcalls()
        table.abi_version = PluginLibrary.interfaceVersion
        table.size = UInt32(MemoryLayout<td_upcalls>.size)
        table.harness = Unmanaged.passRetained(bridge).toOpaque()
        table.create_handle = { harness, context, handle in
            let result = Result { () throws(SocketError) in try UpcallBridge.from(harness).upcalls.createHandle(context: context) }
            switch result {
            case .success(let created):
                handle?.pointee = created.rawValue
                return TD_OK
            case .failure(let error): return error.rawValue
            }
        }
        table.release_handle = { harness, handle in
            let result = Result { () throws(SocketError) in
                try UpcallBridge.from(harness).upcalls.releaseHandle(SocketHandle(rawValue: handle))
            }
            if case .failure(let error) = result { return error.rawValue }
            return TD_OK
        }
        table.query_context = { harness, handle, context in
            let result = Result { () throws(SocketError) in
                try UpcallBridge.from(harness).upcalls.queryContext(of: SocketHandle(rawValue: handle))
            }
            switch result {
            case .success(let value):
                context?.pointee = value
                return TD_OK
            case .failure(let error): return error.rawValue
            }
        }
        table.complete_operation = { harness, operation, completion in
            let bridge = UpcallBridge.from(harness)
            guard let completion = completion?.pointee else { return }
            let result: OperationResult
            if completion.status != TD_OK {
                result = .failed(SocketError(rawValue: completion.status))
            } else {
                switch bridge.kind(of: operation) {
                case .send?: result = .sent(Int(completion.bytes))
                case .accept?:
                    result = .accepted(
                        SocketHandle(rawValue: completion.accepted),
                        PluginProvider.address(completion.address) ?? .loopback(.ipv4))
                case .receive?, nil:
                    let bytes =
                        completion.length == 0 || completion.data == nil
                        ? [] : Array(UnsafeRawBufferPointer(start: completion.data, count: completion.length))
                    result = .received(bytes)
                }
            }
            bridge.upcalls.completeOperation(OperationID(rawValue: operation), with: result)
        }
        return table
    }
}
