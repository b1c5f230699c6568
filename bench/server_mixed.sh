#!/usr/bin/env bash
# bench/server_mixed.sh — mixed load on `semsearch serve` (issue 10): DOCS
# documents loaded first, then for SECONDS an ingest client (_bulk of 100 new
# documents at a time, every 2xx item recorded) runs alongside wrk sending kNN
# searches with explicit query vectors on 16 connections. Afterwards every
# acknowledged document is looked up (_mget): the run fails if one is missing.
# Prints the machine, the load, ingest docs/s, search QPS and p50 / p99.
#
#   bench/server_mixed.sh [SECONDS=60] [DOCS=100000]
set -euo pipefail
source "$(dirname "$0")/server_common.sh"
secs=${1:-60}
docs=${2:-100000}
machine
start_server
python3 "$root/bench/server_load.py" load "$url" --docs "$docs" --index bench
python3 "$root/bench/server_load.py" lua --kind knn --out "$tmp/knn.lua" --index bench
python3 "$root/bench/server_load.py" mixed "$url" --index bench --seconds "$secs" --chunk 100 > "$tmp/ingest.txt" &
ingest=$!
read -r qps p50 p99 errs < <(wrk_run mixed "$tmp/knn.lua" 16 "$secs")
status=0
wait "$ingest" || status=$?
echo "mixed ${secs} s over $docs + new docs:"
echo "  $(cat "$tmp/ingest.txt")"
echo "  search during ingest (16 connections): $qps QPS, p50 $p50, p99 $p99, non-2xx $errs"
echo "  server RSS at the end: $(server_rss_mb) MB"
echo "load after: $(uptime | sed 's/.*load average/load average/')"
[ "$status" = 0 ] && echo "no acknowledged document lost" || echo "FAIL: acknowledged documents lost"
exit "$status"
