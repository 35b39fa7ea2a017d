#!/usr/bin/env bash
# Source checks that run before the test suite (tools/dev test), each
# reported as a line the summary counts like a test target:
#   //tools/lint:long_functions  no production function over 100 lines
#   //tools/lint:clang_format    every C++ file formatted per .clang-format
# Exits non-zero if one fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
rc=0
report() {  # name, status
  printf '%-72s %s\n' "//tools/lint:$1" "$2"
}
production=$(git ls-files '*.cc' | grep -v '_test\.cc$' | grep -v '^tests/' |
  grep -v '_fuzzer\.cc$' | grep -v '_benchmark\.cc$')
if out=$(python3 tools/lint/long_functions.py --limit 100 $production); then
  report long_functions PASSED
else
  echo "$out"
  report long_functions FAILED
  rc=1
fi
if command -v clang-format >/dev/null &&
  out=$(git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror 2>&1) &&
  [ -z "$out" ]; then
  report clang_format PASSED
else
  echo "$out" | grep -E '^[^ ].*(warning|error)' | head -20
  report clang_format FAILED
  rc=1
fi
exit $rc
