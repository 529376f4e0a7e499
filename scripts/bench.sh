#!/usr/bin/env bash
# Every speed figure of issue 13 in one run, each beside the baseline measured in the same run:
#   Rust    cached get_token_blocking vs a RwLock<HashMap> read (1 and 8 threads), and a new
#           client + first token vs bare reqwest POSTs (criterion, core/benches/tokens.rs);
#   Python  python/bench/hit.py: get_token(...).authorization_header vs dict.get, authlib,
#           get_token_async vs a trivial coroutine, 8 threads vs 1, new client vs requests.post;
#   Kotlin  getTokenBlocking + authorizationHeader() vs ConcurrentHashMap.get;
#   C       tk_client_get_token + tk_token_authorization_header vs a strcmp table.
# Not a test and not in CI: about 15 minutes on the 2-core machine. Installs what it needs.
#
#   scripts/bench.sh [rust] [python] [kotlin] [c]      (all by default)
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(rust python kotlin c)
[ -d "$HOME/.cargo/bin" ] && PATH=$HOME/.cargo/bin:$PATH
echo "tokenkeeper bench, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr)"

rust() {
  echo "== Rust: cargo bench -p tokenkeeper --bench tokens"
  local dir
  dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/criterion
  rm -rf "$dir/cached" "$dir/cold"
  cargo bench -q -p tokenkeeper --bench tokens -- --warm-up-time 1 --measurement-time 4 \
    >"$dir.log" 2>&1 || { tail -n 30 "$dir.log"; return 1; }
  python3 - "$dir" <<'PY'
import glob, json, os, sys
m = {}
for f in glob.glob(os.path.join(sys.argv[1], "*", "*", "new", "benchmark.json")):
    full = json.load(open(f))["full_id"]
    est = json.load(open(os.path.join(os.path.dirname(f), "estimates.json")))
    m[full] = est["median"]["point_estimate"]
def show(name, base=None, per=1, goal=""):
    v = m[name] / per
    ratio = f"  {v / (m[base] / per):.2f}× of {base.split('/', 1)[1]}{goal}" if base else ""
    unit = "ns" if v < 1e5 else "µs"
    print(f"{name:<48} {v if unit == 'ns' else v / 1e3:>10.1f} {unit}/call{ratio}")
show("cached/baseline RwLock<HashMap> 1 thread")
show("cached/1 thread", "cached/baseline RwLock<HashMap> 1 thread", goal=" (goal ≤ 3×)")
show("cached/baseline RwLock<HashMap> 8 threads", per=8)
show("cached/8 threads", "cached/baseline RwLock<HashMap> 8 threads", per=8)
show("cold/bare reqwest (client reused)")
show("cold/bare reqwest (new client)")
show("cold/new client + first token", "cold/bare reqwest (client reused)", goal=" (goal ≤ 1.15×)")
PY
}

python_() {
  echo "== Python: python/bench/run.sh hit"
  python/bench/run.sh hit
}

for p in "${parts[@]}"; do
  case $p in
  rust) rust ;;
  python) python_ ;;
  kotlin | c)
    echo "== ${p^}: scripts/bench-bindings.sh $p"
    scripts/bench-bindings.sh "$p"
    ;;
  *)
    echo "unknown part: $p (rust, python, kotlin, c)" >&2
    exit 2
    ;;
  esac
done
