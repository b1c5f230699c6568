#!/usr/bin/env bash
# fuzz/run.sh BUILD_DIR TARGET [libFuzzer flags...]
# Runs BUILD_DIR/fuzz_TARGET on the committed seeds fuzz/corpus/TARGET. New
# inputs go to a scratch corpus BUILD_DIR/fuzz-corpus/TARGET (kept between
# runs; the committed corpus is never written), crashes to
# BUILD_DIR/fuzz-findings/TARGET/. Examples:
#   fuzz/run.sh build-fuzz index -runs=2000          (what ctest runs)
#   fuzz/run.sh build-fuzz index -max_total_time=600 (what make fuzz runs)
# Exit status: libFuzzer's (0 = no finding).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1 target=$2
shift 2
bin=$build/fuzz_$target
seeds=$here/corpus/$target
[ -x "$bin" ] || { echo "fuzz/run.sh: $bin not built (cmake -DSEMSEARCH_FUZZ=ON, target fuzz_all)" >&2; exit 2; }
[ -d "$seeds" ] || { echo "fuzz/run.sh: no seed corpus $seeds" >&2; exit 2; }
work=$build/fuzz-corpus/$target findings=$build/fuzz-findings/$target
# the harnesses' temp folders (removed at exit; this catches the ones a crash leaves)
# (in /dev/shm unless TMPDIR says otherwise: the store and server targets
# fsync SQLite databases, which on a disk caps them at a few inputs a second)
base=${TMPDIR:-}
[ -z "$base" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
tmp=$(mktemp -d "${base:-/tmp}/semsearch-fuzz-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# FUZZ_FRESH=1 (ctest): start from the seeds only, in a throw-away corpus, so
# the test is repeatable and leaves a long run's corpus alone
[ "${FUZZ_FRESH:-0}" = 1 ] && work=$tmp/corpus
mkdir -p "$work" "$findings" "$tmp/files"
# halt on the first UBSan report; leaks are findings too
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
rc=0
TMPDIR=$tmp/files "$bin" -artifact_prefix="$findings/" -timeout=25 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 "$@" "$work" "$seeds" || rc=$?
exit $rc
