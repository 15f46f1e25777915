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
    ],
    targets: [
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
        .testTarget(name: "ProviderInterfaceTests", dependencies: ["ProviderInterface", "SocketSystem"], swiftSettings: strictSettings),
        .testTarget(name: "HarnessTests", dependencies: ["Harness", "ProviderInterface"], swiftSettings: strictSettings),
        .testTarget(
            name: "StatementTests",
            dependencies: ["Harness", "ProviderInterface", "SocketSystem"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
