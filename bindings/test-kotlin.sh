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
sources=("$GEN/kotlin/tokenkeeper/tokenkeeper_uniffi.kt" bindings/tests/kotlin/*.kt)
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
[ "$rc" -eq 0 ]
