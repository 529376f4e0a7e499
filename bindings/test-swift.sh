#!/usr/bin/env bash
# Swift: builds the uniffi library, generates the Swift sources from it, and, inside a Debian
# trixie chroot with swiftlang (scripts/setup-swift.sh; Swift is not packaged for Debian 12),
# compiles them as the `TokenKeeper` module plus the tests (bindings/tests/swift) with swiftc and
# runs the tests against the local issuer, which runs outside the chroot on 127.0.0.1 (a chroot
# shares the host's network). Ends with "swift: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "swift: $*"
  echo "swift: 0 passed, 1 failed"
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot)"
ROOT=$(bash scripts/setup-swift.sh | tail -n 1) && [ -x "$ROOT/usr/bin/swiftc" ] ||
  die "cannot set up the Swift toolchain (scripts/setup-swift.sh)"
echo "swift toolchain: $(chroot "$ROOT" swiftc --version 2>&1 | head -n 1)"

source bindings/tests/common.sh
trap stop_issuer EXIT
build_bindings swift || die "building the library or generating the Swift sources failed"

# The chroot gets copies of the generated sources, the library and the tests, in a directory of
# its own /tmp (nothing of the host is mounted into it, so nothing is left mounted if this script
# is killed). One directory per checkout, so several clones do not share build products.
IN=/tmp/tokenkeeper-swift-$(echo "$PWD" | sha256sum | cut -c1-12)
W=$ROOT$IN
mkdir -p "$W/gen" "$W/tests" "$W/lib" "$W/out"
cp "$GEN/swift/TokenKeeper.swift" "$GEN/swift/TokenKeeperFFI.h" "$GEN/swift/TokenKeeperFFI.modulemap" "$W/gen/"
# The hand-written part of the module (deprecated aliases), as the package compiles it.
cp bindings/swift/Sources/TokenKeeper/Deprecated.swift "$W/gen/"
rm -f "$W"/tests/*.swift
cp bindings/tests/swift/*.swift "$W/tests/"
cp "$LIB" "$W/lib/"

sum=$(cat "$W"/gen/* "$W"/tests/*.swift | sha256sum | cut -d' ' -f1)
if [ ! -x "$W/out/tokenkeeper-tests" ] || [ "$(cat "$W/out/inputs.sha256" 2>/dev/null)" != "$sum" ]; then
  echo "compiling the TokenKeeper module and the tests with swiftc"
  rm -f "$W/out/"*
  # shellcheck disable=SC2016
  chroot "$ROOT" /bin/sh -euc '
    cd "$1"
    ffi="-I $1/gen -Xcc -fmodule-map-file=$1/gen/TokenKeeperFFI.modulemap"
    # The generated bindings as a library module, as an app would link them
    swiftc -module-name TokenKeeper -parse-as-library -emit-library -emit-module \
      -emit-module-path out/TokenKeeper.swiftmodule -o out/libTokenKeeper.so $ffi \
      -L lib -ltokenkeeper_uniffi -Xlinker -rpath -Xlinker "$1/lib" gen/TokenKeeper.swift gen/Deprecated.swift
    # The tests, importing TokenKeeper
    swiftc -module-name TokenKeeperTests -o out/tokenkeeper-tests $ffi -I out -L out -lTokenKeeper \
      -L lib -ltokenkeeper_uniffi -Xlinker -rpath -Xlinker "$1/out" -Xlinker -rpath -Xlinker "$1/lib" \
      tests/*.swift
  ' sh "$IN" || die "swiftc failed"
  echo "$sum" >"$W/out/inputs.sha256"
fi

start_issuer || die "cannot start the local issuer"
source scripts/redis.sh
start_redis || die "cannot start Redis"
start_tls_issuer || die "cannot start the TLS issuer"
log=$W/out/run.log
timeout 600 chroot "$ROOT" "$IN/out/tokenkeeper-tests" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
line=$(grep -E '^swift: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
[ -n "$line" ] || die "the test program ended (exit $rc) without a result line"
read -r passed failed < <(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line")
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1

# --- the Swift package, used as a user would ------------------------------------------------------
# bindings/swift (sources generated from the debug library by its generate.sh) and the example
# package that depends on it by path: `swift build` + `swift run` in the chroot get a token.
pkg=$W/package
plog=$W/out/package.log
package_test() {
  rm -rf "$pkg" && mkdir -p "$pkg"
  bindings/swift/generate.sh --debug >"$plog" 2>&1 &&
    cp -r bindings/swift/Package.swift bindings/swift/Sources bindings/swift/Example "$pkg/" &&
    rm -rf "$pkg/Example/.build" &&
    timeout 900 chroot "$ROOT" /usr/bin/env TK_URL="$TK_URL" TK_CLIENT_ID="$TK_CLIENT_ID" \
      TK_CLIENT_SECRET="$TK_CLIENT_SECRET" LD_LIBRARY_PATH="$IN/lib" HOME=/tmp /bin/sh -euc '
        cd "$1/package/Example"
        swift build -Xlinker -L"$2" 2>&1 | tail -n 5
        swift run --skip-build Example
      ' sh "$IN" "$IN/lib" >>"$plog" 2>&1 &&
    grep -q "^example: tokenkeeper $TK_EXPECTED_VERSION, a 86400-s token" "$plog"
}
counted "the Swift package: swift build + swift run of an example that depends on it by path" \
  "$plog" package_test
echo "swift: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
