#!/usr/bin/env bash
# bench/server_search.sh — `_search` throughput and latency of `semsearch serve`
# with wrk on loopback (issue 10): kNN over DOCS documents (384-d, seeded random
# vectors, cosine) with explicit query vectors at 1, 16 and 64 connections, then
# kNN whose query vector the server embeds from a text (query_vector_builder,
# STSb sentences) at the same connection counts. Prints the machine, the load,
# QPS and p50 / p99 for each. Not a test; it loads every core.
#
#   bench/server_search.sh [DOCS=100000] [DURATION_S=10]
# env: SEMSEARCH (default build/semsearch), MODEL, CONNS ("1 16 64")
set -euo pipefail
source "$(dirname "$0")/server_common.sh"
docs=${1:-100000}
dur=${2:-10}
conns=${CONNS:-1 16 64}
extra=()
[ -n "${MODEL:-}" ] && extra+=(--model "$MODEL")
machine
start_server "${extra[@]}"
python3 "$root/bench/server_load.py" load "$url" --docs "$docs" --index bench
echo "server RSS after loading: $(server_rss_mb) MB"
python3 "$root/bench/server_load.py" lua --kind knn --out "$tmp/knn.lua" --index bench
python3 "$root/bench/server_load.py" lua --kind text --out "$tmp/text.lua" --index bench
curl -s --noproxy '*' -o /dev/null -XPOST "$url/bench/_search" -H 'Content-Type: application/json' \
     -d '{"knn":{"field":"v","k":1,"num_candidates":10,"query_vector_builder":{"text_embedding":{"model_id":"m","model_text":"warm up"}}}}'
printf '%-34s %6s %10s %10s %10s  %s\n' "_search over $docs docs, ${dur}s" conns QPS p50 p99 "non-2xx"
for kind in knn text; do
    for c in $conns; do
        drain
        read -r qps p50 p99 errs < <(wrk_run "$kind-$c" "$tmp/$kind.lua" "$c" "$dur")
        label=$([ "$kind" = knn ] && echo "knn, explicit query_vector" || echo "knn, query_vector_builder (text)")
        printf '%-34s %6s %10s %10s %10s  %s\n' "$label" "$c" "$qps" "$p50" "$p99" "$errs"
    done
done
echo "load after: $(uptime | sed 's/.*load average/load average/')"
