#!/usr/bin/env bash
# Rust: formatting, clippy on every crate, and the core's and issuer's tests (real HTTP to the
# local issuer), and the native CLI's unit tests. Ends with "rust: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
# shared_redis.rs needs the run's Redis: a missing one is a failure.
source scripts/redis.sh
start_redis || { echo "rust: cannot start Redis"; echo "rust: 0 passed, 1 failed"; exit 1; }
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check || { echo "cargo fmt: files need formatting"; fail=1; }
cargo clippy --workspace --all-targets --quiet -- -D warnings || { echo "clippy failed"; fail=1; }
log=$(mktemp)
cargo test --no-fail-fast -p tokenkeeper -p tokenkeeper-issuer -p tokenkeeper-cli 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
read -r passed failed < <(awk '/^test result:/ {
  for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
} END { print p + 0, f + 0 }' "$log")
passed=${passed:-0} failed=${failed:-0}
[ "$rc" -eq 0 ] || { fail=1; [ "$failed" -gt 0 ] || failed=1; }
[ "$fail" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
rm -f "$log"
echo "rust: $passed passed, $failed failed"
[ "$fail" -eq 0 ] && [ "$rc" -eq 0 ]
