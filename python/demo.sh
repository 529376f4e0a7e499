#!/usr/bin/env bash
# The main job, in Python: installs tokenkeeper and tokenkeeper-testing (`pip install .
# python/testing`, the local issuer's wheel) into a virtualenv under target/, then runs
# `tokenkeeper demo` (the local issuer in this process, a token twice, the second
# from the cache, its claims, the token verified with TokenVerifier against the issuer's JWKS
# and a tampered copy rejected, single flight across threads, the counters).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/python-venv
[ -d "$HOME/.cargo/bin" ] && PATH=$HOME/.cargo/bin:$PATH
export PIP_DISABLE_PIP_VERSION_CHECK=1
if ! "$venv/bin/python" -c 'import pip' >/dev/null 2>&1; then
  rm -rf "$venv"
  python3 -m venv "$venv" 2>/dev/null || {
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv"; python3 -m venv "$venv"
  }
fi
echo "installing tokenkeeper and tokenkeeper-testing (pip install . python/testing; the first build compiles the Rust core, a few minutes)" >&2
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps . python/testing
exec "$venv/bin/tokenkeeper" demo
