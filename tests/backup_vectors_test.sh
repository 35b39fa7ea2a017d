#!/bin/bash
# Runs the independent Python implementation's check of the trust backup
# vectors (tools/vectors/gen_backup_vectors.py --check), which core/backup's
# test reproduces byte for byte.
set -euo pipefail
exec /usr/bin/python3 -B tools/vectors/gen_backup_vectors.py \
  --check tests/testdata/ktlog/backup.json
