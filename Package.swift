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
        .library(name: "ProviderProcess", targets: ["ProviderProcess"]),
        // The suite for a Swift provider of another package, from that package's `swift test`.
        .library(name: "TeardownTestKit", targets: ["TeardownTestKit"]),
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
        // Small utilities below everything: deadlines and the one bounded wait, a seeded generator, watching a
        // thread from outside (/proc), this process's descriptors and executable.
        .target(name: "Basics", dependencies: ["CShim"], swiftSettings: strictSettings),
        .target(name: "ProviderInterface", swiftSettings: strictSettings),
        .target(name: "SocketSystem", dependencies: ["CShim", "ProviderInterface"], swiftSettings: strictSettings),
        .target(name: "ReferenceProvider", dependencies: ["CShim", "ProviderInterface", "SocketSystem"], swiftSettings: strictSettings),
        .target(name: "PosixProvider", dependencies: ["ProviderInterface", "SocketSystem"], swiftSettings: strictSettings),
        // The reference provider with one mistake each, for `teardown power` and the tests: every deliberately wrong provider.
        .target(name: "Mutants", dependencies: ["ProviderInterface", "ReferenceProvider", "SocketSystem"], swiftSettings: strictSettings),
        .target(name: "Harness", dependencies: ["Basics", "ProviderInterface", "SocketSystem", "CShim"], swiftSettings: strictSettings),
        // The providers known by name (built-in ones and mutants), for the command line and the tests.
        .target(
            name: "ProviderCatalogue",
            dependencies: ["Harness", "Mutants", "PosixProvider", "ProviderInterface", "ReferenceProvider"],
            swiftSettings: strictSettings
        ),
        // The C interface for providers in other languages (a header), and its loader.
        .target(name: "CTeardownProvider"),
        .target(
            name: "ProviderPlugin", dependencies: ["CTeardownProvider", "CShim", "ProviderInterface"], swiftSettings: strictSettings),
        .target(name: "ProviderProcess", dependencies: ["Basics", "CShim", "ProviderInterface"], swiftSettings: strictSettings),
        .target(name: "WireAnalysis", swiftSettings: strictSettings),
        .target(
            name: "PacketCapture", dependencies: ["Basics", "CPcap", "CShim", "SocketSystem", "WireAnalysis"], swiftSettings: strictSettings
        ),
        .target(name: "FaultInjection", dependencies: ["Basics", "ProviderInterface", "SocketSystem"], swiftSettings: strictSettings),
        .target(
            name: "Conformance",
            dependencies: [
                "Basics", "Harness", "PacketCapture", "WireAnalysis", "ProviderInterface", "CShim", "FaultInjection", "SocketSystem",
                "Yams",
            ],
            swiftSettings: strictSettings
        ),
        // How a run is shown: console, JSON, JUnit and HTML reports, the text and SVG ladders, the facts of a capture
        // in words, `explain`'s words, the power matrix.
        .target(name: "Reporting", dependencies: ["Conformance", "WireAnalysis"], swiftSettings: strictSettings),
        .target(
            name: "TeardownTestKit", dependencies: ["Conformance", "Harness", "PacketCapture", "ProviderInterface"],
            swiftSettings: strictSettings),
        .executableTarget(
            name: "teardown",
            dependencies: [
                "Basics", "Conformance", "Harness", "PacketCapture", "Reporting", "WireAnalysis", "ProviderPlugin", "ProviderCatalogue",
                "ProviderInterface", "ProviderProcess", "Mutants", "CShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "teardown-bench",
            dependencies: [
                "Basics", "Conformance", "FaultInjection", "Harness", "PacketCapture", "ProviderCatalogue", "ProviderInterface",
                "ProviderProcess", "WireAnalysis", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Fuzz targets for the readers of files others write: libFuzzer with `make fuzz` (built with -sanitize=fuzzer and
        // -DFUZZING), or, as built here, a replay of the committed corpus that the tests run.
        .executableTarget(
            name: "teardown-fuzz", dependencies: ["Conformance", "PacketCapture", "Reporting", "WireAnalysis"],
            swiftSettings: strictSettings),
        .testTarget(name: "ProviderInterfaceTests", dependencies: ["ProviderInterface", "SocketSystem"], swiftSettings: strictSettings),
        .testTarget(name: "HarnessTests", dependencies: ["Basics", "Harness", "ProviderInterface"], swiftSettings: strictSettings),
        .target(
            name: "TestSupport", dependencies: ["Basics", "Conformance", "Harness", "PacketCapture"], path: "Tests/TestSupport",
            swiftSettings: strictSettings),
        .testTarget(
            name: "ProviderCatalogueTests", dependencies: ["Conformance", "Harness", "Mutants", "ProviderCatalogue", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(name: "ProviderPluginTests", dependencies: ["Conformance", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "ProviderProcessTests", dependencies: ["Conformance", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "TestKitTests", dependencies: ["Conformance", "Mutants", "ReferenceProvider", "TeardownTestKit", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ReportingTests", dependencies: ["Conformance", "PacketCapture", "Reporting", "TestSupport", "WireAnalysis"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FaultInjectionTests", dependencies: ["Conformance", "FaultInjection", "Harness", "ProviderCatalogue", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "WireAnalysisTests",
            dependencies: ["Basics", "WireAnalysis", "PacketCapture", "Harness", "ProviderInterface", "Reporting", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ConformanceTests",
            dependencies: [
                "Conformance", "Harness", "Mutants", "PacketCapture", "ProviderCatalogue", "ProviderInterface", "Reporting", "TestSupport",
                "WireAnalysis",
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "DocsTests", dependencies: ["Conformance", "TestSupport", "Yams"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
