#!/bin/sh
# bench/train.sh — training throughput of `semsearch train` against sentence-transformers 2.7.0's
# model.fit (torch 1.13 CPU, build/refvenv) on the same cores, model, data, batch size, max sequence
# length (the model's, 256) and loss, interleaved in one run (ours, peer, ours, peer ... per config), with
# the ratio of each pair. Peak RSS of both from /usr/bin/time -v (whole process).
#
#   bench/train.sh [REPS] [STEPS]          (defaults 2 reps, 12 steps)
#   env: THREADS (2), MODEL (models/all-MiniLM-L6-v2), CONFIGS ("mnrl:32:sts cosine:32:sts mnrl:16:scifact")
#
# Configs are LOSS:BATCH:DATA, DATA = sts (STSb train pairs, ~14 tokens a sentence) or scifact (claim +
# title/abstract pairs from bench/scifact_prep.py, abstracts cut at 256 tokens: long sequences, where
# attention's share grows). Our steps/s is over the whole run (model load, tokenising and every step
# included); the peer's excludes its first two steps and everything before them: the ratio is, if anything,
# against us. Timings on a shared machine are noise unless the load is steady: `uptime` is printed.
set -eu
cd "$(dirname "$0")/.."
REPS=${1:-2}
STEPS=${2:-12}
THREADS=${THREADS:-2}
MODEL=${MODEL:-models/all-MiniLM-L6-v2}
CONFIGS=${CONFIGS:-"mnrl:32:sts cosine:32:sts mnrl:16:scifact"}
PY=build/refvenv/bin/python
STS=../shared/data/stsbenchmark/sts-train.csv
TMP=$(mktemp -d /tmp/bench-train.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
[ -x build/semsearch ] || { echo "bench/train.sh: build first (make)" >&2; exit 1; }
[ -x "$PY" ] || { echo "bench/train.sh: no $PY (ln -sfn /work/main/build/refvenv build/refvenv)" >&2; exit 1; }
case "$CONFIGS" in *scifact*) python3 bench/scifact_prep.py "$TMP/beir" >/dev/null ;; esac

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "isa: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|amx_tile|amx_bf16|amx_int8)$' | tr '\n' ' ')"
echo "threads: $THREADS; model: $MODEL; steps per run: $STEPS; reps: $REPS"
echo "torch: $($PY -c 'import torch, sentence_transformers as s; print(torch.__version__, "threads", torch.get_num_threads(), "sentence-transformers", s.__version__)')"
uptime

rss_of() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1" | awk '{printf "%.0f", $1 / 1024}'; }

printf '\n%-22s %4s  %10s %10s %8s  %10s %10s %8s  %7s %7s\n' config rep "ours st/s" "tok/s" "RSS MB" "ref st/s" "tok/s" "RSS MB" "st/s x" "tok/s x"
for cfg in $CONFIGS; do
    loss=${cfg%%:*}; rest=${cfg#*:}; batch=${rest%%:*}; data=${rest#*:}
    if [ "$data" = scifact ]; then file=$TMP/beir/scifact/train.jsonl; cols="--columns anchor,positive"
    else file=$STS; cols=""; fi
    r=1
    while [ "$r" -le "$REPS" ]; do
        # shellcheck disable=SC2086
        /usr/bin/time -v build/semsearch train --model "$MODEL" --data "$file" $cols --loss "$loss" \
            --batch-size "$batch" --max-steps "$STEPS" --threads "$THREADS" >"$TMP/ours.out" 2>"$TMP/ours.err" ||
            { cat "$TMP/ours.err" >&2; exit 1; }
        line=$(grep 'steps over' "$TMP/ours.err")
        o_sps=$(echo "$line" | sed 's/.*(\([0-9.]*\) steps\/s.*/\1/')
        o_tps=$(echo "$line" | sed 's/.*steps\/s, \([0-9.]*\) tokens\/s.*/\1/')
        o_rss=$(rss_of "$TMP/ours.err")
        /usr/bin/time -v "$PY" bench/train_reference.py "$MODEL" "$file" "$loss" "$batch" "$STEPS" "$THREADS" \
            >"$TMP/ref.out" 2>"$TMP/ref.err" || { cat "$TMP/ref.err" >&2; exit 1; }
        line=$(grep '^ref steps' "$TMP/ref.out")
        r_sps=$(echo "$line" | awk '{print $9}')
        r_tps=$(echo "$line" | awk '{print $11}')
        r_rss=$(rss_of "$TMP/ref.err")
        printf '%-22s %4d  %10.3f %10.0f %8s  %10.3f %10.0f %8s  %7.2f %7.2f\n' "$loss b$batch $data" "$r" \
            "$o_sps" "$o_tps" "$o_rss" "$r_sps" "$r_tps" "$r_rss" \
            "$(echo "$o_sps / $r_sps" | bc -l)" "$(echo "$o_tps / $r_tps" | bc -l)"
        r=$((r + 1))
    done
done
uptime
