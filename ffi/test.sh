#!/usr/bin/env bash
# C: the committed header against a fresh generation by the pinned cbindgen, the version macros
# against Cargo.toml, the Rust unit tests of the binding, the C tests (gcc -Wall -Wextra
# -Werror; client credentials, verifier, sign-in with the test-mode /authorize, credentials
# manager over a C storage, the shared cache level over real files and forked processes) linked against the shared and against the static library and run
# against the local issuer over real HTTP, the same C tests under valgrind memcheck, and the
# example programs built through pkg-config (build tree and an installed prefix) and CMake
# (find_package against an installed prefix), the SONAME and the exported symbols. Installs what
# it needs; ends with "c: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/target/ffi
rm -rf "$out" && mkdir -p "$out"
passed=0 failed=0

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
finish() {
  echo "c: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}
# check NAME CMD...: one test; its output is shown only when it fails.
check() {
  local name=$1
  shift
  if "$@" >"$out/$name.log" 2>&1; then
    pass "$name"
  else
    fail "$name"
    tail -n 40 "$out/$name.log" | sed 's/^/    /'
  fi
}
# count LOG LABEL RC: adds the "LABEL: N passed, N failed" of a test program; a crash or a
# missing summary is a failure.
count() {
  local log=$1 label=$2 rc=$3 line p f
  line=$(grep -E "^$label: [0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1)
  p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")
  p=${p:-0} f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL $label exited with status $rc"
    f=1
  fi
  passed=$((passed + p)) failed=$((failed + f))
}

# ---- toolchain ------------------------------------------------------------------------------
need=()
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v g++ >/dev/null || need+=(g++)
command -v valgrind >/dev/null || need+=(valgrind)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cmake >/dev/null || need+=(cmake)
command -v readelf >/dev/null && command -v nm >/dev/null || need+=(binutils)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } \
    >"$out/apt.log" 2>&1; then
    tail -n 20 "$out/apt.log"
    fail "install ${need[*]}"
    finish
  fi
fi

echo "building libtokenkeeper and the local issuer"
if ! cargo build -p tokenkeeper-ffi -p tokenkeeper-issuer >"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log"
  fail "cargo build"
  finish
fi
libdir=${CARGO_TARGET_DIR:-$root/target}/debug

major=$(cargo pkgid -p tokenkeeper-ffi | sed -E 's/.*[@#]([0-9]+)\..*/\1/')
# Programs linked in the build tree record the SONAME: give it a name there too, as ldconfig
# would in an installed prefix.
ln -sf libtokenkeeper.so "$libdir/libtokenkeeper.so.$major"

# ---- the shared library's ABI surface ---------------------------------------------------------
check shared_library_soname_is_libtokenkeeper_so_major bash -c \
  "readelf -d '$libdir/libtokenkeeper.so' | grep -E 'SONAME.*\\[libtokenkeeper\\.so\\.$major\\]'"
# Only the tk_* functions are exported: no Rust or dependency symbol that could clash with a
# host's own copy of the same library.
exports_only_tk() {
  local other
  other=$(nm -D --defined-only "$libdir/libtokenkeeper.so" | awk '{print $3}' | grep -v '^tk_')
  [ -z "$other" ] || { echo "exported symbols that are not tk_*:"; echo "$other"; return 1; }
  [ "$(nm -D --defined-only "$libdir/libtokenkeeper.so" | grep -c ' T tk_')" -gt 50 ]
}
check shared_library_exports_only_tk_symbols exports_only_tk

# ---- header and version --------------------------------------------------------------------
check header_matches_fresh_cbindgen_output \
  bash -c "ffi/gen-header.sh '$out/tokenkeeper.fresh.h' && diff -u ffi/include/tokenkeeper.h '$out/tokenkeeper.fresh.h'"
version=$(cargo pkgid -p tokenkeeper-ffi | sed 's/.*[@#]//')
header_version() {
  local h=ffi/include/tokenkeeper.h
  printf '%s.%s.%s' "$(awk '/#define TK_VERSION_MAJOR/ {print $3}' $h)" \
    "$(awk '/#define TK_VERSION_MINOR/ {print $3}' $h)" "$(awk '/#define TK_VERSION_PATCH/ {print $3}' $h)"
}
check version_macros_match_cargo_toml bash -c "[ '$(header_version)' = '$version' ] || { echo 'header $(header_version), Cargo.toml $version'; exit 1; }"
check header_compiles_as_c99_and_cpp bash -c \
  "gcc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c ffi/include/tokenkeeper.h && g++ -Wall -Wextra -Werror -fsyntax-only -x c++ ffi/include/tokenkeeper.h"

# ---- Rust unit tests of the binding (panic boundary, error conversion, buffers) -------------
cargo test -p tokenkeeper-ffi >"$out/cargo-test.log" 2>&1
rc=$?
read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p + 0, f + 0 }' "$out/cargo-test.log")
grep -E "^test .* (ok|FAILED)$" "$out/cargo-test.log" | sed 's/^/  rust /'
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1 && tail -n 30 "$out/cargo-test.log"; fi
passed=$((passed + p)) failed=$((failed + f))

