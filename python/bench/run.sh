#!/usr/bin/env bash
# The Python benchmark (not a test): a bench-only virtualenv under target/ with tokenkeeper
# and its local issuer (`pip install . python/testing`) and the peers from PyPI, then bench.py; the report goes to
# python/bench/RESULTS.md. About three minutes on the project's 2-core machine. Arguments go to
# bench.py (`--only verify`, `--quick`…; with `--only`, the report holds only that part);
# `run.sh hit` runs hit.py instead (the cache-hit ratios of issue 13, printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/python-bench-venv
[ -d "$HOME/.cargo/bin" ] && PATH=$HOME/.cargo/bin:$PATH
if ! "$venv/bin/python" -c 'import pip' >/dev/null 2>&1; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
fi
"$venv/bin/python" -m pip install -q httpx-auth auth0-python msal requests httpx "pyjwt[crypto]>=2.8,<3" "authlib>=1.3,<2"
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps . python/testing
if [ "${1:-}" = hit ]; then
  exec "$venv/bin/python" python/bench/hit.py
fi
BENCH_COMMAND="python/bench/run.sh${*:+ $*}" "$venv/bin/python" python/bench/bench.py --out python/bench/RESULTS.md "$@"
