#!/usr/bin/env bash
# Every artifact this machine can build, into dist/ (or $DIST), each printed with its size:
#   python/  the sdist and the manylinux2014 wheel (maturin's zig linker; auditwheel-checked in
#            python/test.sh)
#   kotlin/  tokenkeeper-VERSION.jar (+ .pom): scripts/package-kotlin.sh
#   c/       tokenkeeper-VERSION-TARGET.tar.gz: ffi/install.sh into a staging prefix (headers,
#            libtokenkeeper.so.MAJOR with its SONAME, the static library, pkg-config, CMake)
#   swift/   the Swift package (bindings/swift: Package.swift, the generated sources) with the
#            native library it links, as a tarball
#   cli/     the native `tokenkeeper` binary (core/cli)
#   rust/    the core crate as `cargo package` makes it
# One version for all of them: the workspace Cargo.toml. The release workflow
# (.github/workflows/release.yml) runs this same script on each platform.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d "$HOME/.cargo/bin" ] && PATH=$HOME/.cargo/bin:$PATH
dist=$(mkdir -p "${DIST:-dist}" && cd "${DIST:-dist}" && pwd)
version=$(cargo pkgid -p tokenkeeper | sed 's/.*[@#]//')
triple=$(rustc -vV | sed -n 's/^host: //p')
target=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
rm -rf "$dist"/{python,kotlin,swift,c,cli,rust}
mkdir -p "$dist"/{python,kotlin,swift,c,cli,rust}

echo "== python"
venv=$target/package-venv
"$venv/bin/python" -c 'import maturin' 2>/dev/null || {
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
}
"$venv/bin/python" -m pip install -q "maturin>=1.9,<2" ziglang
PATH=$venv/bin:$PATH "$venv/bin/maturin" build --release --zig --compatibility manylinux2014 --out "$dist/python" \
  >"$target/package-python.log" 2>&1 ||
  { tail -n 30 "$target/package-python.log"; exit 1; }
"$venv/bin/maturin" sdist --out "$dist/python" >>"$target/package-python.log" 2>&1 ||
  { tail -n 30 "$target/package-python.log"; exit 1; }

# aarch64 Linux, cross-compiled through the same zig linker (rustup fetches the target's
# standard library): the wheel, checked with `file`. No aarch64 machine here runs it.
echo "== python, aarch64 (cross)"
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
PATH=$venv/bin:$PATH "$venv/bin/maturin" build --release --zig --compatibility manylinux2014 \
  --target aarch64-unknown-linux-gnu --out "$dist/python" >>"$target/package-python.log" 2>&1 ||
  { tail -n 30 "$target/package-python.log"; exit 1; }
so=$(mktemp -d)
python3 - "$so" "$dist"/python/tokenkeeper-*aarch64*.whl <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[2])
z.extract(next(n for n in z.namelist() if n.endswith(".so")), sys.argv[1])
PY
file -b "$so"/tokenkeeper/_native*.so | tee "$dist/python/aarch64-file.txt"
grep -q "ARM aarch64" "$dist/python/aarch64-file.txt"
rm -rf "$so"

echo "== kotlin"
DIST=$dist scripts/package-kotlin.sh >/dev/null

echo "== swift"
libdir=$(bindings/swift/generate.sh | tail -n 1)
stage=$target/package-swift/TokenKeeper
rm -rf "$stage" && mkdir -p "$stage/lib"
cp -r bindings/swift/Package.swift bindings/swift/Sources bindings/swift/Example "$stage/"
cp "$libdir/libtokenkeeper_uniffi.so" "$stage/lib/"
tar -C "$(dirname "$stage")" -czf "$dist/swift/tokenkeeper-swift-$version-$triple.tar.gz" TokenKeeper

echo "== c"
stage=$target/package-c/tokenkeeper-$version-$triple
rm -rf "$stage"
ffi/install.sh "$stage" >/dev/null 2>&1
tar -C "$(dirname "$stage")" -czf "$dist/c/tokenkeeper-$version-$triple.tar.gz" "$(basename "$stage")"

echo "== cli"
cargo build --quiet --release -p tokenkeeper-cli
install -m 0755 "$target/release/tokenkeeper" "$dist/cli/tokenkeeper-$version-$triple"

echo "== rust"
cargo package --quiet -p tokenkeeper --allow-dirty --no-verify
cp "$target/package/tokenkeeper-$version.crate" "$dist/rust/"

echo
echo "dist/ (tokenkeeper $version, $triple):"
(cd "$dist" && find . -type f | sort | while read -r f; do
  printf '%10s  %s\n' "$(du -h "$f" | cut -f1)" "${f#./}"
done)
