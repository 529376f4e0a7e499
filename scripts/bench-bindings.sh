#!/usr/bin/env bash
# The Kotlin and C cache-hit benchmarks (issue 13), against the local issuer, on the release
# libraries: bindings/bench/HitBench.kt and ffi/bench/hit_bench.c. Not a test: prints figures.
#
#   scripts/bench-bindings.sh [kotlin] [c]      (both by default; scripts/bench.sh runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
langs=("$@")
[ ${#langs[@]} -gt 0 ] || langs=(kotlin c)
source bindings/tests/common.sh
trap stop_issuer EXIT
REL=$TARGET/release
# The features of build_bindings' debug library, which the Kotlin sources are generated from.
cargo build --quiet --release -p tokenkeeper-uniffi -p tokenkeeper-ffi --features tokenkeeper-uniffi/testing
cargo build --quiet -p tokenkeeper-issuer
start_issuer >/dev/null
export TK_URL TK_CLIENT_ID TK_CLIENT_SECRET

for lang in "${langs[@]}"; do
  case $lang in
  kotlin)
    kotlin_toolchain || { echo "kotlin: $TOOLCHAIN_ERROR" >&2; exit 1; }
    build_bindings kotlin
    out=$TARGET/uniffi/kotlin-bench
    mkdir -p "$out"
    JAVA_OPTS="-Xss4m" "$KOTLINC" -nowarn -cp "$JNA:$COROUTINES" -d "$out/bench.jar" \
      "$GEN/kotlin/tokenkeeper/tokenkeeper_uniffi.kt" bindings/bench/HitBench.kt
    java -Djna.library.path="$REL" -cp "$out/bench.jar:$COROUTINES:$STDLIB:$JNA" HitBenchKt
    ;;
  c)
    out=$TARGET/ffi-bench
    mkdir -p "$out"
    # The library's SONAME is libtokenkeeper.so.MAJOR; cargo leaves only libtokenkeeper.so.
    soname=$(readelf -d "$REL/libtokenkeeper.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
    ln -sf "$REL/libtokenkeeper.so" "$out/$soname"
    gcc -O2 -Wall -Wextra -Werror -I ffi/include ffi/bench/hit_bench.c -o "$out/hit_bench" \
      -L "$REL" -ltokenkeeper -Wl,-rpath,"$out" -lpthread
    "$out/hit_bench"
    ;;
  *)
    echo "unknown benchmark: $lang (kotlin, c)" >&2
    exit 2
    ;;
  esac
done
