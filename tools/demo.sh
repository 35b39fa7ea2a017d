#!/usr/bin/env bash
# The ktlog demo (run by `tools/dev demo`, after the build): a real
# ktlog-server on its embedded RocksDB, real ktctl clients over gRPC. Every
# step checks what it prints; any failure stops the demo with a non-zero
# exit. Work files go to a fresh temp dir (kept with KEEP=1).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=$(bazel info --noshow_progress bazel-bin 2>/dev/null)
KEYGEN=$BIN/tools/ktlog-keygen
SERVER=$BIN/log/ktlog-server
KTCTL=$BIN/client/ktctl
ADMIN=$BIN/tools/ktlog-admin

WORK=$(mktemp -d /tmp/ktlog-demo.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "demo files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo "demo FAILED at line $LINENO (server log: $WORK/server.log)" >&2; KEEP=1' ERR

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$BIN/[a-z]*/||g; s|$WORK/||g"; "$@"; }
fail() { echo "demo FAILED: $*" >&2; exit 1; }

start_server() {
  "$SERVER" --data_dir="$WORK/data" --key_file="$WORK/log.key" \
    --listen=127.0.0.1:0 --checkpoint_interval=1s \
    >"$WORK/server.out" 2>>"$WORK/server.log" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$WORK/server.out" 2>/dev/null; then break; fi
    sleep 0.1
  done
  ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/server.out" | head -1)
  [ -n "$ADDR" ] || fail "the server did not start: $(cat "$WORK/server.log")"
  echo "ktlog-server (pid $SERVER_PID) is serving on $ADDR, data in data/"
}

step "1. The operator makes the log's signing key and starts the server"
echo '$ ktlog-keygen --name=demo.ktlog.example/log --out=log.key'
LOG_KEY=$("$KEYGEN" --name=demo.ktlog.example/log --out="$WORK/log.key")
echo "log verifier key (pinned by every client): $LOG_KEY"
start_server

alice() { run "$KTCTL" --state="$WORK/alice" --server="$ADDR" "$@"; }
bob() { run "$KTCTL" --state="$WORK/bob" --server="$ADDR" "$@"; }

step "2. Alice and Bob create accounts and register their phones"
alice init --account=alice@example.com --device=phone --log_key="$LOG_KEY"
alice register
bob init --account=bob@example.com --device=phone --log_key="$LOG_KEY"
bob register

step "3. Alice approves her laptop: a second device record, signed by her account key"
alice device add laptop
alice device list

step "4. Checkpoints are signed, and proofs verify against them"
alice checkpoint --raw
FIRST_ROOT=$("$KTCTL" --state="$WORK/alice" --server="$ADDR" --json checkpoint |
  /usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["size"], c["root"])')
alice proof inclusion --index=0
bob device add tablet
alice proof consistency --from="${FIRST_ROOT% *}" --from_root="${FIRST_ROOT#* }"

step "5. Bob looks up Alice: her complete device set, proved against the signed index root"
bob lookup alice@example.com
bob history alice@example.com
echo "(an account that does not exist is proved absent:)"
bob lookup mallory@example.com || [ $? -eq 1 ]

step "6. An auditor's view: the whole log, record by record"
alice entries --begin=0 --end=100

step "7. The server stops (SIGTERM) and restarts: nothing is lost, trust carries on"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || fail "unclean shutdown"
SERVER_PID=""
echo "while it is stopped, the operator checks every stored byte against the records:"
run "$ADMIN" fsck --data_dir="$WORK/data"
start_server
alice checkpoint
alice device remove laptop
bob lookup alice@example.com

step "demo complete: every checkpoint, inclusion and consistency proof verified"
