#!/usr/bin/env bash
# Builds libtokenkeeper and installs it with its header, pkg-config file and CMake package:
#   ffi/install.sh PREFIX [--debug]
# gives, under PREFIX:
#   lib/libtokenkeeper.so.X.Y.Z, lib/libtokenkeeper.so.X (the SONAME), lib/libtokenkeeper.so,
#   lib/libtokenkeeper.a, include/tokenkeeper.h, lib/pkgconfig/tokenkeeper.pc and
#   lib/cmake/tokenkeeper/ (find_package(tokenkeeper CONFIG) -> tokenkeeper::tokenkeeper).
# On macOS the library is libtokenkeeper.X.Y.Z.dylib, libtokenkeeper.X.dylib (its install name,
# @rpath/libtokenkeeper.X.dylib) and libtokenkeeper.dylib; on Windows bin/tokenkeeper.dll with
# lib/tokenkeeper.dll.lib and lib/tokenkeeper.lib (the release workflow's runners; not run here).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PREFIX [--debug]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
prefix=$(mkdir -p "$1" && cd "$1" && pwd)
profile=release flag=--release
if [ "${2:-}" = "--debug" ]; then profile=debug flag=; fi
(cd "$root" && cargo build $flag -p tokenkeeper-ffi)
target=${CARGO_TARGET_DIR:-$root/target}
version=$(cd "$here" && cargo pkgid -p tokenkeeper-ffi | sed 's/.*[@#]//')
major=${version%%.*}
source "$root/scripts/platform.sh"
lib=$prefix/lib built=$target/$profile
install -d "$lib/pkgconfig" "$lib/cmake/tokenkeeper" "$prefix/include"
case $PLATFORM_OS in
linux)
  install -m 0755 "$built/libtokenkeeper.so" "$lib/libtokenkeeper.so.$version"
  ln -sf "libtokenkeeper.so.$version" "$lib/libtokenkeeper.so.$major"
  ln -sf "libtokenkeeper.so.$major" "$lib/libtokenkeeper.so"
  ;;
macos)
  install -m 0755 "$built/libtokenkeeper.dylib" "$lib/libtokenkeeper.$version.dylib"
  ln -sf "libtokenkeeper.$version.dylib" "$lib/libtokenkeeper.$major.dylib"
  ln -sf "libtokenkeeper.$major.dylib" "$lib/libtokenkeeper.dylib"
  ;;
windows)
  install -d "$prefix/bin"
  install -m 0755 "$built/tokenkeeper.dll" "$prefix/bin/"
  install -m 0644 "$built/tokenkeeper.dll.lib" "$lib/"
  ;;
esac
install -m 0644 "$built/$(staticlib tokenkeeper)" "$lib/"
install -m 0644 "$here/include/tokenkeeper.h" "$prefix/include/"
"$here/gen-pc.sh" "$lib/pkgconfig/tokenkeeper.pc" "$prefix" '${prefix}/lib' '${prefix}/include'
for f in tokenkeeperConfig tokenkeeperConfigVersion; do
  sed -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" "$here/cmake/$f.cmake.in" \
    >"$lib/cmake/tokenkeeper/$f.cmake"
done
echo "installed libtokenkeeper $version ($profile) into $prefix"
