#!/usr/bin/env bash
# Read replicas (docs/scale.md), measured: how fast a fresh replica catches
# up with a log of $REPLICA_RECORDS records (default 20000; AppendRecords of
# 50, one device per account), with the replica's CPU per record as a
# ratio to this machine's Ed25519 verification; and how far a replica lags
# the log under a steady write load (from the log serving a checkpoint to
# the replica serving it, sampled every 10 ms), at --replica_poll 200ms (the
# default) and 1s. Run by tools/bench.sh; alone: bazel build -c opt the
# servers and tools, then BIN=$(bazel info -c opt bazel-bin) tools/replica_bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$(bazel info -c opt --noshow_progress bazel-bin 2>/dev/null)}
N=${REPLICA_RECORDS:-20000}
WORK=$(mktemp -d /tmp/ktlog-replica-bench.XXXXXX)
trap 'pkill -TERM -f "$WORK/" 2>/dev/null || true; sleep 0.5; rm -rf "$WORK"' EXIT
NO_LIMITS=(--lookups_per_minute=0 --writes_per_minute=0 --max_calls_per_address=0)

"$BIN/tools/ktlog-keygen" --name=replica.bench/log --out="$WORK/log.key" >/dev/null
"$BIN/tools/ktlog-keygen" --replica_key_from="$WORK/log.key" --out="$WORK/replica.key"
(umask 077; head -c 32 /dev/urandom | base64 >"$WORK/token")
"$BIN/log/ktlog-server" --data_dir="$WORK/log" --key_file="$WORK/log.key" --plaintext \
  "${NO_LIMITS[@]}" --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 \
  --private_feed_token_file="$WORK/token" >"$WORK/log.out" 2>"$WORK/log.err" &
for _ in $(seq 1 100); do grep -q "tiles at" "$WORK/log.out" && break; sleep 0.1; done
ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/log.out")
TILES=$(sed -n 's/.*tiles at \(.*\)$/\1/p' "$WORK/log.out")
KEY=$(sed -n 's/.*log key \(.*\)$/\1/p' "$WORK/log.out")

# replica NAME POLL: starts a replica on a fresh data dir; sets RPID, RTILES.
replica() {
  "$BIN/log/ktlog-server" --replica_of="$TILES" --log_key="$KEY" \
    --key_file="$WORK/replica.key" --feed_token_file="$WORK/token" \
    --data_dir="$WORK/$1" --plaintext --listen=127.0.0.1:0 \
    --http_listen=127.0.0.1:0 --replica_poll="$2" >"$WORK/$1.out" 2>"$WORK/$1.err" &
  RPID=$!
  for _ in $(seq 1 100); do grep -q "tiles at" "$WORK/$1.out" && break; sleep 0.05; done
  RTILES=$(sed -n 's/.*tiles at \(.*\)$/\1/p' "$WORK/$1.out")
}
size() {
  python3 -c "import urllib.request as u; print(u.urlopen('$1/checkpoint').read().decode().split('\n')[1])" 2>/dev/null || echo 0
}
cpu_s() {  # user+system seconds of process $1
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}
VERIFY_PER_S=$(openssl speed -seconds 2 ed25519 2>/dev/null | awk '/Ed25519/ && NF >= 7 { print $(NF) }' | tail -1)
echo "this machine: $VERIFY_PER_S Ed25519 verifications/s on one core (openssl speed)"

echo "-- a log of $N records (AppendRecords of 50 from 4 writers)"
"$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
  --writers=4 --batch=50 --writes="$N" --readers=0 --prefix=pre | grep -E "^writes"
TARGET=$(size "$TILES")
replica fresh 100ms
START=$(date +%s.%N)
while [ "$(size "$RTILES")" -lt "$TARGET" ]; do sleep 0.02; done
END=$(date +%s.%N)
python3 - "$START" "$END" "$TARGET" "$(cpu_s $RPID)" "$VERIFY_PER_S" <<'PY'
import sys
start, end, n, cpu, verify = map(float, sys.argv[1:])
us = cpu / n * 1e6
print(f"a fresh replica caught up with {n:.0f} records in {end - start:.1f} s "
      f"({n / (end - start):.0f} records/s); replica CPU {us:.0f} us per record "
      f"= {us * verify / 1e6:.1f} Ed25519 verifications")
PY
kill -TERM $RPID; wait $RPID 2>/dev/null || true

for poll in 200ms 1s; do
  replica "lag-$poll" "$poll"
  while [ "$(size "$RTILES")" -lt "$(size "$TILES")" ]; do sleep 0.05; done
  echo "-- lag under 8 writers for 15 s, --replica_poll=$poll"
  "$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
    --writers=8 --write_for=15s --readers=0 --prefix="lag$poll" | grep -E "^writes" &
  LOAD=$!
  python3 - "$TILES" "$RTILES" <<'PY'
import sys, time, urllib.request
log, rep = sys.argv[1:]
def size(url):
    return int(urllib.request.urlopen(url + "/checkpoint").read().decode().split("\n")[1])
seen = {}   # log size -> when the log first served it
lags = []
end = time.time() + 14
while time.time() < end:
    now = time.time()
    s = size(log)
    seen.setdefault(s, now)
    r = size(rep)
    for k in [k for k in seen if k <= r]:
        lags.append(now - seen.pop(k))
    time.sleep(0.01)
lags.sort()
q = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))] * 1000
print(f"replica lag behind the log's checkpoints ({len(lags)} checkpoints): "
      f"p50 {q(0.5):.0f} ms, p90 {q(0.9):.0f} ms, p99 {q(0.99):.0f} ms, max {lags[-1]*1000:.0f} ms")
PY
  wait $LOAD
  kill -TERM $RPID; wait $RPID 2>/dev/null || true
done
