#!/usr/bin/env bash
# Every test of every surface. Each surface's script installs what it needs (idempotently) and
# ends with a line "<surface>: N passed, N failed"; this sums them. A surface whose toolchain
# cannot be installed fails; nothing is skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=target/test-logs
mkdir -p "$logs"
suites=(
  "rust scripts/test-rust.sh"
  "python python/test.sh"
  "kotlin bindings/test-kotlin.sh"
  "swift bindings/test-swift.sh"
  "c ffi/test.sh"
)
total_pass=0 total_fail=0 bad=()
for entry in "${suites[@]}"; do
  name=${entry%% *} script=${entry#* }
  echo "=== $name ($script)"
  if [ ! -f "$script" ]; then
    echo "$name: missing $script"; bad+=("$name"); total_fail=$((total_fail + 1)); continue
  fi
  start=$SECONDS
  bash "$script" 2>&1 | tee "$logs/$name.log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$logs/$name.log" | tail -n 1)
  p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
  f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
  p=${p:-0} f=${f:-0}
  if [ "$rc" -ne 0 ] || [ -z "$line" ] || [ "$p" -eq 0 ]; then
    bad+=("$name"); [ "$f" -eq 0 ] && f=1
  fi
  total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
  echo "=== $name: exit $rc, ${p} passed, ${f} failed, $((SECONDS - start)) s"
done
if [ ${#bad[@]} -gt 0 ]; then echo "failed surfaces: ${bad[*]}"; fi
echo "total: $total_pass passed, $total_fail failed"
[ ${#bad[@]} -eq 0 ]