# ---- builds -----------------------------------------------------------------------------------
CFLAGS=(-std=c11 -Wall -Wextra -Werror -g -O1 -pthread)
# One test program: client credentials (test_tokenkeeper.c), then the verifier, sign-in and the
# credentials manager over a C storage (test_signin.c), then the shared cache level, with real
# files and forked processes (test_shared.c), token exchange (test_exchange.c), TLS (test_tls.c).
TESTS_C=(ffi/tests/test_tokenkeeper.c ffi/tests/test_signin.c ffi/tests/test_shared.c
  ffi/tests/test_exchange.c ffi/tests/test_tls.c)
ffi/gen-pc.sh "$out/pkgconfig/tokenkeeper.pc" "$root" "$libdir" "$root/ffi/include"
export PKG_CONFIG_PATH=$out/pkgconfig
# shellcheck disable=SC2046
check build_tests_against_shared_library \
  gcc "${CFLAGS[@]}" $(pkg-config --cflags tokenkeeper) "${TESTS_C[@]}" \
  -o "$out/test_shared" $(pkg-config --libs tokenkeeper) -Wl,-rpath,"$libdir"
check build_tests_against_static_library \
  gcc "${CFLAGS[@]}" -I ffi/include "${TESTS_C[@]}" -o "$out/test_static" \
  "$libdir/libtokenkeeper.a" -lpthread -ldl -lm
check static_binary_does_not_load_libtokenkeeper_so \
  bash -c "[ -x '$out/test_static' ] && ! ldd '$out/test_static' | grep -q libtokenkeeper"
# shellcheck disable=SC2046
check build_example_with_pkg_config \
  gcc "${CFLAGS[@]}" $(pkg-config --cflags tokenkeeper) ffi/examples/get_token.c \
  -o "$out/get_token" $(pkg-config --libs tokenkeeper) -Wl,-rpath,"$libdir"
# shellcheck disable=SC2046
check build_verify_example_with_pkg_config \
  gcc "${CFLAGS[@]}" $(pkg-config --cflags tokenkeeper) ffi/examples/verify_token.c \
  -o "$out/verify_token" $(pkg-config --libs tokenkeeper) -Wl,-rpath,"$libdir"
check install_into_a_prefix bash -c "ffi/install.sh '$out/prefix' --debug"
check build_example_against_installed_prefix bash -c \
  "gcc ${CFLAGS[*]} \$(PKG_CONFIG_PATH='$out/prefix/lib/pkgconfig' pkg-config --cflags tokenkeeper) ffi/examples/get_token.c -o '$out/get_token_installed' \$(PKG_CONFIG_PATH='$out/prefix/lib/pkgconfig' pkg-config --libs tokenkeeper) -Wl,-rpath,'$out/prefix/lib' && ldd '$out/get_token_installed' | grep -q 'libtokenkeeper.so.$major => $out/prefix/lib/libtokenkeeper.so.$major'"
check installed_prefix_has_the_versioned_library_and_its_links bash -c \
  "[ -f '$out/prefix/lib/libtokenkeeper.so.$version' ] && [ \"\$(readlink '$out/prefix/lib/libtokenkeeper.so.$major')\" = 'libtokenkeeper.so.$version' ] && [ \"\$(readlink '$out/prefix/lib/libtokenkeeper.so')\" = 'libtokenkeeper.so.$major' ] && [ -f '$out/prefix/lib/libtokenkeeper.a' ] && [ -f '$out/prefix/lib/cmake/tokenkeeper/tokenkeeperConfig.cmake' ]"
