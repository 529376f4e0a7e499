# Shared by bindings/test-kotlin.sh and bindings/test-swift.sh (sourced, from the repository root).
#   build_bindings LANG   builds the library, the issuer and uniffi-bindgen, then generates LANG's
#                         sources from the compiled library into $GEN/LANG (never committed)
#   start_issuer          starts the local issuer on loopback and exports its fixture as TK_*
#   start_tls_issuer      starts a second issuer serving HTTPS (--tls) and exports TK_TLS_URL,
#                         TK_TLS_CLIENT_ID, TK_TLS_CLIENT_SECRET and its CA as TK_TLS_CA_PEM
#   counted NAME LOG CMD  one extra test, counted into passed/failed (the package tests)
#   kotlin_toolchain      installs and locates kotlinc, JNA, kotlinx-coroutines
# The issuers stop when the calling script exits.

TARGET=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])') || TARGET=
TARGET=${TARGET:-$PWD/target}
source scripts/platform.sh
LIB=$TARGET/debug/$(dylib tokenkeeper_uniffi)
GEN=$TARGET/uniffi
# What tokenkeeperVersion() must say: the workspace version.
TK_EXPECTED_VERSION=$(cargo pkgid -p tokenkeeper-uniffi | sed 's/.*[@#]//')
export TK_EXPECTED_VERSION

build_bindings() {
  local lang=$1
  # With `testing`: the tests count live objects (`liveObjects()`).
  cargo build --quiet -p tokenkeeper-uniffi -p tokenkeeper-issuer --features tokenkeeper-uniffi/testing || return 1
  [ -f "$LIB" ] || { echo "missing $LIB after the build"; return 1; }
  rm -rf "$GEN/$lang"
  "$TARGET/debug/uniffi-bindgen" generate --no-format --library "$LIB" \
    --language "$lang" --out-dir "$GEN/$lang" || return 1
}

ISSUER_PIDS=() ISSUER_FDS=() ISSUER_LINE=
stop_issuer() {
  local fd pid
  for fd in "${ISSUER_FDS[@]}"; do exec {fd}>&-; done
  for pid in "${ISSUER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  ISSUER_PIDS=() ISSUER_FDS=()
}

# launch_issuer [ARGS...]: starts one issuer; its fixture line goes to ISSUER_LINE.
launch_issuer() {
  local out=$GEN/issuer.$$ fifo=$GEN/issuer-stdin.$$ line="" pid fd
  mkdir -p "$GEN"
  rm -f "$out" "$fifo"
  mkfifo "$fifo"
  # The issuer serves until its stdin closes: this shell holds the write end of a fifo, so the
  # issuer stops when the script ends, however it ends (and stop_issuer kills it at once).
  "$TARGET/debug/tokenkeeper-issuer" "$@" <"$fifo" >"$out" &
  pid=$!
  ISSUER_PIDS+=("$pid")
  exec {fd}>"$fifo"
  ISSUER_FDS+=("$fd")
  rm -f "$fifo"
  for _ in $(seq 1 300); do
    # a whole line (ends with a newline), not a partly written one
    if [ "$(wc -l <"$out" 2>/dev/null || echo 0)" -ge 1 ]; then line=$(head -n 1 "$out"); break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$out"
  [ -n "$line" ] || { echo "the issuer did not start"; return 1; }
  ISSUER_LINE=$line
}

start_tls_issuer() {
  launch_issuer --tls || return 1
  eval "$(python3 -c '
import json, shlex, sys
f = json.loads(sys.argv[1])
for k in ("url", "client_id", "client_secret", "ca_pem"):
    print("export TK_TLS_%s=%s" % (k.upper(), shlex.quote(f[k])))
' "$ISSUER_LINE")"
  echo "TLS issuer at $TK_TLS_URL"
}

start_issuer() {
  local line
  launch_issuer || return 1
  line=$ISSUER_LINE
  eval "$(python3 -c '
import json, shlex, sys
f = json.loads(sys.argv[1])
for k in ("url", "issuer", "client_id", "client_secret", "jwt_client_id", "jwt_rsa_private_key",
          "jwt_ec_private_key", "ungranted_client_id", "ungranted_client_secret",
          "public_client_id", "web_client_id", "web_client_secret", "redirect_uri"):
    print("export TK_%s=%s" % (k.upper(), shlex.quote(f[k])))
extra = {"user_sub": f["user"]["sub"], "user_email": f["user"]["email"],
         "org_id": f["organizations"][0]["id"], "org_name": f["organizations"][0]["name"],
         "exchange_subject_token_type": f["exchange_subject_token_type"],
         "exchange_subject_token": f["exchange_subject_token"],
         "vault_connection": f["vault_connections"][0],
         "mrrt_audience": f["refresh_token_policies"][0]["audience"],
         "mrrt_scope": f["refresh_token_policies"][0]["scope"][0]}
for k, v in extra.items():
    print("export TK_%s=%s" % (k.upper(), shlex.quote(v)))
' "$line")"
  echo "issuer at $TK_URL"
}

# counted NAME LOG CMD...: one more test after a test program's own (the package tests): runs
# CMD, prints PASS or FAIL with the end of LOG, and adds to the caller's passed/failed.
counted() {
  local name=$1 log=$2
  shift 2
  if "$@"; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name:"
    tail -n 30 "$log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

# kotlin_toolchain: installs what Kotlin needs when missing (a JRE, JNA from Debian,
# kotlin-compiler from npm) and sets KOTLIN_VERSION, KOTLINC, COROUTINES, STDLIB, JNA; on failure
# returns 1 with the reason in TOOLCHAIN_ERROR.
KOTLIN_VERSION=2.4.20
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}
kotlin_toolchain() {
  TOOLCHAIN_ERROR=
  command -v java >/dev/null || apt_install openjdk-17-jre-headless ||
    { TOOLCHAIN_ERROR="cannot install a JRE"; return 1; }
  # JNA_JAR: a JNA jar of the caller's (the release workflow's macOS and Windows runners, which
  # have no Debian package); otherwise Debian's.
  JNA=${JNA_JAR:-/usr/share/java/jna.jar}
  [ -f "$JNA" ] || apt_install libjna-java ||
    { TOOLCHAIN_ERROR="cannot install libjna-java"; return 1; }
  command -v npm >/dev/null || { TOOLCHAIN_ERROR="npm is missing (Node 20 is a prerequisite)"; return 1; }
  local home installed f
  home=$(npm root -g)/kotlin-compiler
  installed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$home/package.json" 2>/dev/null)
  if [ "$installed" != "$KOTLIN_VERSION" ] || [ ! -x "$home/bin/kotlinc" ]; then
    npm install -g --no-fund --no-audit "kotlin-compiler@$KOTLIN_VERSION" >/dev/null ||
      { TOOLCHAIN_ERROR="cannot install kotlin-compiler@$KOTLIN_VERSION from npm"; return 1; }
  fi
  KOTLINC=$home/bin/kotlinc
  COROUTINES=$home/lib/kotlinx-coroutines-core-jvm.jar
  STDLIB=$home/lib/kotlin-stdlib.jar
  for f in "$KOTLINC" "$COROUTINES" "$STDLIB" "$JNA"; do
    [ -e "$f" ] || { TOOLCHAIN_ERROR="missing $f"; return 1; }
  done
}
