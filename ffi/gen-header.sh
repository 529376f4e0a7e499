#!/usr/bin/env bash
# Generates the C header with the pinned cbindgen (installed from crates.io if missing or of
# another version). `ffi/gen-header.sh` rewrites ffi/include/tokenkeeper.h; `ffi/gen-header.sh
# FILE` writes FILE instead (ffi/test.sh diffs that against the committed header).
set -euo pipefail
CBINDGEN_VERSION=0.29.4
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/include/tokenkeeper.h}
if [ "$(cbindgen --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]; then
  cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --quiet >&2
fi
mkdir -p "$(dirname "$out")"
# Warnings about skipped private items are expected; anything fatal fails the script.
cbindgen --quiet --config "$here/cbindgen.toml" --crate tokenkeeper-ffi --output "$out" "$here"
