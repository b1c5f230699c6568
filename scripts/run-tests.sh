#!/usr/bin/env bash
# Build and run the test suite twice: a release build, then under
# AddressSanitizer + UndefinedBehaviorSanitizer. Ends with one summary line
# "N passed, N failed" over both runs.
set -uo pipefail
plain=${1:-build}; asan=${2:-build-asan}
jobs=$(nproc)
total_pass=0; total_fail=0
run_suite() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null || return 1
  cmake --build "$dir" -j "$jobs" || return 1
  local log; log=$(mktemp)
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" | tee "$log"
  local pass fail
  pass=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log")
  fail=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(Failed|Exception|Timeout|Not Run)' "$log")
  rm -f "$log"
  total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
}
echo "== release build tests ==" >&2
run_suite "$plain" -DCMAKE_BUILD_TYPE=Release || total_fail=$((total_fail + 1))
echo "== ASan + UBSan build tests ==" >&2
ASAN_OPTIONS=detect_leaks=1 run_suite "$asan" -DCMAKE_BUILD_TYPE=Debug -DSEMSEARCH_SANITIZE=ON || total_fail=$((total_fail + 1))
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
