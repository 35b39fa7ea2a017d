#!/usr/bin/env bash
# A real nginx (Debian's) as a caching proxy in front of ktlog-server's
# C2SP tiles: an auditor follows the log through the cache and cosigns; a
# second auditor that starts from nothing is served every tile and bundle
# from nginx's cache (the log's HTTP server sees none of those requests).
set -euo pipefail
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/nginx.XXXXXX")
LOG_KEY=$(tools/ktlog-keygen --name=nginx.example/log --out="$WORK/log.key")
WITNESS=$(tools/ktlog-keygen --name=w.example --type=witness --out="$WORK/w.key")
log/ktlog-server --data_dir="$WORK/data" --key_file="$WORK/log.key" --lookups_per_minute=0 --writes_per_minute=0 --plaintext \
  --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --witness_keys="$WITNESS" \
  >"$WORK/server.out" 2>"$WORK/server.log" &
PID=$!
NGINX_PID=""
cleanup() {
  kill -TERM $PID 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q "tiles at" "$WORK/server.out" && break; sleep 0.1; done
ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/server.out")
UPSTREAM=$(sed -n 's/.*tiles at \(.*\)$/\1/p' "$WORK/server.out")
tools/ktlog-loadgen --plaintext --server="$ADDR" --log_key="$LOG_KEY" --writers=4 \
  --write_for=1s --readers=0 >"$WORK/loadgen.out"

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx/tmp" "$WORK/nginx/cache"
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
user root;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events {}
http {
  log_format cache '\$request_uri \$upstream_cache_status';
  access_log $WORK/nginx/access.log cache;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  proxy_cache_path $WORK/nginx/cache levels=1:2 keys_zone=tiles:10m;
  server {
    listen 127.0.0.1:$PORT;
    location / {
      proxy_pass $UPSTREAM;
      proxy_cache tiles;
    }
  }
}
CONF
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!
for _ in $(seq 1 100); do
  /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
  sleep 0.1
done

audit() {
  auditor/ktlog-auditor --plaintext --log="$ADDR" --tiles="http://127.0.0.1:$PORT" \
    --log_key="$LOG_KEY" --key_file="$WORK/w.key" --state_dir="$WORK/$1" \
    --page=1000
}
audit first | tee "$WORK/first.out"
grep -q "cosigned" "$WORK/first.out"
: >"$WORK/nginx/access.log.mark"
LINES=$(wc -l <"$WORK/nginx/access.log")
audit second | tee "$WORK/second.out"
grep -q "verified" "$WORK/second.out"
tail -n +$((LINES + 1)) "$WORK/nginx/access.log" >"$WORK/second.log"
TILE_REQUESTS=$(grep -c '^/tile/' "$WORK/second.log" || true)
TILE_HITS=$(grep -c '^/tile/.* HIT$' "$WORK/second.log" || true)
echo "second auditor: $TILE_REQUESTS tile requests, $TILE_HITS served from nginx's cache"
[ "$TILE_REQUESTS" -gt 0 ]
[ "$TILE_REQUESTS" -eq "$TILE_HITS" ] || { cat "$WORK/second.log"; exit 1; }
# The checkpoint is never served from the cache.
! grep -q '^/checkpoint HIT$' "$WORK/nginx/access.log"
echo "nginx cache test passed"