# A CMake project, as most C and C++ users build: find_package(tokenkeeper CONFIG) against the
# installed prefix, with the shared and the static imported target.
check build_cmake_consumer_against_installed_prefix bash -c \
  "cmake -S ffi/examples/cmake -B '$out/cmake-build' -DCMAKE_PREFIX_PATH='$out/prefix' -DCMAKE_BUILD_TYPE=Debug && cmake --build '$out/cmake-build' && ldd '$out/cmake-build/get_token' | grep -q 'libtokenkeeper.so.$major => $out/prefix/lib/libtokenkeeper.so.$major' && ! ldd '$out/cmake-build/get_token_static' | grep -q libtokenkeeper"
check cmake_refuses_another_major_version bash -c \
  "mkdir -p '$out/cmake-major' && printf 'cmake_minimum_required(VERSION 3.16)\\nproject(m C)\\nfind_package(tokenkeeper %s CONFIG REQUIRED)\\n' '$((major + 1))' >'$out/cmake-major/CMakeLists.txt' && ! cmake -S '$out/cmake-major' -B '$out/cmake-major/build' -DCMAKE_PREFIX_PATH='$out/prefix'"

# ---- Redis (the shared-cache test): a missing one is a failure ----------------------------
source scripts/redis.sh
if ! start_redis >"$out/redis.log" 2>&1; then
  cat "$out/redis.log"
  fail "start Redis"
  finish
fi

# ---- the local issuer -----------------------------------------------------------------------
coproc ISSUER { exec "$libdir/tokenkeeper-issuer" 2>"$out/issuer.err"; }
issuer_pid=$ISSUER_PID
trap 'kill "$issuer_pid" 2>/dev/null' EXIT
if ! IFS= read -r -t 60 fixture <&"${ISSUER[0]}"; then
  cat "$out/issuer.err"
  fail "start the local issuer"
  finish
fi
exports=$(python3 -c '
import json, shlex, sys
f = json.loads(sys.stdin.read())
env = {
    "TK_ISSUER_URL": f["url"], "TK_CLIENT_ID": f["client_id"],
    "TK_CLIENT_SECRET": f["client_secret"], "TK_UNGRANTED_ID": f["ungranted_client_id"],
    "TK_UNGRANTED_SECRET": f["ungranted_client_secret"], "TK_JWT_CLIENT_ID": f["jwt_client_id"],
    "TK_JWT_EC_KEY": f["jwt_ec_private_key"], "TK_JWT_RSA_KEY": f["jwt_rsa_private_key"],
    "TK_ISSUER": f["issuer"],
    "TK_PUBLIC_CLIENT_ID": f["public_client_id"], "TK_WEB_CLIENT_ID": f["web_client_id"],
    "TK_WEB_CLIENT_SECRET": f["web_client_secret"], "TK_REDIRECT_URI": f["redirect_uri"],
    "TK_USER_SUB": f["user"]["sub"], "TK_USER_EMAIL": f["user"]["email"],
    "TK_OTHER_USER_SUB": f["other_user"]["sub"], "TK_OTHER_USER_EMAIL": f["other_user"]["email"],
    "TK_ORG_ID": next(o["id"] for o in f["organizations"] if o["name"] == "acme"),
    "TK_EXCHANGE_SUBJECT_TOKEN_TYPE": f["exchange_subject_token_type"],
    "TK_EXCHANGE_SUBJECT_TOKEN": f["exchange_subject_token"],
    "TK_VAULT_CONNECTION": f["vault_connections"][0],
    "TK_MRRT_AUDIENCE": f["refresh_token_policies"][0]["audience"],
    "TK_MRRT_SCOPE": f["refresh_token_policies"][0]["scope"][0],
}
for k, v in env.items():
    print(f"export {k}={shlex.quote(v)}")
' <<<"$fixture") || {
  fail "parse the issuer fixture"
  finish
}
eval "$exports"
# A second issuer serving HTTPS (test_tls.c): it stops when this shell closes its stdin.
mkfifo "$out/tls-issuer.stdin"
"$libdir/tokenkeeper-issuer" --tls <"$out/tls-issuer.stdin" >"$out/tls-issuer.json" 2>"$out/tls-issuer.err" &
tls_pid=$!
exec {tls_fd}>"$out/tls-issuer.stdin"
rm -f "$out/tls-issuer.stdin"
trap 'kill "$issuer_pid" "$tls_pid" 2>/dev/null' EXIT
for _ in $(seq 1 300); do
  [ "$(wc -l <"$out/tls-issuer.json")" -ge 1 ] && break
  sleep 0.1
