#!/usr/bin/env bash
# Where ingest time goes: `semsearch add` of the first N lines of TEXTS under
# `perf record --call-graph dwarf` (CPU samples of this process only, all its
# threads, so the figure holds on a shared machine). Each sample is classified
# by its call stack: under the encoder (ss_encode / the transformer's tasks /
# tokenizer, OpenBLAS), under the model load, under the store (SQLite,
# FTS5 analyzer, index insert / commit, readers, chunker), or other (a stack
# that names neither, e.g. a pool thread waiting). The encoder share is
# encoder / (encoder + store + other), model load excluded (a constant per
# process, ~1 s): other is counted against the encoder.
#
#   bench/store_ingest_profile.sh TEXTS [N] [flat|hnsw] [extra add options...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TEXTS=$1; N=${2:-3000}; INDEX=${3:-hnsw}; shift $(( $# < 3 ? $# : 3 ))
SS="${SEMSEARCH:-$ROOT/build/semsearch}"
OBJ="${OBJ:-$ROOT/build/CMakeFiles/semsearch_obj.dir/src}"
W=$(mktemp -d /tmp/ss-ingest-prof-XXXXXX)
trap 'rm -rf "$W"' EXIT
head -n "$N" "$TEXTS" > "$W/texts.txt"
{ date -u; uptime; grep -m1 "model name" /proc/cpuinfo; } >&2
perf record -q --call-graph dwarf,8192 -F "${FREQ:-149}" -o "$W/perf.data" \
    "$SS" --data "$W/d" add c "$W/texts.txt" --index "$INDEX" "$@" >&2
perf script -i "$W/perf.data" -F tid,ip,sym 2>/dev/null | python3 -c '
import sys
# Each sample: a stack (innermost first). Classify by the frames it contains.
ENC = ("ss_transformer_forward", "ss_context_encode", "ss_encode", "lin_task", "ss_attention_forward",
       "ss_tokenizer_encode", "ss_model_tokenize", "embed_task", "sgemm_", "ss_residual_layernorm", "gelu_",
       "ss_softmax", "ss_layernorm", "ss_pool_sequence", "ss_linear", "exp_avx", "sum8_")
LOAD = ("ss_model_load", "ss_transformer_load", "_dl_", "dl_main")
STORE = ("ss_index_", "ss__hnsw", "ss__vindex", "sqlite3", "ss__write_batch", "ss__rec_", "ss__compose",
         "ss_collection_add_file", "ss_collection_close", "ss__analy", "ss__fts", "cJSON", "ss_chunk_text",
         "ss__write_batch_chunked", "ss_collection_open")
n = {"encoder": 0, "store": 0, "model load": 0, "other": 0}
top = {}
def classify(frames):
    for f in frames:  # innermost first: the first area found owns the sample (e.g. sgemm under encode)
        if f.startswith(ENC): return "encoder"
    for f in frames:
        if f.startswith(LOAD): return "model load"
    for f in frames:
        if f.startswith(STORE): return "store"
    return "other"
frames = []
def flush():
    if frames:
        k = classify(frames); n[k] += 1
        if k != "encoder": top.setdefault(k, {}).setdefault(frames[0], 0); top[k][frames[0]] += 1
for line in sys.stdin:
    if not line.strip():
        flush(); frames = []; continue
    parts = line.split()
    if len(parts) >= 2 and not line.startswith(("\t", " ")):
        flush(); frames = []; continue
    if len(parts) >= 2: frames.append(parts[1])
flush()
tot = sum(n.values())
for k, v in n.items():
    t = sorted(top.get(k, {}).items(), key=lambda x: -x[1])[:4]
    print(f"{k:11s} {100 * v / tot:6.2f}% of {tot} samples" + ("   innermost: " + ", ".join(f"{a} {100*b/tot:.1f}%" for a, b in t) if t else ""))
enc, sto = n["encoder"], n["store"]
work = enc + sto + n["other"]
print(f"encoder share of ingest CPU (model load excluded, other counted against it): {100 * enc / work:.1f}%; "
      f"store {100 * sto / work:.1f}%")
'
