#!/usr/bin/env bash
# How cost grows with the log (run by tools/bench.sh; docs/benchmarks.md):
# one data dir grown to each size in SIZES (default 10^4, 10^5, 10^6
# entries) with ktlog-loadgen --preload; at each size: 10,000 timed writes
# (signed beforehand) one per call and 10,000 in AppendRecords calls, lookups with and without verification, the server's
# CPU per operation, bytes on disk per entry, the server's start-up time
# on that data dir, and an auditor catching up from nothing over the tiles.
# Optimised build; BIN is the bazel-bin of `-c opt`.
set -euo pipefail
BIN=${BIN:?set BIN to the -c opt bazel-bin}
SIZES=${SIZES:-10000 100000 1000000}
PRELOAD_DEVICES=${PRELOAD_DEVICES:-1}  # devices per preloaded account
WORK=$(mktemp -d /tmp/ktlog-scale.XXXXXX)
trap 'pkill -TERM -f "$WORK/data" 2>/dev/null || true; sleep 1; rm -rf "$WORK"' EXIT
KEY=$("$BIN/tools/ktlog-keygen" --name=scale.example/log --out="$WORK/log.key")
WKEY=$("$BIN/tools/ktlog-keygen" --name=w.example --type=witness --out="$WORK/w.key")

start_server() {
  local t0
  t0=$(date +%s.%N)
  "$BIN/log/ktlog-server" --data_dir="$WORK/data" --key_file="$WORK/log.key" --lookups_per_minute=0 --writes_per_minute=0 --max_calls_per_address=0 --plaintext \
    --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --witness_keys="$WKEY" \
    >"$WORK/server.out" 2>>"$WORK/server.log" &
  PID=$!
  until grep -q "tiles at" "$WORK/server.out" 2>/dev/null; do sleep 0.05; done
  STARTUP=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
  ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/server.out")
  TILES=$(sed -n 's/.*tiles at \(.*\)$/\1/p' "$WORK/server.out")
}
stop_server() {
  echo "server peak memory: $(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$PID/status")"
  kill -TERM "$PID"
  wait "$PID" || true
}

start_server
have=0
for n in $SIZES; do
  echo "== $n entries"
  "$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
    --server_pid="$PID" --prefix="s$n" --preload=$((n - have)) \
    --preload_devices="$PRELOAD_DEVICES" --writers=32 \
    --writes=10000 --readers=8 --read_for=10s --samples=100 | grep -v "^checked"
  "$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
    --server_pid="$PID" --prefix="u$n" --writers=8 --writes=100 --readers=8 \
    --read_for=10s --verify_reads=false --samples=10 | grep "lookups"
  echo "-- a front end's calls (AppendRecords of 50 records, 4 writers):"
  "$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
    --server_pid="$PID" --prefix="b$n" --writers=4 --batch=50 \
    --writes=10000 --readers=0 --samples=100 | grep "writes"
  have=$((n + 20100))
  stop_server
  echo "bytes on disk per entry: $(( $(du -sb "$WORK/data" | cut -f1) / have ))"
  start_server
  echo "server start-up on $have entries: ${STARTUP} s"
  rm -rf "$WORK/auditor"
  t0=$(date +%s.%N)
  "$BIN/auditor/ktlog-auditor" --plaintext --log="$ADDR" --tiles="$TILES" --log_key="$KEY" \
    --key_file="$WORK/w.key" --state_dir="$WORK/auditor" >/dev/null
  echo "auditor catch-up over the tiles: $have entries in $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') s"
done
stop_server
