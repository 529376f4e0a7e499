#!/usr/bin/env bash
# Kotlin: builds the uniffi library, generates the Kotlin sources from it, compiles them with the
# tests (bindings/tests/kotlin) using kotlinc, and runs them on the JVM against the local issuer
# over real HTTP. Installs what it needs (kotlin-compiler from npm, JNA from Debian, a JRE).
# Ends with "kotlin: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "kotlin: $*"
  echo "kotlin: 0 passed, 1 failed"
  exit 1
}

# --- toolchain (idempotent) ---------------------------------------------------------------------
source bindings/tests/common.sh
kotlin_toolchain || die "$TOOLCHAIN_ERROR"

# --- build, generate, compile -------------------------------------------------------------------
trap stop_issuer EXIT
build_bindings kotlin || die "building the library or generating the Kotlin sources failed"
sources=("$GEN/kotlin/tokenkeeper/tokenkeeper_uniffi.kt" bindings/kotlin/*.kt bindings/tests/kotlin/*.kt)
out=$TARGET/uniffi/kotlin-test
mkdir -p "$out"
sum=$( (cat "${sources[@]}"; echo "$KOTLIN_VERSION") | sha256sum | cut -d' ' -f1)
if [ ! -f "$out/tests.jar" ] || [ "$(cat "$out/inputs.sha256" 2>/dev/null)" != "$sum" ]; then
  echo "compiling ${#sources[@]} Kotlin files with kotlinc $KOTLIN_VERSION"
  rm -f "$out/tests.jar" "$out/inputs.sha256"
  JAVA_OPTS="-Xss4m" "$KOTLINC" -nowarn -cp "$JNA:$COROUTINES" -d "$out/tests.jar" "${sources[@]}" ||
    die "kotlinc failed"
  echo "$sum" >"$out/inputs.sha256"
fi

# --- run ----------------------------------------------------------------------------------------
start_issuer || die "cannot start the local issuer"
source scripts/redis.sh
start_redis || die "cannot start Redis"
start_tls_issuer || die "cannot start the TLS issuer"
log=$out/run.log
timeout 600 java -Djna.library.path="$(dirname "$LIB")" \
  -cp "$out/tests.jar:$COROUTINES:$STDLIB:$JNA" TokenKeeperTestKt 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
line=$(grep -E '^kotlin: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
[ -n "$line" ] || die "the test program ended (exit $rc) without a result line"
read -r passed failed < <(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line")
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1

# --- the packaged jar, used as a user would ------------------------------------------------------
# scripts/package-kotlin.sh (on the debug library: the packaging, not the optimiser, is tested),
# then a program compiled against the jar and run with only it, JNA and coroutines on the
# classpath (the Kotlin runtime inside the program's own jar), no library path.
pkg=$out/package
jar_test() {
  local jar=$pkg/kotlin/tokenkeeper-$TK_EXPECTED_VERSION.jar
  rm -rf "$pkg" && mkdir -p "$pkg"
  DIST=$pkg scripts/package-kotlin.sh --debug >"$pkg/package.log" 2>&1 &&
    python3 -c 'import sys, zipfile; n = zipfile.ZipFile(sys.argv[1]).namelist(); sys.exit(not ("linux-x86-64/libtokenkeeper_uniffi.so" in n and "tokenkeeper/TokenClient.class" in n))' "$jar" &&
    grep -q "<artifactId>jna</artifactId>" "$pkg/kotlin/tokenkeeper-$TK_EXPECTED_VERSION.pom" &&
    JAVA_OPTS="-Xss4m" "$KOTLINC" -nowarn -include-runtime -cp "$jar:$COROUTINES" \
      -d "$pkg/use.jar" bindings/tests/kotlin-package/UseJar.kt >>"$pkg/package.log" 2>&1 &&
    (cd "$pkg" && env -u LD_LIBRARY_PATH timeout 120 java -cp "use.jar:$jar:$COROUTINES:$JNA" UseJarKt) >>"$pkg/package.log" 2>&1
}
counted "the packaged jar gets a token with only the jar, JNA and coroutines (no library path)" \
  "$pkg/package.log" jar_test
echo "kotlin: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
