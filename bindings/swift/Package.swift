// swift-tools-version:5.9
// The Swift package of tokenkeeper: the uniffi-generated `TokenKeeper` module over the native
// library `libtokenkeeper_uniffi`. The generated sources are made from the built library by
// `bindings/swift/generate.sh` (never committed: they must match the library byte for byte);
// link with `swift build -Xlinker -L<dir of libtokenkeeper_uniffi>` (the example and
// bindings/test-swift.sh show it).
import PackageDescription

let package = Package(
    name: "TokenKeeper",
    products: [
        .library(name: "TokenKeeper", targets: ["TokenKeeper"]),
    ],
    targets: [
        // The C side of the bindings: the generated header, and `link "tokenkeeper_uniffi"`.
        .systemLibrary(name: "TokenKeeperFFI", path: "Sources/TokenKeeperFFI"),
        .target(name: "TokenKeeper", dependencies: ["TokenKeeperFFI"], path: "Sources/TokenKeeper"),
    ]
)
