#!/bin/sh
# bench/train_scifact.sh — the SciFact MNRL recipe of docs/training.md: fine-tune all-MiniLM-L6-v2 with
# MultipleNegativesRankingLoss on the SciFact train claims and their cited abstracts (919 pairs, title +
# " " + abstract, as the retrieval corpus is embedded), then evaluate on the BEIR SciFact test split (300
# claims, 339 qrels, 5,183 documents) with a collection: `add --fields title,text` + `eval-ir` (exact
# cosine, nDCG@10 etc. with pytrec_eval's definitions).
#
#   bench/train_scifact.sh OUT [BASE]      OUT: work folder (data, model, collection, logs)
#   env: EPOCHS (1) LR (5e-5) BATCH (32) SEED (42) THREADS (2) SKIP_TRAIN (1: evaluate OUT/model only)
#        EVAL_BASE (1: also evaluate the un-tuned BASE the same way)
# BASE defaults to models/all-MiniLM-L6-v2. CPU-heavy: measured at load 8-27, 28 training steps took 35 min and
# the corpus add 14 min (docs/training.md); on idle cores a fraction of that.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/train_scifact.sh OUT [BASE]}
BASE=${2:-models/all-MiniLM-L6-v2}
EPOCHS=${EPOCHS:-1}; LR=${LR:-5e-5}; BATCH=${BATCH:-32}; SEED=${SEED:-42}; THREADS=${THREADS:-2}
mkdir -p "$OUT"
[ -f "$OUT/beir/scifact/train.jsonl" ] || python3 bench/scifact_prep.py "$OUT/beir"
D=$OUT/beir/scifact

evaluate() { # MODEL NAME
    rm -rf "$OUT/data-$2"
    build/semsearch --data "$OUT/data-$2" add scifact "$D/corpus.jsonl" --model "$1" --fields title,text \
        --threads "$THREADS" --no-sync >/dev/null
    build/semsearch --data "$OUT/data-$2" eval-ir scifact --queries "$D/queries.jsonl" --qrels "$D/qrels.tsv" \
        --mode vector | tee "$OUT/eval-$2.txt"
}

if [ "${SKIP_TRAIN:-0}" != 1 ]; then
    uptime
    build/semsearch train --model "$BASE" --data "$D/train.jsonl" --columns anchor,positive --loss mnrl --no-dropout \
        --batch-size "$BATCH" --epochs "$EPOCHS" --lr "$LR" --seed "$SEED" --threads "$THREADS" \
        --log "$OUT/train-log.csv" --out "$OUT/model" 2>&1 | tr '\r' '\n' | grep -v '^  step' | tee "$OUT/train.txt"
fi
echo "== tuned ($OUT/model)"
evaluate "$OUT/model" tuned
if [ "${EVAL_BASE:-0}" = 1 ]; then
    echo "== base ($BASE)"
    evaluate "$BASE" base
fi
uptime
