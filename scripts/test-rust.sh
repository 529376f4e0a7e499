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
cargo test --no-fail-fast -p tokenkeeper -p tokenkeeper-issuer -p tokenkeeper-cli -p tokenkeeper-uniffi 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
read -r passed failed < <(awk '/^test result:/ {
  for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
} END { print p + 0, f + 0 }' "$log")
passed=${passed:-0} failed=${failed:-0}
[ "$rc" -eq 0 ] || { fail=1; [ "$failed" -gt 0 ] || failed=1; }
[ "$fail" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
rm -f "$log"

# Packaging, as a user meets it: the crate's docs build without a warning (every public item is
# documented: #![deny(missing_docs)]), `cargo package` accepts the core, and `cargo install`
# of the native CLI gives a binary that gets a header from the local issuer.
check() {
  local name=$1
  shift
  if "$@" >"$pkglog" 2>&1; then
    echo "ok   $name"; passed=$((passed + 1))
  else
    echo "FAIL $name"; tail -n 30 "$pkglog" | sed 's/^/    /'; failed=$((failed + 1))
  fi
}
pkglog=$(mktemp)
check "cargo doc is warning-free" env RUSTDOCFLAGS="-D warnings" cargo doc --quiet -p tokenkeeper --no-deps
check "cargo package -p tokenkeeper" cargo package --quiet -p tokenkeeper --allow-dirty --no-verify
install_root=$(mktemp -d)
installed_cli() {
  cargo install --quiet --debug --locked --path core/cli --root "$install_root" || return 1
  # The local issuer's binary (cargo test builds only its library).
  cargo build --quiet -p tokenkeeper-issuer || return 1
  source bindings/tests/common.sh
  start_issuer >/dev/null || return 1
  local out
  out=$(AUTH0_DOMAIN=$TK_URL AUTH0_CLIENT_ID=$TK_CLIENT_ID AUTH0_CLIENT_SECRET=$TK_CLIENT_SECRET \
    "$install_root/bin/tokenkeeper" header --audience https://api.example.com --no-shared-cache)
  stop_issuer
  [[ $out == "Bearer ey"* ]] && "$install_root/bin/tokenkeeper" --version | grep -q "$TK_EXPECTED_VERSION"
}
# The workspace's target directory: `cargo install` reuses the test build instead of a new one.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} check "cargo install --path core/cli gets a header" installed_cli
rm -rf "$install_root" "$pkglog"
echo "rust: $passed passed, $failed failed"
[ "$fail" -eq 0 ] && [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
