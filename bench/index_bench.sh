#!/bin/sh
# Index benchmark: semsearch vs hnswlib vs FAISS on the same real embeddings,
# same machine, one run.
#  1. bench_index: exact-scan GB/s vs measured read bandwidth, exact ground
#     truth, base/query files (holds out 1000 rows as queries unless
#     BENCH_ARGS="--queries Q.fvecs").
#  2. index_compare.py: builds semsearch (fp32, int8+rescore, binary+rescore;
#     through ctypes on build/libsemsearch.so), hnswlib and FAISS HNSWFlat
#     (M=16, efC=100, 2 threads) and measures every (ef, threads) point
#     round-robin across them, best of REPS (default 3; the dev machine can be noisy).
#  3. index_report.py: QPS at recall@10 >= 0.90/0.95/0.99, paired ratios, plot.
# Peers: Debian's python3-hnswlib 0.6.2 and python3-faiss 1.7.3 for
# /usr/bin/python3, matplotlib in build/index-venv: bench/index_setup.sh
# installs them. The vectors come from bench/index_data.sh.
#   bench/index_bench.sh [VECTORS.fvecs] [OUTDIR]
set -e
cd "$(dirname "$0")/.."
VEC=${1:-build/index-data/big.fvecs}
OUT=${2:-build/index-bench}
bench/index_setup.sh
PY=${PYTHON:-python3}
[ -x build/index-venv/bin/python ] && PY=build/index-venv/bin/python
cmake --build build --target bench_index semsearch semsearch_shared >/dev/null
mkdir -p "$OUT"
build/bench_index "$VEC" ${BENCH_ARGS:---holdout 1000} --out "$OUT" --configs none | tee "$OUT/ours.txt"
${PEER_PY:-/usr/bin/python3} bench/index_compare.py "$OUT" 2 ${REPS:-3} | tee "$OUT/compare.txt"
$PY bench/index_report.py "$OUT" ${PNG:-docs/index-recall-qps.png} | tee "$OUT/report.txt"
