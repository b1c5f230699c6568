#!/bin/sh
# Full index benchmark: semsearch vs hnswlib vs FAISS on the same real
# embeddings, same machine, one run. Needs build/index-data/big.fvecs
# (bench/index_data.sh) and python3 with numpy, hnswlib, faiss (Debian:
# python3-hnswlib python3-faiss) and matplotlib for the plot.
#   bench/index_bench.sh [VECTORS.fvecs] [OUTDIR]
set -e
cd "$(dirname "$0")/.."
VEC=${1:-build/index-data/big.fvecs}
OUT=${2:-build/index-bench}
PY=${PYTHON:-python3}
[ -x build/index-venv/bin/python ] && PY=build/index-venv/bin/python
cmake --build build --target bench_index semsearch >/dev/null
mkdir -p "$OUT"
build/bench_index "$VEC" --holdout 1000 --out "$OUT" | tee "$OUT/ours.txt"
$PY bench/index_peers.py "$OUT" 2 | tee "$OUT/peers.txt"
$PY bench/index_report.py "$OUT" docs/index-recall-qps.png | tee "$OUT/report.txt"
