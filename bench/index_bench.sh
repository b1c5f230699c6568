#!/bin/sh
# Index benchmark: semsearch vs the strongest native peers on the same real
# embeddings, same machine, one interleaved run.
#  1. bench_index: exact-scan GB/s vs measured read bandwidth, exact ground
#     truth, base/query files (holds out 1000 rows as queries unless
#     BENCH_ARGS="--queries Q.fvecs"; BENCH_ARGS="--holdout 1000 --n 100000"
#     keeps 100k base rows).
#  2. index_compare.py: builds semsearch (fp32, int8+rescore, binary+rescore;
#     through ctypes on build/libsemsearch.so), hnswlib 0.8 (built native),
#     FAISS HNSWFlat and HNSWSQ8+refine, usearch f32 and i8 (M=16, efC=100,
#     2 build threads) and measures every (ef, threads) point round-robin
#     across them, best of REPS (default 3; the dev machine can be noisy).
#     Prints the CPU model and ISA, the versions and the load.
#  3. index_report.py: QPS at recall@10 >= 0.90/0.95/0.99, ratios to each
#     peer and to the best peer, paired per-ef ratios, plot.
# Peers: pinned venv build/index-venv from bench/index_setup.sh. The vectors
# come from bench/index_data.sh. PEERS / SS_LIBS / EFS: see index_compare.py.
#   bench/index_bench.sh [VECTORS.fvecs] [OUTDIR]
set -e
cd "$(dirname "$0")/.."
VEC=${1:-build/index-data/big.fvecs}
OUT=${2:-build/index-bench}
bench/index_setup.sh
PY=build/index-venv/bin/python
cmake --build build --target bench_index semsearch semsearch_shared >/dev/null
mkdir -p "$OUT"
uptime | tee "$OUT/uptime.txt"
build/bench_index "$VEC" ${BENCH_ARGS:---holdout 1000} --out "$OUT" --configs none | tee "$OUT/ours.txt"
${PEER_PY:-$PY} bench/index_compare.py "$OUT" 2 ${REPS:-3} | tee "$OUT/compare.txt"
uptime | tee -a "$OUT/uptime.txt"
$PY bench/index_report.py "$OUT" ${PNG:-docs/index-recall-qps.png} | tee "$OUT/report.txt"
