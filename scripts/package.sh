#!/usr/bin/env bash
# Every artifact this machine can build, into dist/ (or $DIST), each printed with its size:
#   python/  the sdists and wheels of tokenkeeper and tokenkeeper-testing (the local issuer of
#            tokenkeeper.testing); on Linux manylinux2014 through maturin's zig linker
#            (auditwheel-checked in python/test.sh), and on x86_64 Linux also aarch64 (cross)
#   kotlin/  tokenkeeper-VERSION.jar (+ .pom): scripts/package-kotlin.sh
#   c/       tokenkeeper-VERSION-TARGET.tar.gz: ffi/install.sh into a staging prefix (headers,
#            libtokenkeeper.so.MAJOR with its SONAME, the static library, pkg-config, CMake)
#   swift/   the Swift package (bindings/swift: Package.swift, the generated sources) with the
#            native library it links, as a tarball; on macOS also TokenKeeperFFI.xcframework.zip
#            (iOS, iOS simulator, macOS: scripts/package-apple.sh)
#   cli/     the native `tokenkeeper` binary (core/cli)
#   rust/    the core crate as `cargo package` makes it
# One version for all of them: the workspace Cargo.toml. The release workflow
# (.github/workflows/release.yml) runs this same script on each platform.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d "$HOME/.cargo/bin" ] && PATH=$HOME/.cargo/bin:$PATH
dist=$(mkdir -p "${DIST:-dist}" && cd "${DIST:-dist}" && pwd)
source scripts/platform.sh
version=$(cargo pkgid -p tokenkeeper | sed 's/.*[@#]//')
triple=$(rustc -vV | sed -n 's/^host: //p')
target=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
rm -rf "$dist"/{python,kotlin,swift,c,cli,rust}
mkdir -p "$dist"/{python,kotlin,swift,c,cli,rust}

echo "== python"
# tokenkeeper and tokenkeeper-testing (python/testing: the local issuer of tokenkeeper.testing),
# each a wheel and an sdist. On Linux through maturin's zig linker, for manylinux2014.
venv=$target/package-venv
"$venv/bin/python" -c 'import maturin' 2>/dev/null || {
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
}
[ -d "$venv/bin" ] && bin=$venv/bin || bin=$venv/Scripts
"$bin/python" -m pip install -q "maturin>=1.9,<2" ziglang
manylinux=()
[ "$PLATFORM_OS" = linux ] && manylinux=(--zig --compatibility manylinux2014)
log=$target/package-python.log
: >"$log"
for project in . python/testing; do
  (cd "$project" && PATH=$bin:$PATH "$bin/maturin" build --release "${manylinux[@]}" --out "$dist/python" &&
    "$bin/maturin" sdist --out "$dist/python") >>"$log" 2>&1 || { tail -n 30 "$log"; exit 1; }
done

# aarch64 Linux, cross-compiled from x86_64 Linux through the same zig linker (rustup fetches
# the target's standard library): the wheels, checked with `file`. No aarch64 machine here
# runs them (the release workflow's linux-aarch64 job builds them natively).
if [ "$PLATFORM_OS-$(uname -m)" = linux-x86_64 ]; then
  echo "== python, aarch64 (cross)"
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
  for project in . python/testing; do
    (cd "$project" && PATH=$bin:$PATH "$bin/maturin" build --release "${manylinux[@]}" \
      --target aarch64-unknown-linux-gnu --out "$dist/python") >>"$log" 2>&1 || { tail -n 30 "$log"; exit 1; }
  done
  so=$(mktemp -d)
  : >"$dist/python/aarch64-file.txt"
  for whl in "$dist"/python/*aarch64*.whl; do
    python3 - "$so" "$whl" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[2])
z.extract(next(n for n in z.namelist() if n.endswith(".so")), sys.argv[1])
PY
  done
  for f in "$so"/*/_*.so; do
    echo "${f#"$so"/}: $(file -b "$f")" | tee -a "$dist/python/aarch64-file.txt"
  done
  [ "$(grep -c "ARM aarch64" "$dist/python/aarch64-file.txt")" -eq 2 ]
  rm -rf "$so"
fi

echo "== kotlin"
DIST=$dist scripts/package-kotlin.sh >/dev/null

echo "== swift"
libdir=$(bindings/swift/generate.sh | tail -n 1)
stage=$target/package-swift/TokenKeeper
rm -rf "$stage" && mkdir -p "$stage/lib"
cp -r bindings/swift/Package.swift bindings/swift/Sources bindings/swift/Example "$stage/"
cp "$libdir/$(dylib tokenkeeper_uniffi)" "$stage/lib/"
tar -C "$(dirname "$stage")" -czf "$dist/swift/tokenkeeper-swift-$version-$triple.tar.gz" TokenKeeper
# Apple: the XCFramework (iOS, iOS simulator, macOS) of the native part, on macOS only.
[ "$PLATFORM_OS" = macos ] && DIST=$dist scripts/package-apple.sh >/dev/null

echo "== c"
stage=$target/package-c/tokenkeeper-$version-$triple
rm -rf "$stage"
ffi/install.sh "$stage" >/dev/null 2>&1
tar -C "$(dirname "$stage")" -czf "$dist/c/tokenkeeper-$version-$triple.tar.gz" "$(basename "$stage")"

echo "== cli"
cargo build --quiet --release -p tokenkeeper-cli
exe=
[ "$PLATFORM_OS" = windows ] && exe=.exe
install -m 0755 "$target/release/tokenkeeper$exe" "$dist/cli/tokenkeeper-$version-$triple$exe"

echo "== rust"
cargo package --quiet -p tokenkeeper --allow-dirty --no-verify
cp "$target/package/tokenkeeper-$version.crate" "$dist/rust/"

echo
echo "dist/ (tokenkeeper $version, $triple):"
(cd "$dist" && find . -type f | sort | while read -r f; do
  printf '%10s  %s\n' "$(du -h "$f" | cut -f1)" "${f#./}"
done)
