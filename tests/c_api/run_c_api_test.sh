#!/usr/bin/env bash
# Starts a ktlog-server and runs tests/c_api/c_api_test.py against it with
# the client library's shared library (issue 21).
set -euo pipefail
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/capi.XXXXXX")
LOG_KEY=$(tools/ktlog-keygen --name=capi.example/log --out="$WORK/log.key")
tools/ktlog-keygen --type=registration --out="$WORK/registration.key" >/dev/null
log/ktlog-server --data_dir="$WORK/data" --key_file="$WORK/log.key" --plaintext \
  --registration_key="$WORK/registration.key" \
  --listen=127.0.0.1:0 >"$WORK/server.out" 2>"$WORK/server.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/server.out" && break; sleep 0.1; done
ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/server.out")
PYTHONPATH=verifier/c /usr/bin/python3 tests/c_api/c_api_test.py \
  verifier/c/libktlog_client.so "$ADDR" "$LOG_KEY" tools/ktlog-admin \
  "$WORK/registration.key" || {
  echo "--- server.log"; cat "$WORK/server.log"; exit 1; }
