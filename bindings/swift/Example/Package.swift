// swift-tools-version:5.9
// An app that uses the TokenKeeper package by path, as a user's package would.
import PackageDescription

let package = Package(
    name: "Example",
    dependencies: [
        .package(name: "TokenKeeper", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "Example",
            dependencies: [.product(name: "TokenKeeper", package: "TokenKeeper")]
        ),
    ]
)
