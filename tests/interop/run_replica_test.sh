#!/usr/bin/env bash
# Read replicas behind nginx (docs/scale.md): a log, two read replicas that
# follow its tiles and private feed, a witness that cosigns the log, and
# Debian's nginx as the gRPC load balancer in front of all three (writes
# and the witness's calls to the log, every read to the replicas). Clients
# pinned to the log key (with its witness) write and verify through nginx
# alone, under load; a replica is killed (SIGKILL) and restarted under
# load and catches up; nobody raises an alert.
set -euo pipefail
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/replicas.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$WORK"/*.log "$WORK"/nginx/error.log; do echo "== $f"; tail -20 "$f"; done >&2; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # FILE TEXT
  for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "$1 never said \"$2\""
}
NO_LIMITS="--lookups_per_minute=0 --writes_per_minute=0 --max_calls_per_address=0"

WITNESS=$(tools/ktlog-keygen --name=w.example --type=witness --out="$WORK/w.key")
tools/ktlog-keygen --name=replicas.example/log --out="$WORK/log.key" >/dev/null
tools/ktlog-keygen --replica_key_from="$WORK/log.key" --out="$WORK/replica.key"
(umask 077; head -c 32 /dev/urandom | base64 >"$WORK/feed.token")

log/ktlog-server --data_dir="$WORK/log" --key_file="$WORK/log.key" --plaintext $NO_LIMITS \
  --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --witness_keys="$WITNESS" \
  --private_feed_token_file="$WORK/feed.token" >"$WORK/log.out" 2>"$WORK/log.log" &
PIDS+=($!)
wait_for "$WORK/log.out" "tiles at"
LOG=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/log.out")
TILES=$(sed -n 's/.*tiles at \(.*\)$/\1/p' "$WORK/log.out")
LOG_KEY=$(sed -n 's/.*log key \(.*\)$/\1/p' "$WORK/log.out")

R_PORT=($(free_port) $(free_port))
REPLICA_PID=()
replica() {  # N: starts replica N on its port (again)
  log/ktlog-server --replica_of="$TILES" --log_key="$LOG_KEY" --key_file="$WORK/replica.key" \
    --feed_token_file="$WORK/feed.token" --data_dir="$WORK/replica$1" --plaintext $NO_LIMITS \
    --listen=127.0.0.1:${R_PORT[$1]} --http_listen=127.0.0.1:0 --replica_poll=100ms \
    >"$WORK/replica$1.out" 2>>"$WORK/replica$1.log" &
  REPLICA_PID[$1]=$!
  PIDS+=($!)
  wait_for "$WORK/replica$1.out" "read replica of"
}
replica 0
replica 1
# Its own tiles: the size of the checkpoint replica N serves.
replica_size() {
  local url
  url=$(sed -n 's/.*tiles at \(.*\)$/\1/p' "$WORK/replica$1.out" | tail -1)
  /usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('$url/checkpoint').read().decode().split('\n')[1])" 2>/dev/null || echo 0
}
log_size() {
  /usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('$TILES/checkpoint').read().decode().split('\n')[1])"
}

PORT=$(free_port)
mkdir -p "$WORK/nginx/tmp"
sed -e "s|@WORK@|$WORK/nginx|g" -e "s|@PORT@|$PORT|g" -e "s|@LOG@|$LOG|g" \
  -e "s|@REPLICA0@|127.0.0.1:${R_PORT[0]}|g" -e "s|@REPLICA1@|127.0.0.1:${R_PORT[1]}|g" \
  tools/nginx/replicas.conf >"$WORK/nginx/nginx.conf"
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
for _ in $(seq 1 100); do
  /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
  sleep 0.1
done
LB=127.0.0.1:$PORT

# The witness cosigns the log on its own schedule, through nginx too.
auditor/ktlog-auditor --plaintext --log="$LB" --log_key="$LOG_KEY" --key_file="$WORK/w.key" \
  --state_dir="$WORK/witness" --follow --interval=200ms >"$WORK/witness.out" 2>"$WORK/witness.log" &
PIDS+=($!)

ktctl() { client/ktctl --plaintext --state="$WORK/$1" --server="$LB" --wait=1m "${@:2}"; }
ktctl alice init --account=alice@example.com --device=phone --log_key="$LOG_KEY" >/dev/null
ktctl bob init --account=bob@example.com --device=phone --log_key="$LOG_KEY" >/dev/null
ktctl alice register >"$WORK/alice.register" 2>&1 || fail "alice could not register through nginx: $(cat "$WORK/alice.register")"
ktctl bob register >"$WORK/bob.register" 2>&1 || fail "bob could not register through nginx: $(cat "$WORK/bob.register")"
ktctl bob contact add alice@example.com >/dev/null || fail "bob could not add alice"

# Load through nginx: writers to the log, verified readers on the replicas.
tools/ktlog-loadgen --plaintext --server="$LB" --log_key="$LOG_KEY" --writers=2 \
  --write_for=12s --readers=0 >"$WORK/load.out" 2>"$WORK/load.log" &
LOAD=$!
tools/ktlog-loadgen --plaintext --server="$LB" --log_key="$LOG_KEY" --writers=1 \
  --writes=100 --readers=2 --read_for=12s --read_batch=10 >"$WORK/reads.out" 2>"$WORK/reads.log" &
READS=$!
sleep 2
kill -KILL "${REPLICA_PID[0]}"
echo "replica 0 killed at log size $(log_size)"
ktctl alice device add laptop >/dev/null || fail "alice could not add her laptop"
monitor_all() {
  for who in alice bob; do
    ktctl "$who" monitor >"$WORK/$who.monitor" 2>&1 || fail "$who's monitor: $(cat "$WORK/$who.monitor")"
  done
}
monitor_all
sleep 2
replica 0
BEHIND=$(( $(log_size) - $(replica_size 0) ))
echo "replica 0 restarted $BEHIND records behind"
for _ in $(seq 1 600); do
  [ "$(replica_size 0)" -ge "$(log_size)" ] && break
  sleep 0.05
done
wait $LOAD || fail "the load generator failed: $(tail -5 "$WORK/load.out")"
wait $READS || fail "the verified reads failed: $(tail -5 "$WORK/reads.out")"
TARGET=$(log_size)
for n in 0 1; do
  for _ in $(seq 1 600); do [ "$(replica_size $n)" -ge "$TARGET" ] && break; sleep 0.05; done
  [ "$(replica_size $n)" -ge "$TARGET" ] || fail "replica $n did not catch up with size $TARGET"
done
echo "both replicas at size $TARGET"
monitor_all
ktctl bob lookup alice@example.com >"$WORK/lookup.out" || fail "bob's lookup"
grep -q laptop "$WORK/lookup.out" || fail "bob does not see alice's laptop: $(cat "$WORK/lookup.out")"
[ "$(ktctl alice alerts --json)" = "[]" ] || fail "alice has alerts: $(ktctl alice alerts)"
[ "$(ktctl bob alerts --json)" = "[]" ] || fail "bob has alerts: $(ktctl bob alerts)"
! grep -q "DATA_LOSS\|halted\|stopped following" "$WORK"/replica*.log || fail "a replica refused the log"
grep -q "cosigned" "$WORK/witness.out" || fail "the witness cosigned nothing"
grep -E "^writes" "$WORK/load.out"
grep -E "^verified lookups" "$WORK/reads.out" || fail "no verified lookups: $(cat "$WORK/reads.out")"
echo "replica test passed"
