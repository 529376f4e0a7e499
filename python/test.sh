#!/usr/bin/env bash
# Python: builds the sdists and from them the manylinux wheels of tokenkeeper and
# tokenkeeper-testing (maturin, release), installs them into a virtualenv under target/ with
# the test tools, builds the native CLI (test_cli.py runs both CLIs), and runs pytest against
# the INSTALLED packages (real HTTP to the local issuer of the tokenkeeper-testing wheel).
# Ends with "python: N passed, N failed".
#
# Idempotent; installs what it needs (python3-venv from Debian if missing). A missing Rust or
# Python toolchain is a failure, never a skip.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$root/target/python-venv
report=$root/target/python-junit.xml
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

finish() { # passed failed
  echo "python: $1 passed, $2 failed"
  [ "$2" -eq 0 ] && [ "$1" -gt 0 ]
  exit $?
}

[ -d "$HOME/.cargo/bin" ] && PATH=$HOME/.cargo/bin:$PATH
if ! command -v cargo >/dev/null; then
  echo "python: cargo not found: the wheel cannot be built"; finish 0 1
fi
py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null; then
  echo "python: $py not found: installing it"
  (apt-get update -qq && apt-get install -y -qq python3 python3-venv) >/dev/null || { echo "python: cannot install python3"; finish 0 1; }
fi
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "python: $("$py" --version) is older than 3.10"; finish 0 1
fi

# The virtualenv: made once, remade if its interpreter went away.
if ! "$venv/bin/python" -c 'import pip' >/dev/null 2>&1; then
  rm -rf "$venv"
  if ! "$py" -m venv "$venv" >/dev/null 2>&1; then
    echo "python: no venv module: installing python3-venv"
    rm -rf "$venv"
    (apt-get update -qq && apt-get install -y -qq python3-venv python3-pip) >/dev/null || { echo "python: cannot install python3-venv"; finish 0 1; }
    "$py" -m venv "$venv" || { echo "python: cannot create $venv"; finish 0 1; }
  fi
  "$venv/bin/python" -m pip install -q --upgrade pip || { echo "python: cannot upgrade pip"; finish 0 1; }
fi
pip=("$venv/bin/python" -m pip)

# PyYAML: test_packaging reads the release workflow. PyJWT and authlib: the verification
# benchmark's peers, for its smoke test (authlib.jose goes
# away in authlib 2).
"${pip[@]}" install -q pytest pytest-timeout requests httpx mypy pyyaml "pyjwt[crypto]>=2.8,<3" "authlib>=1.3,<2" || { echo "python: cannot install the test tools"; finish 0 1; }

# What ships, built as a user's installer would: the sdist (`maturin sdist`), and from it the
# wheel an index serves, manylinux2014 (maturin's zig linker, `ziglang` from PyPI), checked by
# auditwheel; that wheel is what the tests import. MATURIN_PEP517_ARGS is how pip passes the
# zig flags to maturin; the build runs in this venv (no isolation) to see ziglang.
# Two packages: tokenkeeper, and tokenkeeper-testing (python/testing: the local issuer of
# tokenkeeper.testing, kept out of the tokenkeeper wheel; the tests use it).
"${pip[@]}" install -q "maturin>=1.9,<2" ziglang auditwheel || { echo "python: cannot install maturin, ziglang, auditwheel"; finish 0 1; }
dist=$root/target/python-dist
rm -rf "$dist" && mkdir -p "$dist"
# build PROJECT_DIR NAME: its sdist and, from it, its manylinux2014 wheel, in $dist/NAME;
# installs the wheel and prints both sizes.
# The sdist is unpacked into a directory kept between runs, where only files whose bytes
# changed are rewritten: maturin gives every file of an sdist the same old mtime, so cargo,
# reusing its target directory, would take a changed source for built and ship a stale wheel.
build() {
  local out=$dist/$2 src=$root/target/python-sdist/$2 start=$SECONDS wheel sdist
  mkdir -p "$out"
  echo "building the $2 sdist and, from it, the manylinux wheel"
  if ! (cd "$1" && "$venv/bin/maturin" sdist --out "$out") >"$out/build.log" 2>&1 ||
    ! "$venv/bin/python" "$root/scripts/sync_sdist.py" "$out"/*.tar.gz "$src" >>"$out/build.log" 2>&1 ||
    ! PATH=$venv/bin:$PATH MATURIN_PEP517_ARGS="--zig --compatibility manylinux2014" CARGO_TARGET_DIR=$root/target/python-wheel \
      "${pip[@]}" wheel -q --no-deps --no-build-isolation -w "$out" "$src" >>"$out/build.log" 2>&1; then
    tail -n 30 "$out/build.log"; echo "python: building the $2 sdist or the wheel from it failed"; return 1
  fi
  wheel=$(ls "$out"/*-manylinux2014_x86_64*.whl 2>/dev/null | head -n 1)
  [ -n "$wheel" ] || { ls "$out"; echo "python: no manylinux2014 $2 wheel was built"; return 1; }
  "$venv/bin/auditwheel" show "$wheel" >"$out/auditwheel.txt" 2>&1
  if ! grep -q '"manylinux_2_17_x86_64"' "$out/auditwheel.txt"; then
    cat "$out/auditwheel.txt"; echo "python: auditwheel does not find the $2 wheel manylinux2014"; return 1
  fi
  "${pip[@]}" install -q --force-reinstall --no-deps "$wheel" || { echo "python: cannot install $wheel"; return 1; }
  sdist=$(ls "$out"/*.tar.gz)
  echo "$2: sdist $(du -h "$sdist" | cut -f1), wheel $(du -h "$wheel" | cut -f1) ($(basename "$wheel")), auditwheel: manylinux_2_17_x86_64; $((SECONDS - start)) s"
}
build "$root" tokenkeeper || finish 0 1
build "$root/python/testing" tokenkeeper-testing || finish 0 1
# test_packaging.py looks at what was built.
export TOKENKEEPER_WHEEL_DIR=$dist

# The Redis of the shared-cache tests: a missing one is a failure.
source "$root/scripts/redis.sh"
start_redis || { echo "python: cannot start Redis"; finish 0 1; }

# The native CLI (core/cli): python/tests/test_cli.py runs its CLI tests against both. Without
# it the native cases fail (they never skip).
echo "building the native CLI (cargo build -p tokenkeeper-cli)"
if cargo build -q -p tokenkeeper-cli; then
  export TOKENKEEPER_NATIVE_CLI=$root/target/debug/tokenkeeper
else
  echo "python: cargo build -p tokenkeeper-cli failed: the native CLI tests will fail"
fi

# From the root with the venv's pytest: the source tree is not on sys.path, so the tests
# import the installed package (python/tests/conftest.py checks that).
rm -f "$report"
timeout 1200 "$venv/bin/pytest" python/tests -p no:cacheprovider -q -rfE \
  --timeout=180 --junitxml="$report"
rc=$?

passed=0 failed=0
if [ -f "$report" ]; then
  read -r passed failed < <("$venv/bin/python" - "$report" <<'EOF'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = e = s = 0
for su in suites:
    t += int(su.get("tests", 0)); f += int(su.get("failures", 0))
    e += int(su.get("errors", 0)); s += int(su.get("skipped", 0))
print(t - f - e - s, f + e)
EOF
  )
fi
passed=${passed:-0} failed=${failed:-0}
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # exit 5 (no tests ran), an interrupted run, a crash: all failures
  echo "python: pytest exited with $rc"; failed=1
fi
finish "$passed" "$failed"
