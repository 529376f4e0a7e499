#!/usr/bin/env bash
# Apple platforms (macOS only: xcodebuild): DIST/swift/TokenKeeperFFI.xcframework.zip, the
# native part of the Swift package for iOS devices, the iOS simulator and macOS, as a binary
# target. The Swift sources are the ones bindings/swift/generate.sh makes (the same for every
# platform). Run by the release workflow's macOS job; it has NOT run here (no macOS machine).
#
#   scripts/package-apple.sh       (DIST defaults to dist/)
# In Package.swift, a user replaces the systemLibrary target by
#   .binaryTarget(name: "TokenKeeperFFI", path: "TokenKeeperFFI.xcframework")
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)" = Darwin ] || { echo "package-apple: needs macOS (xcodebuild)" >&2; exit 1; }
dist=$(mkdir -p "${DIST:-dist}/swift" && cd "${DIST:-dist}/swift" && pwd)
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}" >/dev/null
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
for t in "${targets[@]}"; do
  # A static library for each: iOS apps cannot load a loose dylib. `cargo rustc --crate-type`
  # keeps the crate's own crate types (cdylib + lib) for every other build.
  cargo rustc --quiet --release --target "$t" -p tokenkeeper-uniffi --lib --crate-type staticlib
done
# The headers of the framework: the generated C header and a module map naming the module
# the generated Swift imports (TokenKeeperFFI), without the Linux `link` line (static here).
bindings/swift/generate.sh >/dev/null
work=$target_dir/package-apple
rm -rf "$work" && mkdir -p "$work/headers" "$work/ios-sim" "$work/macos"
cp bindings/swift/Sources/TokenKeeperFFI/TokenKeeperFFI.h "$work/headers/"
cat >"$work/headers/module.modulemap" <<'MAP'
module TokenKeeperFFI {
    header "TokenKeeperFFI.h"
    export *
}
MAP
lib=libtokenkeeper_uniffi.a
lipo -create "$target_dir/aarch64-apple-ios-sim/release/$lib" "$target_dir/x86_64-apple-ios/release/$lib" \
  -output "$work/ios-sim/$lib"
lipo -create "$target_dir/aarch64-apple-darwin/release/$lib" "$target_dir/x86_64-apple-darwin/release/$lib" \
  -output "$work/macos/$lib"
rm -rf "$work/TokenKeeperFFI.xcframework"
xcodebuild -create-xcframework \
  -library "$target_dir/aarch64-apple-ios/release/$lib" -headers "$work/headers" \
  -library "$work/ios-sim/$lib" -headers "$work/headers" \
  -library "$work/macos/$lib" -headers "$work/headers" \
  -output "$work/TokenKeeperFFI.xcframework"
(cd "$work" && ditto -c -k --keepParent TokenKeeperFFI.xcframework "$dist/TokenKeeperFFI.xcframework.zip")
(cd bindings/swift && swift package compute-checksum "$dist/TokenKeeperFFI.xcframework.zip" )>"$dist/TokenKeeperFFI.xcframework.zip.sha256"
ls -l "$dist/TokenKeeperFFI.xcframework.zip" | awk '{print $5, $9}'
