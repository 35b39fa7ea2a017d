#!/usr/bin/env bash
# The ktlog demo (run by `tools/dev demo`, after the build): a real
# ktlog-server on its embedded RocksDB and real ktctl clients over gRPC tell
# the whole story: two people register devices and compare safety codes, an
# attacker with a stolen account key slips a device into one account, and
# the owner's client raises the alert, with evidence. Every step checks its
# outcome; any failure stops the demo with a non-zero exit. Work files go to
# a fresh temp dir (kept with KEEP=1).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=$(bazel info --noshow_progress bazel-bin 2>/dev/null)
KEYGEN=$BIN/tools/ktlog-keygen
SERVER=$BIN/log/ktlog-server
KTCTL=$BIN/client/ktctl
ADMIN=$BIN/tools/ktlog-admin
AUDITOR=$BIN/auditor/ktlog-auditor

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
show() { printf '$ %s\n' "$*" | sed "s|$BIN/[a-z]*/||g; s|$WORK/||g"; }
run() { show "$@"; "$@"; }
fail() { echo "demo FAILED: $*" >&2; exit 1; }
# Runs a command that must exit with status $1.
expect_exit() {
  local want=$1; shift
  show "$@"
  set +e; "$@"; local got=$?; set -e
  [ "$got" -eq "$want" ] || fail "expected exit $want, got $got: $*"
  echo "(exit $got, as expected)"
}

start_server() {
  "$SERVER" --data_dir="$WORK/data" --key_file="$WORK/log.key" \
    --listen=127.0.0.1:0 --checkpoint_interval=1s --witness_keys="$WITNESS_KEY" \
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

step "1. The operator makes the log's signing key and starts the server; an independent auditor makes its witness key"
show ktlog-keygen --name=demo.ktlog.example/log --out=log.key
LOG_KEY=$("$KEYGEN" --name=demo.ktlog.example/log --out="$WORK/log.key")
echo "log verifier key (pinned by every client): $LOG_KEY"
show ktlog-keygen --name=auditor.example/witness --type=witness --out=witness.key
WITNESS_KEY=$("$KEYGEN" --name=auditor.example/witness --type=witness --out="$WORK/witness.key")
echo "witness verifier key (the log accepts its cosignatures): $WITNESS_KEY"
start_server

alice() { run "$KTCTL" --state="$WORK/alice" --server="$ADDR" "$@"; }
bob() { run "$KTCTL" --state="$WORK/bob" --server="$ADDR" "$@"; }
mallory() { run "$KTCTL" --state="$WORK/mallory" --server="$ADDR" "$@"; }
json() { "$KTCTL" --state="$WORK/$1" --server="$ADDR" --json "${@:2}"; }
audit() {
  run "$AUDITOR" --log="$ADDR" --log_key="$LOG_KEY" --key_file="$WORK/witness.key" \
    --state_dir="$WORK/auditor"
}
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])['$1'])"; }

step "2. Alice and Bob create accounts and register their phones; Alice adds her laptop"
alice init --account=alice@example.com --device=phone --log_key="$LOG_KEY"
alice register
bob init --account=bob@example.com --device=phone --log_key="$LOG_KEY"
bob register
alice device add laptop

step "3. Bob looks up Alice: her complete device set, proved against the signed index root"
bob lookup alice@example.com
echo "(an account that does not exist is proved absent:)"
expect_exit 1 "$KTCTL" --state="$WORK/bob" --server="$ADDR" lookup mallory@example.com

step "4. Alice and Bob meet and compare safety codes"
alice code show bob@example.com
bob code show alice@example.com --qr --out="$WORK/bob-alice-code.svg"
echo "Bob scans the QR code on Alice's phone:"
ALICE_QR=$(json alice code show bob@example.com | field scannable)
bob code compare alice@example.com "$ALICE_QR"
echo "Alice types in the digits from Bob's phone:"
BOB_DIGITS=$(json bob code show alice@example.com | field code)
alice code compare bob@example.com "$BOB_DIGITS"
bob contact list

step "5. The auditor replays the whole log, recomputes every root, and cosigns; Bob now requires its cosignature"
audit
bob policy --witnesses="$WITNESS_KEY" --witness_quorum=1
bob checkpoint --raw

step "6. Mallory steals a copy of Alice's account key and slips her own device into Alice's account"
cp -r "$WORK/alice" "$WORK/mallory"
mallory device add mallory-tablet
echo "To everyone else this device looks legitimate: it is signed by Alice's key,"
echo "so the auditor verifies and cosigns it too, and Bob's client sees nothing wrong:"
audit
bob monitor

step "7. Alice's client checks her account and raises the alert"
expect_exit 3 "$KTCTL" --state="$WORK/alice" --server="$ADDR" monitor
alice alerts
ALERT=$(json alice alerts | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
echo "The evidence Alice can show anyone (a signed checkpoint and the record, with its inclusion proof):"
"$KTCTL" --state="$WORK/alice" alerts show "$ALERT" | head -n 12
echo "  ..."
echo "Alice removes the device and rotates her account key; Bob's client notices the new key:"
alice device remove mallory-tablet
alice rotate-key
audit
expect_exit 3 "$KTCTL" --state="$WORK/bob" --server="$ADDR" monitor
echo "so they compare codes again:"
bob code compare alice@example.com "$(json alice code show bob@example.com | field scannable)"

step "8. The whole log, record by record"
alice entries --begin=0 --end=100

step "9. The server stops (SIGTERM); the operator checks every stored byte; it restarts"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || fail "unclean shutdown"
SERVER_PID=""
run "$ADMIN" fsck --data_dir="$WORK/data"
start_server
alice checkpoint
bob lookup alice@example.com

step "demo complete: every checkpoint, proof and lookup verified, the log audited and cosigned; the attack was caught"
