#!/usr/bin/env bash
# Runs docs/deploy.md's ```sh blocks, in order, exactly as written: an
# operator, a witness and two users on one machine (issue 26). The guide's
# own checks (test, grep, exit codes) make a failure stop the run; the
# commands are echoed as they run.
set -euo pipefail
RUNFILES=$PWD
export HOME
HOME=$(mktemp -d "${TEST_TMPDIR:-/tmp}/deploy.XXXXXX")
export PATH="$RUNFILES/log:$RUNFILES/client:$RUNFILES/auditor:$RUNFILES/tools:$PATH"
SCRIPT=$HOME/guide.sh
{
  # Whatever the guide started in the background ends with the run.
  echo 'trap '\''kill $(jobs -p) 2>/dev/null || true'\'' EXIT'
  awk '/^```sh$/ {on = 1; next} /^```/ {on = 0} on' docs/deploy.md
} >"$SCRIPT"
BLOCKS=$(grep -c '^```sh$' docs/deploy.md)
echo "running the $BLOCKS command blocks of docs/deploy.md"
[ "$BLOCKS" -ge 10 ]
if ! bash -euo pipefail -x "$SCRIPT"; then
  echo "--- server.log"; cat "$HOME/ktlog-trial/server.log" || true
  echo "--- witness.log"; cat "$HOME/ktlog-trial/witness.log" || true
  exit 1
fi
echo "deploy guide test passed"
