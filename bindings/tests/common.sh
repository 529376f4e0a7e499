# Shared by bindings/test-kotlin.sh and bindings/test-swift.sh (sourced, from the repository root).
#   build_bindings LANG   builds the library, the issuer and uniffi-bindgen, then generates LANG's
#                         sources from the compiled library into $GEN/LANG (never committed)
#   start_issuer          starts the local issuer on loopback and exports its fixture as TK_*
#   start_tls_issuer      starts a second issuer serving HTTPS (--tls) and exports TK_TLS_URL,
#                         TK_TLS_CLIENT_ID, TK_TLS_CLIENT_SECRET and its CA as TK_TLS_CA_PEM
# The issuers stop when the calling script exits.

TARGET=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])') || TARGET=
TARGET=${TARGET:-$PWD/target}
LIB=$TARGET/debug/libtokenkeeper_uniffi.so
GEN=$TARGET/uniffi
# What tokenkeeperVersion() must say: the workspace version.
TK_EXPECTED_VERSION=$(cargo pkgid -p tokenkeeper-uniffi | sed 's/.*[@#]//')
export TK_EXPECTED_VERSION

build_bindings() {
  local lang=$1
  cargo build --quiet -p tokenkeeper-uniffi -p tokenkeeper-issuer || return 1
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
         "org_id": f["organizations"][0]["id"], "org_name": f["organizations"][0]["name"]}
for k, v in extra.items():
    print("export TK_%s=%s" % (k.upper(), shlex.quote(v)))
' "$line")"
  echo "issuer at $TK_URL"
}
