#!/usr/bin/env bash
# Build and run the test suite three times: a release build, all tests under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the tests whose names
# contain "concurrent" under ThreadSanitizer, then each libFuzzer target (clang)
# for a fixed 2000 inputs. Each build must run every test it
# selects (the count is compared with `ctest -N`): a test that did not run, or
# a build that failed, counts as failed. Ends with one summary line
# "N passed, N failed" over all runs.
# Usage: scripts/run-tests.sh [RELEASE_DIR] [ASAN_DIR] [TSAN_DIR] [FUZZ_DIR]
set -uo pipefail
plain=${1:-build}; asan=${2:-build-asan}; tsan=${3:-build-tsan}
jobs=$(nproc)
root=$(cd "$(dirname "$0")/.." && pwd)
total_pass=0; total_fail=0
run_suite() {  # dir, ctest -R regex ("" = all), extra cmake args...
  local dir=$1 regex=$2; shift 2
  local sel=(); [ -n "$regex" ] && sel=(-R "$regex")
  if ! cmake -S "$root" -B "$dir" "$@" >/dev/null; then
    echo "configure of $dir failed" >&2; total_fail=$((total_fail + 1)); return
  fi
  local expected
  expected=$(ctest --test-dir "$dir" -N "${sel[@]}" | sed -n 's/^Total Tests: *\([0-9]*\).*/\1/p')
  expected=${expected:-0}
  if [ "$expected" -eq 0 ]; then
    echo "$dir: no tests selected (${regex:-all})" >&2; total_fail=$((total_fail + 1)); return
  fi
  local targets=()
  if [ -n "$regex" ]; then  # build only what the selected tests need
    mapfile -t targets < <(ctest --test-dir "$dir" -N "${sel[@]}" | sed -n 's/^ *Test *#[0-9]*: *\([^ ]*\).*/\1/p')
    targets=(--target semsearch "${targets[@]}")  # tests that run the CLI need it too
  fi
  if ! cmake --build "$dir" -j "$jobs" "${targets[@]}"; then
    echo "build of $dir failed" >&2; total_fail=$((total_fail + expected)); return
  fi
  local log; log=$(mktemp)
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" "${sel[@]}" | tee "$log"
  local pass fail
  pass=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log")
  fail=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(Failed|Exception|Timeout|Not Run)' "$log")
  rm -f "$log"
  if [ $((pass + fail)) -ne "$expected" ]; then
    echo "$dir: $((pass + fail)) of $expected tests ran; the rest count as failed" >&2
    fail=$((expected - pass))
  fi
  total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
}
echo "== release build tests ==" >&2
run_suite "$plain" "" -DCMAKE_BUILD_TYPE=Release
echo "== ASan + UBSan build tests ==" >&2
ASAN_OPTIONS=detect_leaks=1 run_suite "$asan" "" -DCMAKE_BUILD_TYPE=Debug -DSEMSEARCH_SANITIZE=ON
echo "== ThreadSanitizer build: concurrent tests ==" >&2
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan.supp" \
  run_suite "$tsan" concurrent -DCMAKE_BUILD_TYPE=Debug -DSEMSEARCH_TSAN=ON
echo "== libFuzzer targets: 2000 inputs each from the seed corpora (fuzz/) ==" >&2
fuzz=${4:-build-fuzz}
if command -v clang >/dev/null 2>&1; then
  run_suite "$fuzz" '^fuzz_' -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSEMSEARCH_FUZZ=ON
else
  echo "clang not found: the fuzz targets cannot run (scripts/install-deps.sh installs clang)" >&2
  total_fail=$((total_fail + 1))
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