done
tls_exports=$(python3 -c '
import json, shlex, sys
f = json.loads(sys.stdin.readline())
env = {"TK_TLS_URL": f["url"], "TK_TLS_CLIENT_ID": f["client_id"],
       "TK_TLS_CLIENT_SECRET": f["client_secret"], "TK_TLS_CA_FILE": f["ca_file"]}
for k, v in env.items():
    print(f"export {k}={shlex.quote(v)}")
' <"$out/tls-issuer.json") || {
  cat "$out/tls-issuer.err"
  fail "start the TLS issuer"
  finish
}
eval "$tls_exports"
export TK_EXPECTED_VERSION=$version
# The tests choose their shared cache themselves (tk_config_from_env would read this one).
unset TOKENKEEPER_SHARED_CACHE
echo "local issuer at $TK_ISSUER_URL"

# ---- C tests: shared, static, valgrind -------------------------------------------------------
for kind in shared static; do
  if [ -x "$out/test_$kind" ]; then
    echo "--- C tests, $kind library"
    TK_TEST_LABEL=$kind "$out/test_$kind" 2>&1 | tee "$out/run-$kind.log"
    count "$out/run-$kind.log" "$kind" "${PIPESTATUS[0]}"
  fi
done

if [ -x "$out/test_shared" ]; then
  echo "--- C tests under valgrind memcheck (shared library)"
  start=$SECONDS
  TK_TEST_LABEL=valgrind valgrind -q --error-exitcode=99 --leak-check=full \
    --suppressions=ffi/tests/valgrind.supp \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --fair-sched=yes --child-silent-after-fork=yes "$out/test_shared" 2>&1 | tee "$out/run-valgrind.log"
  rc=${PIPESTATUS[0]}
  echo "valgrind run: $((SECONDS - start)) s"
  if [ "$rc" -eq 99 ]; then
    fail valgrind_no_errors_no_leaks
    count "$out/run-valgrind.log" valgrind 0
  else
    pass valgrind_no_errors_no_leaks
    count "$out/run-valgrind.log" valgrind "$rc"
  fi
fi

# ---- the example program ------------------------------------------------------------------
example_ok() {
  local bin=$1 token
  token=$(AUTH0_DOMAIN=$TK_ISSUER_URL AUTH0_CLIENT_ID=$TK_CLIENT_ID \
    AUTH0_CLIENT_SECRET=$TK_CLIENT_SECRET "$bin" https://api.example.com "read:things") || return 1
  # A JWT: three dot-separated segments.
  [ "$(tr -cd . <<<"$token" | wc -c)" -eq 2 ]
}
example_reports_oauth_error() {
  local err
  err=$(AUTH0_DOMAIN=$TK_ISSUER_URL AUTH0_CLIENT_ID=$TK_CLIENT_ID AUTH0_CLIENT_SECRET=wrong \
    "$out/get_token" https://api.example.com 2>&1 >/dev/null) && return 1
  grep -q "TK_STATUS_OAUTH" <<<"$err" && grep -q "access_denied (HTTP 401)" <<<"$err"
}
verify_example_ok() {
  local token claims err
  token=$(AUTH0_DOMAIN=$TK_ISSUER_URL AUTH0_CLIENT_ID=$TK_CLIENT_ID \
    AUTH0_CLIENT_SECRET=$TK_CLIENT_SECRET "$out/get_token" https://api.example.com) || return 1
  claims=$(AUTH0_DOMAIN=$TK_ISSUER_URL "$out/verify_token" https://api.example.com "$token") ||
    return 1
  grep -q "\"iss\":\"$TK_ISSUER\"" <<<"$claims" || return 1
  err=$(AUTH0_DOMAIN=$TK_ISSUER_URL "$out/verify_token" https://other.example.com "$token" 2>&1) &&
    return 1
  grep -q "rejected (audience)" <<<"$err"
}
check example_prints_a_token example_ok "$out/get_token"
check verify_example_prints_claims_and_names_a_rejection verify_example_ok
check example_from_installed_prefix_prints_a_token example_ok "$out/get_token_installed"
check example_from_cmake_consumer_prints_a_token example_ok "$out/cmake-build/get_token"
check static_example_from_cmake_consumer_prints_a_token example_ok "$out/cmake-build/get_token_static"
check example_reports_oauth_error example_reports_oauth_error

finish
