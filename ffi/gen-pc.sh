#!/usr/bin/env bash
# Writes a pkg-config file for libtokenkeeper from ffi/tokenkeeper.pc.in:
#   ffi/gen-pc.sh OUT_FILE PREFIX LIBDIR INCLUDEDIR
# ffi/install.sh uses it for an installed prefix; ffi/test.sh for the build tree (libdir
# target/debug, includedir ffi/include).
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 OUT_FILE PREFIX LIBDIR INCLUDEDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
out=$1 prefix=$2 libdir=$3 includedir=$4
version=$(cd "$here" && cargo pkgid -p tokenkeeper-ffi | sed 's/.*[@#]//')
mkdir -p "$(dirname "$out")"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$libdir|" -e "s|@INCLUDEDIR@|$includedir|" \
  -e "s|@VERSION@|$version|" "$here/tokenkeeper.pc.in" >"$out"
