#!/usr/bin/env bash
# Benchmarks (run by `tools/dev bench`): the core microbenchmarks (Google
# Benchmark), the account index's rebuild and updates (10^5 to 10^8
# accounts: about two minutes and 14.5 GB of memory at its peak), the
# account-index proof
# sizes, and the load generator against
# a real ktlog-server on a fresh data dir. Optimised build (-c opt). Results
# are recorded, with the machine, in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build --noshow_progress -c opt //core:core_benchmark //tools:proof_sizes \
  //log:index_versions_benchmark \
  //tools:ktlog-loadgen //tools:ktlog-keygen //log:ktlog-server \
  //auditor:ktlog-auditor
BIN=$(bazel info -c opt --noshow_progress bazel-bin 2>/dev/null)
WORK=$(mktemp -d /tmp/ktlog-bench.XXXXXX)
trap 'pkill -TERM -f "$WORK/" 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "== machine"
lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core)' || true
free -g | head -2
echo

echo "== core microbenchmarks"
"$BIN/core/core_benchmark" "$@"
echo

echo "== account index: rebuilt at start-up, batch updates, growth"
"$BIN/log/index_versions_benchmark"
echo

echo "== account index proof sizes"
"$BIN/tools/proof_sizes"
echo

# Starts ktlog-server on a fresh data dir $WORK/$1 with flags $2... (and
# --plaintext unless they name a TLS certificate); sets PID and ADDR.
start_server() {
  local dir=$WORK/$1
  shift
  mkdir -p "$dir"
  local transport=(--plaintext)
  case " $* " in *" --tls_cert="*) transport=() ;; esac
  "$BIN/log/ktlog-server" --data_dir="$dir/data" --key_file="$WORK/log.key" \
    "${transport[@]}" --listen=127.0.0.1:0 "$@" >"$dir/server.out" 2>"$dir/server.log" &
  PID=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$dir/server.out" 2>/dev/null && break
    sleep 0.1
  done
  ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$dir/server.out" | head -1)
}
# One load generator is one address: no per-address limits.
NO_LIMITS=(--lookups_per_minute=0 --writes_per_minute=0 --max_calls_per_address=0)

echo "== load generator against ktlog-server (fresh data dir)"
KEY=$("$BIN/tools/ktlog-keygen" --name=bench.example/log --out="$WORK/log.key")
start_server main "${NO_LIMITS[@]}"
for writers in 8 32 64; do
  echo "-- $writers writers (records signed beforehand), 8 verifying readers"
  "$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
    --server_pid=$PID --writers=$writers --writes=40000 --readers=8 \
    --read_for=10s --prefix="w$writers"
done
echo "-- a front end's calls: AppendRecords of 50 records from 4 writers"
"$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
  --server_pid=$PID --writers=4 --batch=50 --writes=40000 --readers=0 \
  --prefix=batch
echo "-- write to signed checkpoint at full load: 4 writers waiting for their"
echo "   checkpoint (the second run) beside 32 that do not (the first)"
"$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
  --server_pid=$PID --writers=32 --writes=40000 --readers=0 --prefix=load &
LOAD=$!
sleep 3 # the first signs its records before its timed phase
"$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
  --writers=4 --writes=400 --readers=0 --wait_for_checkpoint --prefix=covered
wait $LOAD
echo "-- lookups without verification (the server alone)"
"$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
  --server_pid=$PID --writers=8 --writes=1000 --readers=8 --read_for=10s \
  --verify_reads=false --prefix=unverified | tee "$WORK/main/last.out"
kill -TERM $PID
wait $PID || true
# The load generator's records: accounts of 3 devices, all history kept.
entries=$(sed -n 's/.*checkpoint of size \([0-9]*\).*/\1/p' "$WORK/main/last.out" | tail -1)
echo "bytes on disk per entry: $(($(du -sb "$WORK/main/data" | cut -f1) / entries)) ($entries entries)"
# Where they go: raw key + value bytes per entry by key type (the layout is
# in log/storage/layout.h), after a compaction (ldb, from rocksdb-tools).
ldb --db="$WORK/main/data" compact >/dev/null
echo "bytes on disk per entry, compacted: $(($(du -sb "$WORK/main/data" | cut -f1) / entries))"
ldb --db="$WORK/main/data" scan --hex | awk -v n="$entries" '
  function hex(h) { return index("0123456789abcdef", substr(h, 1, 1)) * 16 - 16 + index("0123456789abcdef", substr(h, 2, 1)) - 1 }
  { t = tolower(substr($1, 3, 2)); bytes[t] += (length($1) + length($3) - 4) / 2 }
  END { for (t in bytes) printf "  key %c: %.1f bytes per entry\n", hex(t), bytes[t] / n }' |
  sort
