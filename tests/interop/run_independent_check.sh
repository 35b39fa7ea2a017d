#!/usr/bin/env bash
# Runs the independent Python client with Debian's python3 (which has grpcio
# and cryptography) against a real ktlog-server. Its VRF verification is the
# independent pure-Python RFC 9381 implementation in tools/vectors/ecvrf.py.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 tests/interop/independent_check.py log/ktlog-server \
  "$(dirname "$(readlink -f tests/interop/ktlog_pb2.py)")" \
  "$(dirname "$(readlink -f tools/vectors/ecvrf.py)")"
