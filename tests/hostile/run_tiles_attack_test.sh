#!/usr/bin/env bash
# The public tiles endpoint as docs/tiles.md says to run it in production:
# Debian's nginx serving ktlog-server's --tiles_dir with
# tools/nginx/tiles.conf, attacked (tests/hostile/tiles_attack.py:
# slowloris, idle keep-alive, pipelining, huge headers, many ranges, other
# methods) while a reader keeps fetching the checkpoint and a tile.
set -euo pipefail
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/tilesattack.XXXXXX")
LOG_KEY=$(tools/ktlog-keygen --name=attack.example/log --out="$WORK/log.key")
log/ktlog-server --data_dir="$WORK/data" --key_file="$WORK/log.key" --plaintext \
  --lookups_per_minute=0 --writes_per_minute=0 --listen=127.0.0.1:0 \
  --tiles_dir="$WORK/tiles" >"$WORK/server.out" 2>"$WORK/server.log" &
PID=$!
NGINX_PID=""
cleanup() {
  kill -TERM $PID 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/server.out" && break; sleep 0.1; done
ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/server.out")
tools/ktlog-loadgen --plaintext --server="$ADDR" --log_key="$LOG_KEY" --writers=4 \
  --write_for=1s --readers=0 >"$WORK/loadgen.out"
for _ in $(seq 1 100); do [ -f "$WORK/tiles/tile/0/000" ] && break; sleep 0.1; done
[ -f "$WORK/tiles/tile/0/000" ] || { echo "no full tile written"; ls -R "$WORK/tiles"; exit 1; }

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
{
  echo "user root;"
  echo "daemon off;"
  sed -e "s|__LISTEN__|127.0.0.1:$PORT|" -e "s|__TILES_DIR__|$WORK/tiles|" \
    -e "s|__RUN_DIR__|$WORK/nginx|" tools/nginx/tiles.conf
} >"$WORK/nginx/nginx.conf"
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!
for _ in $(seq 1 100); do
  /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
  sleep 0.1
done
/usr/bin/python3 tests/hostile/tiles_attack.py "127.0.0.1:$PORT" /tile/0/000
