#!/usr/bin/env bash
# BEIR ArguAna + SciFact through the collection CLI (`add` + `eval-ir`) with the
# real all-MiniLM-L6-v2, then the reference pipeline (sentence-transformers +
# exact search + pytrec_eval, bench/store_beir_reference.py) on the same data,
# one after the other (never at once: 2 shared cores).
#
#   bench/store_beir.sh [WORK]        (default /tmp/semsearch-beir)
#   STAGES="c ref report" SETS="scifact arguana" SEMSEARCH=build/semsearch
#   STAGES=refsample: the cheaper reference check (bench/store_beir_reference_sample.py:
#   all queries + a 300-document sample through sentence-transformers) instead of `ref`
#
# Vector search runs on a flat index and on an HNSW index over the *same*
# stored vectors: the HNSW collection is a copy of the flat one with
# meta.index_type = hnsw and no index file, so opening it rebuilds the HNSW
# graph from the SQLite vectors (the collection's own rebuild path) instead of
# embedding the corpus a second time. BM25: english analyzer over title + text
# (`--fields title,text`, the same text that is embedded), k1/b 0.9/0.4
# (Anserini's BEIR "flat" setting) and 1.2/0.75 (Lucene's defaults). Hybrid:
# RRF (rank constant 60, window 100) and linear (w 0.5) with BM25 0.9/0.4.
# ArguAna drops the query's own id (BEIR's ignore_identical_ids); SciFact's
# query and doc ids are separate namespaces, so nothing is dropped there.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
W="${1:-/tmp/semsearch-beir}"
SS="${SEMSEARCH:-$ROOT/build/semsearch}"
MODEL="${MODEL:-$ROOT/models/all-MiniLM-L6-v2}"
REFPY="${REFPY:-$ROOT/build/storevenv/bin/python}"
STAGES="${STAGES:-c ref report}"
SETS="${SETS:-scifact arguana}"
mkdir -p "$W/data" "$W/out"
[ -f "$W/beir/arguana/corpus.jsonl" ] || python3 "$ROOT/bench/store_beir_prep.py" "$W/beir"
{ date -u; uptime; grep -m1 "model name" /proc/cpuinfo; nproc; } > "$W/out/machine.txt"

drop() { [ "$1" = arguana ] && echo --drop-own-id || true; }
ev() { # set collection name mode extra...
    local set=$1 coll=$2 name=$3 mode=$4; shift 4
    echo "== $set $name" >&2
    "$SS" --data "$W/data" eval-ir "$coll" --queries "$W/beir/$set/queries.jsonl" --qrels "$W/beir/$set/qrels.tsv" \
        $(drop "$set") --mode "$mode" -k 100 --json --run "$W/out/$set-$name.run" "$@" | tee "$W/out/$set-$name.json"
}

if [[ " $STAGES " == *" c "* ]]; then
    for set in $SETS; do
        if [ ! -f "$W/out/$set-add.txt" ]; then
            rm -rf "$W/data/$set"
            t0=$(date +%s.%N)
            "$SS" --data "$W/data" add "$set" "$W/beir/$set/corpus.jsonl" --model "$MODEL" --id-field _id \
                --fields title,text --analyzer english --no-sync --batch-size 512
            t1=$(date +%s.%N)
            echo "add $set: $(echo "$t1 - $t0" | bc) s" | tee "$W/out/$set-add.txt"
        fi
        rm -rf "$W/data/$set-hnsw"
        cp -r "$W/data/$set" "$W/data/$set-hnsw"
        rm -f "$W/data/$set-hnsw"/index.ssi* "$W/data/$set-hnsw"/writer.lock
        sqlite3 "$W/data/$set-hnsw/collection.db" "UPDATE meta SET value='hnsw' WHERE key='index_type'"
        # A writer open rebuilds the HNSW index from SQLite and saves it (deleting no id).
        "$SS" --data "$W/data" delete "$set-hnsw" no-such-id-rebuild-only >/dev/null
        ev "$set" "$set" vector-flat vector
        ev "$set" "$set-hnsw" vector-hnsw vector
        ev "$set" "$set-hnsw" vector-hnsw-ef200 vector --ef 200
        ev "$set" "$set" bm25-0.9-0.4 bm25 --k1 0.9 --b 0.4
        ev "$set" "$set" bm25-1.2-0.75 bm25 --k1 1.2 --b 0.75
        ev "$set" "$set" hybrid-rrf hybrid --k1 0.9 --b 0.4
        ev "$set" "$set" hybrid-linear linear --k1 0.9 --b 0.4
    done
fi

if [[ " $STAGES " == *" ref "* ]]; then
    for set in $SETS; do
        "$REFPY" "$ROOT/bench/store_beir_reference.py" --beir "$W/beir/$set" --model "$MODEL" $(drop "$set") \
            --out "$W/out/$set-ref.json" --db "$W/data/$set/collection.db" --runs "$W/out/$set-"
    done
fi

if [[ " $STAGES " == *" refsample "* ]]; then
    for set in $SETS; do
        "$REFPY" "$ROOT/bench/store_beir_reference_sample.py" --beir "$W/beir/$set" --model "$MODEL" $(drop "$set") \
            --db "$W/data/$set/collection.db" --sample 300 --runs "$W/out/$set-" --out "$W/out/$set-refsample.json"
    done
fi

if [[ " $STAGES " == *" report "* ]]; then
    python3 - "$W/out" $SETS <<'EOF'
import json, os, sys
out, sets = sys.argv[1], sys.argv[2:]
print(open(os.path.join(out, "machine.txt")).read())
print("| set | run | nDCG@10 | MRR@10 | MAP@100 | R@10 | R@100 | pytrec_eval nDCG@10 of the run |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for s in sets:
    ref = json.load(open(os.path.join(out, f"{s}-ref.json"))) if os.path.exists(os.path.join(out, f"{s}-ref.json")) else {}
    if not ref and os.path.exists(os.path.join(out, f"{s}-refsample.json")):
        ref = json.load(open(os.path.join(out, f"{s}-refsample.json")))
    for name in ["vector-flat", "vector-hnsw", "vector-hnsw-ef200", "bm25-0.9-0.4", "bm25-1.2-0.75", "hybrid-rrf", "hybrid-linear"]:
        p = os.path.join(out, f"{s}-{name}.json")
        if not os.path.exists(p):
            continue
        m = json.load(open(p))
        chk = ref.get("runs", {}).get(name, float("nan"))
        print(f"| {s} | {name} | {m['ndcg@10']:.4f} | {m['mrr@10']:.4f} | {m['map@100']:.4f} | {m['recall@10']:.4f} | {m['recall@100']:.4f} | {chk:.4f} |")
    if ref:
        print(f"| {s} | reference (sentence-transformers + exact + pytrec_eval) | {ref['ndcg@10']:.6f} | | | | | |")
        d = ref.get("vec_max_abs_diff", ref.get("sample_max_abs_diff", float("nan")))
        c = ref.get("vec_min_cos", ref.get("sample_min_cos", float("nan")))
        print(f"\n{s}: stored vectors vs sentence-transformers ({ref.get('sample', 'all')} docs): max |diff| {d:.2e}, "
              f"min cosine {c:.8f}; reference encode {ref.get('encode_seconds', 0):.0f} s\n")
EOF
fi
