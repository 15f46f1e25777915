// swift-tools-version: 6.0
// A provider of its own, in a package of its own, checked by Teardown's suite from its own `swift test`.
import PackageDescription

// Teardown by path here (the checkout this example sits in, or $TEARDOWN when the example is copied elsewhere);
// in a real package, by its URL and version: .package(url: "https://.../teardown.git", from: "1.0.0").
let teardown = Context.environment["TEARDOWN"] ?? "../.."

let package = Package(
    name: "CountingProvider",
    dependencies: [.package(name: "Teardown", path: teardown)],
    targets: [
        .target(
            name: "CountingProvider",
            dependencies: [
                .product(name: "ProviderInterface", package: "Teardown"), .product(name: "ReferenceProvider", package: "Teardown"),
            ]),
        .testTarget(
            name: "CountingProviderTests",
            dependencies: ["CountingProvider", .product(name: "TeardownTestKit", package: "Teardown")]),
    ]
)
