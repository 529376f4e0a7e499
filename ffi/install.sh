#!/usr/bin/env bash
# Builds libtokenkeeper and installs it with its header and pkg-config file:
#   ffi/install.sh PREFIX [--debug]
# gives PREFIX/lib/libtokenkeeper.{so,a}, PREFIX/include/tokenkeeper.h and
# PREFIX/lib/pkgconfig/tokenkeeper.pc (then: PKG_CONFIG_PATH=PREFIX/lib/pkgconfig).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PREFIX [--debug]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
prefix=$(mkdir -p "$1" && cd "$1" && pwd)
profile=release flag=--release
if [ "${2:-}" = "--debug" ]; then profile=debug flag=; fi
(cd "$root" && cargo build $flag -p tokenkeeper-ffi)
target=${CARGO_TARGET_DIR:-$root/target}
install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0755 "$target/$profile/libtokenkeeper.so" "$prefix/lib/"
install -m 0644 "$target/$profile/libtokenkeeper.a" "$prefix/lib/"
install -m 0644 "$here/include/tokenkeeper.h" "$prefix/include/"
"$here/gen-pc.sh" "$prefix/lib/pkgconfig/tokenkeeper.pc" "$prefix" '${prefix}/lib' '${prefix}/include'
echo "installed libtokenkeeper ($profile) into $prefix"
