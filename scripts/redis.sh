# A Redis server for the tests of every surface (sourced, from the repository root):
#   start_redis   installs redis-server from Debian when missing, starts one on a free loopback
#                 port and a unix socket, without persistence, in a temporary directory, and
#                 exports TOKENKEEPER_TEST_REDIS_URL (redis://127.0.0.1:PORT/0) and
#                 TOKENKEEPER_TEST_REDIS_SOCKET (its socket path). Returns non-zero when it
#                 cannot: a missing Redis is a failure, never a skip.
#   stop_redis    stops it now.
# The server also stops by itself when the sourcing script ends, however it ends: a watcher
# waits on a fifo whose write end only this shell holds.

REDIS_PID= REDIS_DIR= REDIS_FD=

stop_redis() {
  if [ -n "$REDIS_FD" ]; then exec {REDIS_FD}>&-; REDIS_FD=; fi
  if [ -n "$REDIS_PID" ]; then
    kill "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
  fi
  [ -z "$REDIS_DIR" ] || rm -rf "$REDIS_DIR"
  REDIS_DIR=
}

start_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "installing redis-server"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } \
      >/dev/null 2>&1 || { echo "redis: cannot install redis-server"; return 1; }
  fi
  REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tokenkeeper-redis.XXXXXX") || return 1
  local port sock=$REDIS_DIR/redis.sock fifo=$REDIS_DIR/alive
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
    { echo "redis: no free port"; return 1; }
  redis-server --bind 127.0.0.1 --port "$port" --unixsocket "$sock" --unixsocketperm 700 \
    --save "" --appendonly no --dir "$REDIS_DIR" --daemonize no --logfile "$REDIS_DIR/redis.log" \
    >/dev/null 2>&1 &
  REDIS_PID=$!
  mkfifo "$fifo"
  # The watcher stops the server once nobody holds the fifo's write end (this shell ended).
  (read -r _ <"$fifo"; kill "$REDIS_PID" 2>/dev/null) >/dev/null 2>&1 &
  exec {REDIS_FD}>"$fifo"
  for _ in $(seq 1 100); do
    if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
      export TOKENKEEPER_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
      export TOKENKEEPER_TEST_REDIS_SOCKET=$sock
      echo "redis at $TOKENKEEPER_TEST_REDIS_URL and unix://$sock (pid $REDIS_PID)"
      return 0
    fi
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "redis: the server did not start"
  tail -n 20 "$REDIS_DIR/redis.log" 2>/dev/null
  stop_redis
  return 1
}
