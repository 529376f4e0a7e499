#!/usr/bin/env bash
# Builds libtokenkeeper_uniffi and generates the package's sources from it:
# Sources/TokenKeeper/TokenKeeper.swift and Sources/TokenKeeperFFI/TokenKeeperFFI.h.
#   bindings/swift/generate.sh [--debug]      prints the directory of the library last
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=release flags=(--release)
[ "${1:-}" = --debug ] && profile=debug flags=()
source bindings/tests/common.sh
cargo build --quiet "${flags[@]}" -p tokenkeeper-uniffi
# From the debug library: the release one is stripped of the metadata symbols uniffi-bindgen
# reads (the checksums the bindings check are exported functions, the same in both).
cargo build --quiet -p tokenkeeper-uniffi
lib=$TARGET/$profile/$(dylib tokenkeeper_uniffi)
out=$TARGET/uniffi/swift-package
rm -rf "$out"
"$TARGET/debug/uniffi-bindgen" generate --no-format --library "$LIB" \
  --language swift --out-dir "$out"
mkdir -p bindings/swift/Sources/TokenKeeper bindings/swift/Sources/TokenKeeperFFI
cp "$out/TokenKeeper.swift" bindings/swift/Sources/TokenKeeper/
cp "$out/TokenKeeperFFI.h" bindings/swift/Sources/TokenKeeperFFI/
dirname "$lib"
