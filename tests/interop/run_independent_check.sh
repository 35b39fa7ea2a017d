#!/usr/bin/env bash
# Runs the independent Python client with Debian's python3 (which has grpcio
# and cryptography) against a real ktlog-server.
set -euo pipefail
exec /usr/bin/python3 tests/interop/independent_check.py log/ktlog-server \
  "$(dirname "$(readlink -f tests/interop/ktlog_pb2.py)")"
