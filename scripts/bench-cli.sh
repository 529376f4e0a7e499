#!/usr/bin/env bash
# The CLI benchmark (figures, not a test): `tokenkeeper header --audience A` as a whole new
# process, served from a warm shared file cache, the native CLI (release build) against the
# Python console script (the release wheel), in one hyperfine run; then the
# native CLI with --no-shared-cache (a token request per run) for scale. Local issuer on
# loopback, cache under a temporary XDG_CACHE_HOME. Prints hyperfine's Markdown tables and the
# token requests each part made. Usage: scripts/bench-cli.sh [RUNS] (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-30}
venv=$root/target/python-venv
[ -d "$HOME/.cargo/bin" ] && PATH=$HOME/.cargo/bin:$PATH
export PIP_DISABLE_PIP_VERSION_CHECK=1

if ! command -v hyperfine >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq hyperfine) >/dev/null
fi
cargo build -q --release -p tokenkeeper-cli
# The Python CLI and the local issuer (tokenkeeper-testing), from python/test.sh's venv if it
# has them.
if ! "$venv/bin/python" -c 'import tokenkeeper.testing' >/dev/null 2>&1; then
  "$venv/bin/python" -c 'import pip' >/dev/null 2>&1 || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --force-reinstall --no-deps . python/testing
fi

NATIVE=$root/target/release/tokenkeeper PYCLI=$venv/bin/tokenkeeper RUNS=$runs \
  "$venv/bin/python" - <<'EOF'
import os, subprocess, sys, tempfile
from tokenkeeper.testing import LocalIssuer

native, pycli, runs = os.environ["NATIVE"], os.environ["PYCLI"], os.environ["RUNS"]
with LocalIssuer() as issuer, tempfile.TemporaryDirectory() as cache:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "TOKENKEEPER_"))}
    env |= {"AUTH0_DOMAIN": issuer.domain, "AUTH0_CLIENT_ID": issuer.client_id,
            "AUTH0_CLIENT_SECRET": issuer.client_secret, "XDG_CACHE_HOME": cache}
    header = f"header --audience {issuer.audience}"
    # Warm the shared cache: the one token request of the shared part.
    subprocess.run([native, *header.split()], env=env, check=True, stdout=subprocess.DEVNULL)

    def bench(title: str, commands: list[tuple[str, str]]) -> None:
        before = issuer.count("token")
        with tempfile.NamedTemporaryFile(suffix=".md") as md:
            argv = ["hyperfine", "-N", "--warmup", "3", "--runs", runs, "--export-markdown", md.name]
            for name, cmd in commands:
                argv += ["--command-name", name, cmd]
            subprocess.run(argv, env=env, check=True, stdout=sys.stderr)
            table = open(md.name).read()
        print(f"\n{title}: token requests {issuer.count('token') - before}\n")
        print(table)

    bench("shared file cache, warm", [
        ("native tokenkeeper header (shared cache, warm)", f"{native} {header}"),
        ("Python tokenkeeper header (shared cache, warm)", f"{pycli} {header}"),
    ])
    bench("no shared cache", [
        ("native tokenkeeper header --no-shared-cache", f"{native} {header} --no-shared-cache"),
    ])
EOF
