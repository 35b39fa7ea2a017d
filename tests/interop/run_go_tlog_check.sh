#!/usr/bin/env bash
# Starts a real ktlog-server serving its C2SP tiles over HTTP, writes
# records with ktlog-loadgen, and checks the tiles with Go's
# golang.org/x/mod (sumdb/note, sumdb/tlog) from Debian, offline.
set -euo pipefail
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/go-tlog.XXXXXX")
KEY=$(tools/ktlog-keygen --name=go.example/log --out="$WORK/log.key")
log/ktlog-server --data_dir="$WORK/data" --key_file="$WORK/log.key" --lookups_per_minute=0 --writes_per_minute=0 --plaintext \
  --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 >"$WORK/server.out" 2>"$WORK/server.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "tiles at" "$WORK/server.out" && break; sleep 0.1; done
ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/server.out")
URL=$(sed -n 's/.*tiles at \(.*\)$/\1/p' "$WORK/server.out")
tools/ktlog-loadgen --plaintext --server="$ADDR" --log_key="$KEY" --writers=4 \
  --write_for=1500ms --readers=0 >"$WORK/loadgen.out"
export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS=-buildvcs=false \
  GOCACHE="$WORK/gocache" HOME="$WORK"
/usr/bin/go run tests/interop/go_tlog_check.go "$URL" "${KEY%%,vrf=*}"
