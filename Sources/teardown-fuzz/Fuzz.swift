import Conformance
import Foundation
import PacketCapture
import Reporting
import WireAnalysis

/// What one fuzz input is fed to: the readers of files other people and tools write.
enum FuzzTarget: String, CaseIterable {
    /// A capture file: libpcap's reader, the analyzer, the text and JSON reports and the ladder.
    case capture
    /// A case file: the YAML reader, the matrix, the scenario parser, the load-time validation, explain.
    case scenario
    /// A fault plan file.
    case faults
    /// An expectations file.
    case expectations

    /// The statements the scenario target checks ids against, read once.
    nonisolated(unsafe) static var statements: [Statement] = {
        let suite = ProcessInfo.processInfo.environment["TEARDOWN_SUITE"] ?? "conformance"
        return (try? CaseLoader.loadStatements(path: "\(suite)/statements.yaml")) ?? []
    }()

    /// Where an input is written for the readers that take a path; one file a process, rewritten for each input.
    static let scratch = "/dev/shm/teardown-fuzz-\(getpid())"

    /// Feeds `bytes` to the target. Any error it throws is an answer; only a trap, a hang or a leak is a finding.
    func run(_ bytes: Data) {
        switch self {
        case .capture:
            guard (try? bytes.write(to: URL(fileURLWithPath: Self.scratch))) != nil,
                let (facts, drawn) = try? CaptureFile.analyze(path: Self.scratch, drawing: WireLadder(sides: .clientLeft, limit: 50))
            else { return }
            _ = TextReport.render(facts, file: "input")
            _ = try? JSONEncoder().encode(facts)
            if let events = drawn?.finished {
                _ = TextLadder.render(Ladder(left: "client", right: "server", events: events.events, omitted: events.omitted))
            }
        case .scenario:
            let text = String(decoding: bytes, as: UTF8.self)
            guard let loaded = try? CaseLoader.parse(text, file: "input.yaml", statements: Self.statements) else { return }
            for instance in loaded.instances.prefix(50) { _ = Explainer.explain(instance, statements: Self.statements) }
        case .faults:
            guard (try? bytes.write(to: URL(fileURLWithPath: Self.scratch))) != nil else { return }
            _ = try? FaultPlanLoader.load(path: Self.scratch)
        case .expectations:
            guard (try? bytes.write(to: URL(fileURLWithPath: Self.scratch))) != nil,
                let expectations = try? Expectations.load(path: Self.scratch)
            else { return }
            _ = expectations.unmatched(by: ["pend.receive[close=0]", "linger.abortive"])
        }
    }
}

#if FUZZING
    /// libFuzzer's entry: the target comes from TEARDOWN_FUZZ_TARGET (libFuzzer owns the command line).
    let fuzzTarget: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["TEARDOWN_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(
                Data("teardown-fuzz: set TEARDOWN_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
            exit(64)
        }
        return target
    }()

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        fuzzTarget.run(data.map { Data(bytes: $0, count: size) } ?? Data())
        return 0
    }

    /// libFuzzer's driver, called from the entry point SwiftPM gives an executable (it names main after the module).
    @_silgen_name("LLVMFuzzerRunDriver")
    func runDriver(
        _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    @_cdecl("teardown_fuzz_main")
    public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var count = argc
        var arguments = argv
        return runDriver(&count, &arguments, fuzzOne)
    }
#else
    /// Without the fuzzer: `teardown-fuzz TARGET FILE_OR_DIRECTORY...` feeds each file once to the target, as the
    /// regression test does with the seed corpus and every input a fuzzer ever found crashing.
    @main
    enum Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
                FileHandle.standardError.write(
                    Data("usage: teardown-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE_OR_DIRECTORY...\n".utf8))
                exit(64)
            }
            var count = 0
            for path in arguments.dropFirst() {
                var files = [path]
                if let names = try? FileManager.default.contentsOfDirectory(atPath: path) { files = names.sorted().map { "\(path)/\($0)" } }
                for file in files {
                    guard let bytes = FileManager.default.contents(atPath: file) else { continue }
                    target.run(bytes)
                    count += 1
                }
            }
            try? FileManager.default.removeItem(atPath: FuzzTarget.scratch)
            print("teardown-fuzz: \(target.rawValue): \(count) inputs, no crash")
        }
    }
#endif
