#!/bin/bash
# Runs the independent Python implementation's check of the security-key
# vectors (tools/vectors/gen_security_key_vectors.py --check).
set -euo pipefail
exec /usr/bin/python3 -B tools/vectors/gen_security_key_vectors.py \
  --check tests/testdata/ktlog/security_keys.json
