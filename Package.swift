// swift-tools-version:6.0
import PackageDescription

/// Settings every Swift target shares: Swift 6 language mode with complete
/// concurrency checking, and warnings treated as errors in CI.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .unsafeFlags(["-warnings-as-errors"]),
]

let package = Package(
    name: "Teardown",
    products: [
        .library(name: "ProviderInterface", targets: ["ProviderInterface"]),
        .library(name: "ReferenceProvider", targets: ["ReferenceProvider"]),
        .library(name: "PosixProvider", targets: ["PosixProvider"]),
        .library(name: "Harness", targets: ["Harness"]),
        .library(name: "WireAnalysis", targets: ["WireAnalysis"]),
        .library(name: "PacketCapture", targets: ["PacketCapture"]),
        .library(name: "ProviderPlugin", targets: ["ProviderPlugin"]),
        .executable(name: "teardown", targets: ["teardown"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // libpcap for live capture and for reading and writing pcap files.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        // What Glibc does not expose to Swift: eventfd, ioctl requests, gettid.
        .target(name: "CShim", cSettings: [.define("_GNU_SOURCE")]),
        .target(name: "ProviderInterface", swiftSettings: strictSettings),
        .target(name: "SocketSystem", dependencies: ["CShim", "ProviderInterface"], swiftSettings: strictSettings),
        .target(name: "ReferenceProvider", dependencies: ["CShim", "ProviderInterface", "SocketSystem"], swiftSettings: strictSettings),
        .target(name: "PosixProvider", dependencies: ["ProviderInterface", "SocketSystem"], swiftSettings: strictSettings),
        .target(
            name: "Harness",
            dependencies: ["ProviderInterface", "SocketSystem", "ReferenceProvider", "PosixProvider", "CShim"],
            swiftSettings: strictSettings
        ),
        // The C interface for providers in other languages (a header), and its loader.
        .target(name: "CTeardownProvider"),
        .target(
            name: "ProviderPlugin", dependencies: ["CTeardownProvider", "CShim", "ProviderInterface"], swiftSettings: strictSettings),
        .target(name: "WireAnalysis", swiftSettings: strictSettings),
        .target(name: "PacketCapture", dependencies: ["CPcap", "CShim", "WireAnalysis"], swiftSettings: strictSettings),
        .target(name: "FaultInjection", dependencies: ["ProviderInterface", "Harness", "CShim"], swiftSettings: strictSettings),
        .target(
            name: "Conformance",
            dependencies: ["Harness", "PacketCapture", "WireAnalysis", "ProviderInterface", "CShim", "FaultInjection", "Yams"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "teardown",
            dependencies: [
                "Conformance", "Harness", "PacketCapture", "WireAnalysis", "ProviderPlugin", "CShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "teardown-bench",
            dependencies: [
                "Conformance", "PacketCapture", "WireAnalysis", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Fuzz targets for the readers of files others write: libFuzzer with `make fuzz` (built with -sanitize=fuzzer and
        // -DFUZZING), or, as built here, a replay of the committed corpus that the tests run.
        .executableTarget(
            name: "teardown-fuzz", dependencies: ["Conformance", "PacketCapture", "WireAnalysis"], swiftSettings: strictSettings),
        .testTarget(name: "ProviderInterfaceTests", dependencies: ["ProviderInterface", "SocketSystem"], swiftSettings: strictSettings),
        .testTarget(name: "HarnessTests", dependencies: ["Harness", "ProviderInterface"], swiftSettings: strictSettings),
        .testTarget(
            name: "StatementTests",
            dependencies: ["Harness", "ProviderInterface", "ReferenceProvider", "SocketSystem"],
            swiftSettings: strictSettings
        ),
        .target(name: "TestSupport", dependencies: ["Harness"], path: "Tests/TestSupport", swiftSettings: strictSettings),
        .testTarget(
            name: "WireAnalysisTests", dependencies: ["WireAnalysis", "PacketCapture", "Harness", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ConformanceTests", dependencies: ["Conformance", "Harness", "PacketCapture", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "DocsTests", dependencies: ["Conformance", "TestSupport", "Yams"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