echo

# The per-address rate limiter (one mutex per lookup and write) switched
# on with limits too high to bind, against switched off: its cost.
echo "== rate limiter off / on (not binding), fresh data dirs"
for limits in off on; do
  if [ $limits = off ]; then flags=("${NO_LIMITS[@]}"); else
    flags=(--lookups_per_minute=1000000 --lookup_burst=1000000
      --writes_per_minute=1000000 --write_burst=1000000)
  fi
  start_server "limits-$limits" "${flags[@]}"
  echo "-- rate limiter $limits: 32 writers, 8 readers without verification"
  "$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$KEY" \
    --server_pid=$PID --writers=32 --writes=20000 --readers=8 \
    --read_for=10s --verify_reads=false --prefix=limits
  kill -TERM $PID
  wait $PID || true
done
echo

# The setup docs/security.md recommends (TLS, a registration key, the rate
# limits a front end writing for many users from one address would get)
# against plaintext with no registration and no limits: what they cost.
echo "== as deployed (TLS, registration, limits) / plaintext, fresh data dirs"
mkdir -p "$WORK/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$WORK/tls/server.key" -out "$WORK/tls/server.pem" -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
chmod 600 "$WORK/tls/server.key"
"$BIN/tools/ktlog-keygen" --type=registration --out="$WORK/registration.key" >/dev/null
for mode in plaintext deployed; do
  if [ $mode = plaintext ]; then
    flags=("${NO_LIMITS[@]}")
    client=(--plaintext)
  else
    flags=(--tls_cert="$WORK/tls/server.pem" --tls_key="$WORK/tls/server.key"
      --registration_key="$WORK/registration.key"
      --lookups_per_minute=600000 --lookup_burst=2000
      --writes_per_minute=600000 --write_burst=2000)
    client=(--ca_file="$WORK/tls/server.pem" --registration_key="$WORK/registration.key")
  fi
  start_server "mode-$mode" "${flags[@]}"
  echo "-- $mode: 32 writers, one per call; 8 readers without verification"
  "$BIN/tools/ktlog-loadgen" "${client[@]}" --server="$ADDR" --log_key="$KEY" \
    --server_pid=$PID --writers=32 --writes=20000 --readers=8 \
    --read_for=10s --verify_reads=false --prefix=single
  echo "-- $mode: AppendRecords of 50 from 4 writers"
  "$BIN/tools/ktlog-loadgen" "${client[@]}" --server="$ADDR" --log_key="$KEY" \
    --server_pid=$PID --writers=4 --batch=50 --writes=20000 --readers=0 \
    --prefix=batch
  kill -TERM $PID
  wait $PID || true
done
echo

echo "== push witnessing (C2SP tlog-witness): two witnesses on this machine"
echo "-- 32 writers; a probe write every 100 ms timed from acknowledged to a"
echo "   checkpoint covering it served with 2 of 2 cosignatures"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
W1=$("$BIN/tools/ktlog-keygen" --name=w1.bench --type=witness --out="$WORK/w1.key")
W2=$("$BIN/tools/ktlog-keygen" --name=w2.bench --type=witness --out="$WORK/w2.key")
P1=$(free_port)
P2=$(free_port)
start_server push "${NO_LIMITS[@]}" --witness_keys="$W1,$W2" \
  --witness_urls="w1.bench=http://127.0.0.1:$P1,w2.bench=http://127.0.0.1:$P2"
PUSH_KEY=$(sed -n 's/^ktlog-server: log key //p' "$WORK/push/server.out")
WITNESS_PIDS=()
for i in 1 2; do
  port=$P1
  [ $i = 2 ] && port=$P2
  "$BIN/auditor/ktlog-auditor" --plaintext --log="$ADDR" --log_key="$PUSH_KEY" \
    --key_file="$WORK/w$i.key" --state_dir="$WORK/push/w$i" \
    --listen=127.0.0.1:$port >"$WORK/push/w$i.out" 2>&1 &
  WITNESS_PIDS+=($!)
done
sleep 2
"$BIN/tools/ktlog-loadgen" --plaintext --server="$ADDR" --log_key="$PUSH_KEY" \
  --server_pid=$PID --witness_pid="${WITNESS_PIDS[0]}" --writers=32 \
  --write_for=20s --readers=0 --cosigned_quorum=2 --prefix=push
kill -TERM $PID "${WITNESS_PIDS[@]}"
wait $PID || true
echo

echo "== read replicas (docs/scale.md)"
BIN="$BIN" tools/replica_bench.sh
echo

echo "== how cost grows (${SIZES:-10000 100000 1000000} entries)"
BIN="$BIN" tools/scale_bench.sh
