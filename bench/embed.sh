#!/usr/bin/env bash
# bench/embed.sh — semsearch vs sentence-transformers encode throughput, in one
# run on this machine: STSb test sentences (2,758), batch 32, fp32.
#
#   bench/embed.sh [--model DIR]... [--runs N] [--ref-runs N] [--rounds K]
#                  [--threads N] [--ref-threads 1,2] [--no-reference] [--boost]
#                  [--json] [--no-ort]
#
# ONNX Runtime peer (issue 12): when build/ortvenv and build/onnx/<model name>
# exist (bash bench/ort_setup.sh makes both), each round also runs semsearch
# with --compute int8 and bench/embed_ort.py (ORT fp32 and ORT dynamic int8,
# intra-op threads = --ref-threads), and a second table prints semsearch fp32 /
# int8 vs ORT fp32 / int8 with ratios and each one's STSb Spearman; where the
# CPU has AVX512_BF16, also semsearch --compute bf16 (ratio to semsearch fp32). --no-ort
# skips it; without the setup a note says how to add it.
# Builds nothing: `make bench` builds $BUILD/bench_embed (BUILD defaults to
# build) and then runs this script. Needs build/refvenv for the reference
# (bash tools/reference/setup-venv.sh), unless --no-reference.
# Each --model DIR is given, as the same path, to both sides; several --model
# options give one table row per model. --rounds K repeats the whole
# semsearch-then-reference sequence K times and keeps each side's best, so
# that both sides sample the same background load.
# --boost runs everything in its own scheduler autogroup at nice -10 (root,
# Linux autogroup), so that other sessions' jobs on a shared machine take
# little CPU from either side while it runs (both sides get the same boost).
# Method and latest figures: docs/bench-embed.md.
set -euo pipefail

boost=0; args=()
for a in "$@"; do if [ "$a" = --boost ]; then boost=1; else args+=("$a"); fi; done
if [ "$boost" -eq 1 ] && [ -z "${SEMSEARCH_BENCH_BOOSTED:-}" ]; then
    export SEMSEARCH_BENCH_BOOSTED=1
    exec setsid -w bash -c 'echo -10 >/proc/$$/autogroup 2>/dev/null ||
        echo "embed.sh: --boost: cannot set autogroup nice (needs root and CONFIG_SCHED_AUTOGROUP); running unboosted" >&2
        exec "$0" "$@"' "${BASH_SOURCE[0]}" "${args[@]}"
fi
set -- "${args[@]}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BIN="${BENCH_EMBED:-$BUILD/bench_embed}"
REFVENV="${REFVENV:-$ROOT/build/refvenv}"
VENV_PY="$REFVENV/bin/python"
# The shared data sets sit next to the repository (../shared/data, see its SOURCE.md).
DATA="${SEMSEARCH_STS_TEST:-$ROOT/../shared/data/stsbenchmark/sts-test.csv}"

models=(); runs=5; ref_runs=3; rounds=1; threads=0; ref_threads="1,2"; no_ref=0; json=0
usage() { sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
no_ort=0; ORTPY="${ORTVENV:-$ROOT/build/ortvenv}/bin/python"
while [ $# -gt 0 ]; do
    case "$1" in
        --model) models+=("${2:?--model needs a folder}"); shift 2 ;;
        --model=*) models+=("${1#--model=}"); shift ;;
        --runs) runs="${2:?}"; shift 2 ;;
        --ref-runs) ref_runs="${2:?}"; shift 2 ;;
        --rounds) rounds="${2:?}"; shift 2 ;;
        --threads) threads="${2:?}"; shift 2 ;;
        --ref-threads) ref_threads="${2:?}"; shift 2 ;;
        --no-reference) no_ref=1; shift ;;
        --json) json=1; shift ;;
        --no-ort) no_ort=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "embed.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
[ ${#models[@]} -gt 0 ] || models=("$ROOT/models/all-MiniLM-L6-v2")

# ---- preconditions, each with what to do about it
if [ ! -x "$BIN" ]; then
    echo "embed.sh: $BIN not found: build it with 'make bench' (or cmake --build $BUILD --target bench_embed)" >&2
    exit 2
fi
if [ "$no_ref" -eq 0 ] && [ ! -x "$VENV_PY" ]; then
    cat >&2 <<EOF
embed.sh: the reference environment $REFVENV is missing, so sentence-transformers
cannot be measured. Create it with:
    bash tools/reference/setup-venv.sh
(Debian's CPU torch + sentence-transformers 2.7.0; see docs/reference.md), or run
    bench/embed.sh --no-reference
to measure semsearch alone.
EOF
    exit 2
fi
if [ "$no_ref" -eq 0 ] && ! "$VENV_PY" -c 'import sentence_transformers, torch' 2>/dev/null; then
    echo "embed.sh: build/refvenv cannot import sentence_transformers/torch: re-run bash tools/reference/setup-venv.sh" >&2
    exit 2
fi
if [ ! -r "$DATA" ]; then
    echo "embed.sh: STSb test file $DATA not readable (set SEMSEARCH_STS_TEST)" >&2
    exit 2
fi
for m in "${models[@]}"; do
    if [ ! -f "$m/config.json" ]; then
        echo "embed.sh: $m is not a model folder (no config.json); the default model comes from scripts/fetch-model.sh" >&2
        exit 2
    fi
done
if [ -x "$VENV_PY" ]; then PY="$VENV_PY"; elif command -v python3 >/dev/null; then PY=python3; else PY=""; fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# ORT is run for the models that have an export (bench/ort_setup.sh --model DIR).
ort_dir() { echo "$ROOT/build/onnx/$(basename "$1")"; }
if [ "$no_ort" -eq 0 ] && { [ ! -x "$ORTPY" ] || [ ! -f "$(ort_dir "${models[0]}")/model_int8.onnx" ]; }; then
    echo "embed.sh: no ONNX Runtime peer ($ORTPY or $(ort_dir "${models[0]}")/model_int8.onnx missing): run bash bench/ort_setup.sh to add it (or pass --no-ort)" >&2
    no_ort=1
fi
flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n')"
isa=""; for f in avx2 fma avx512f avx512bw avx512_vnni avx512_bf16 amx_int8; do
    printf '%s\n' "$flags" | grep -qx "$f" && isa="$isa $f"; done
echo "== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), model $(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')); ISA:${isa:- baseline}" >&2
echo "$isa" >"$tmp/isa"

echo "== bench/embed: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)${SEMSEARCH_BENCH_BOOSTED:+, boosted ($(cat /proc/self/autogroup 2>/dev/null))}" >&2
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "   warning: other processes are using the cores (load above $(($(nproc) / 2))); expect noisy figures — compare only the ratio from one run, or re-run with --boost / when idle" >&2
fi
for ((r = 0; r < rounds; r++)); do
    [ "$rounds" -gt 1 ] && echo "-- round $((r + 1)) of $rounds" >&2
    i=0
    for m in "${models[@]}"; do
        # The peak is measured once per round (with the first model) and the
        # best over rounds is used.
        peak_arg=(--no-peak); [ "$i" -eq 0 ] && peak_arg=()
        echo "-- semsearch: $m (best of $runs)" >&2
        "$BIN" --model "$m" --data "$DATA" --runs "$runs" --threads "$threads" --json \
            --dump "$tmp/emb$i.f32" "${peak_arg[@]}" >"$tmp/sem${i}_$r.json"
        if [ "$no_ref" -eq 0 ]; then
            echo "-- sentence-transformers: $m (torch threads $ref_threads, best of $ref_runs)" >&2
            "$VENV_PY" "$ROOT/bench/embed_reference.py" --model "$m" --data "$DATA" --runs "$ref_runs" \
                --threads "$ref_threads" --compare "$tmp/emb$i.f32" --json >"$tmp/ref${i}_$r.json"
        else
            echo '{}' >"$tmp/ref${i}_$r.json"
        fi
        if [ "$no_ort" -eq 0 ] && [ -f "$(ort_dir "$m")/model_int8.onnx" ]; then
            echo "-- semsearch --compute int8: $m (best of $runs)" >&2
            "$BIN" --model "$m" --data "$DATA" --runs "$runs" --threads "$threads" --json --no-peak \
                --compute int8 --dump "$tmp/emb8_$i.f32" >"$tmp/sem8${i}_$r.json"
            if grep -qw avx512_bf16 "$tmp/isa"; then
                echo "-- semsearch --compute bf16: $m (best of $runs)" >&2
                "$BIN" --model "$m" --data "$DATA" --runs "$runs" --threads "$threads" --json --no-peak \
                    --compute bf16 --dump "$tmp/embb_$i.f32" >"$tmp/semb${i}_$r.json"
            fi
            echo "-- onnxruntime fp32 + int8: $m (intra-op threads $ref_threads, best of $ref_runs)" >&2
            "$ORTPY" "$ROOT/bench/embed_ort.py" --model "$m" --onnx "$(ort_dir "$m")" --data "$DATA" \
                --runs "$ref_runs" --threads "$ref_threads" --compare "$tmp/emb$i.f32" --json >"$tmp/ort${i}_$r.json"
        fi
        i=$((i + 1))
    done
done
echo "== done: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

if [ -z "$PY" ]; then
    echo "embed.sh: no python3 to merge and format the results; raw results:" >&2
    cat "$tmp"/sem*.json "$tmp"/ref*.json
    exit 0
fi
"$PY" - "$tmp" "$i" "$rounds" "$json" "$DATA" <<'PY'
import json, os, sys
d, n, rounds, as_json, data = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
load = lambda f: json.load(open(os.path.join(d, f)))
# Best over rounds: semsearch's fastest round, the reference's fastest round per
# torch thread count; the peak is the best measured in any round.
peak = max(load("sem0_%d.json" % r)["peak_gflops"] for r in range(rounds))
sgemm = max((load("sem0_%d.json" % r) for r in range(rounds)), key=lambda x: x["peak_gflops"]).get("sgemm", [])
rows = []
for k in range(n):
    sems = [load("sem%d_%d.json" % (k, r)) for r in range(rounds)]
    refs = [load("ref%d_%d.json" % (k, r)) for r in range(rounds)]
    s = dict(max(sems, key=lambda x: x["sentences_per_s"]))
    s["peak_gflops"], s["sgemm"], s["rounds"] = peak, sgemm, rounds
    s["pct_peak"] = round(100.0 * s["useful_gflops"] / peak, 1) if peak > 0 else -1
    s["load_before"], s["load_after"] = sems[0]["load_before"], sems[-1]["load_after"]
    s["sentences_per_s_by_round"] = [x["sentences_per_s"] for x in sems]
    r = dict(refs[-1])
    if r:
        byt = {}
        for x in refs:
            for t in x["by_threads"]:
                if t["torch_threads"] not in byt or t["sentences_per_s"] > byt[t["torch_threads"]]["sentences_per_s"]:
                    byt[t["torch_threads"]] = t
        r["by_threads"] = [byt[t] for t in sorted(byt)]
        b = max(r["by_threads"], key=lambda t: t["sentences_per_s"])
        r["best_threads"], r["best_sentences_per_s"], r["best_tokens_per_s"] = (
            b["torch_threads"], b["sentences_per_s"], b["tokens_per_s"])
        r["load_before"] = refs[0]["load_before"]
        r["best_sentences_per_s_by_round"] = [x["best_sentences_per_s"] for x in refs]
        r["rounds"] = rounds
    rows.append((s, r))
# ---- ONNX Runtime peer: per model, semsearch int8 (best round) and ORT (best
# round per variant and thread count); Spearman of semsearch's dumps here.
def spearman_x100(path, gold):
    try:
        import numpy as np
    except ImportError:
        return None
    e = np.fromfile(path, dtype=np.float32).astype(np.float64)
    if e.size == 0 or e.size % (2 * len(gold)):
        return None
    e = e.reshape(2 * len(gold), -1)
    a, b = e[0::2], e[1::2]
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    def rank(x):
        o = np.argsort(x, kind="mergesort"); xs = np.asarray(x)[o]; r = np.empty(len(x)); i = 0
        while i < len(x):
            j = i
            while j + 1 < len(x) and xs[j + 1] == xs[i]: j += 1
            r[o[i:j + 1]] = (i + j) / 2.0 + 1; i = j + 1
        return r
    return 100.0 * float(np.corrcoef(rank(cos), rank(np.asarray(gold)))[0, 1])
gold = []
for line in open(data, encoding="utf-8", newline="\n"):
    p = line.rstrip("\n").split("\t")
    if len(p) >= 7: gold.append(float(p[4]))
isa = open(os.path.join(d, "isa")).read().split()
ort_rows = []
for k in range(n):
    if not os.path.exists(os.path.join(d, "ort%d_0.json" % k)):
        ort_rows.append(None); continue
    s8 = max((load("sem8%d_%d.json" % (k, r)) for r in range(rounds)), key=lambda x: x["sentences_per_s"])
    orts = [load("ort%d_%d.json" % (k, r)) for r in range(rounds)]
    o = {"versions": orts[-1]["versions"], "variants": {}}
    for var in ("fp32", "int8"):
        byt = {}
        for x in orts:
            for t in x["variants"][var]["by_threads"]:
                if t["threads"] not in byt or t["sentences_per_s"] > byt[t["threads"]]["sentences_per_s"]:
                    byt[t["threads"]] = t
        v = dict(orts[-1]["variants"][var])
        v["by_threads"] = [byt[t] for t in sorted(byt)]
        b = max(v["by_threads"], key=lambda t: t["sentences_per_s"])
        v["best_threads"], v["best_sentences_per_s"] = b["threads"], b["sentences_per_s"]
        o["variants"][var] = v
    sb = None
    if os.path.exists(os.path.join(d, "semb%d_0.json" % k)):
        sb = max((load("semb%d_%d.json" % (k, r)) for r in range(rounds)), key=lambda x: x["sentences_per_s"])
    ort_rows.append({"semsearch_int8": s8, "ort": o, "semsearch_bf16": sb,
                     "spearman_semsearch_bf16": spearman_x100(os.path.join(d, "embb_%d.f32" % k), gold) if sb else None,
                     "spearman_semsearch_fp32": spearman_x100(os.path.join(d, "emb%d.f32" % k), gold),
                     "spearman_semsearch_int8": spearman_x100(os.path.join(d, "emb8_%d.f32" % k), gold)})
if as_json:
    for k, (s, r) in enumerate(rows):
        out = {"semsearch": s, "reference": r, "isa": isa}
        if r:
            out["ratio_vs_best"] = round(s["sentences_per_s"] / r["best_sentences_per_s"], 3)
        if ort_rows[k]:
            o = ort_rows[k]
            out["onnxruntime"] = o
            out["ratio_fp32_vs_ort"] = round(s["sentences_per_s"] / o["ort"]["variants"]["fp32"]["best_sentences_per_s"], 3)
            out["ratio_int8_vs_ort_int8"] = round(o["semsearch_int8"]["sentences_per_s"]
                                                  / o["ort"]["variants"]["int8"]["best_sentences_per_s"], 3)
            if o["semsearch_bf16"]:
                out["ratio_bf16_vs_semsearch_fp32"] = round(o["semsearch_bf16"]["sentences_per_s"] / s["sentences_per_s"], 3)
        print(json.dumps(out))
    sys.exit(0)
s0 = rows[0][0]
print("semsearch vs sentence-transformers — %s, %s (%d cores), STSb test %d sentences, batch %d, fp32"
      % (s0["date"], s0["cpu"], s0["ncpu"], s0["n_sentences"], s0["batch"]))
print("CPU ISA: %s" % (" ".join(isa) or "baseline x86-64"))
print("semsearch: %d threads, OpenBLAS %s (%d threads), best of %d runs x %d rounds; FP32 peak %.1f GFLOP/s (best large sgemm)"
      % (s0["threads"], s0["openblas_core"], s0["openblas_threads"], s0["runs"], rounds, peak))
for g in sgemm:
    print("    %-62s %6.1f GFLOP/s" % (g["name"], g["gflops"]))
r0 = rows[0][1]
if r0:
    print("reference: sentence-transformers %s, torch %s, best of %d runs x %d rounds; torch threads %s"
          % (r0["versions"]["sentence_transformers"], r0["versions"]["torch"], r0["runs"], rounds,
             ",".join(str(x["torch_threads"]) for x in r0["by_threads"])))
print()
hdr = ("model", "sent/s", "tokens/s", "GFLOP/s", "% peak", "ref 1t", "ref 2t", "ref best", "ratio", "max|diff|")
print("%-24s %8s %9s %8s %7s %8s %8s %9s %7s %9s" % hdr)
for s, r in rows:
    name = os.path.basename(os.path.normpath(s["model"]))
    byt = {x["torch_threads"]: x["sentences_per_s"] for x in r.get("by_threads", [])}
    best = r.get("best_sentences_per_s")
    ratio = "%.2fx" % (s["sentences_per_s"] / best) if best else "-"
    diff = "%.1e" % r["compare_max_abs_diff"] if "compare_max_abs_diff" in r else "-"
    f = lambda v: "%.1f" % v if v is not None else "-"
    print("%-24s %8.1f %9.0f %8.2f %6.1f%% %8s %8s %9s %7s %9s"
          % (name[:24], s["sentences_per_s"], s["tokens_per_s"], s["useful_gflops"], s["pct_peak"],
             f(byt.get(1)), f(byt.get(2)), f(best), ratio, diff))
if any(s["pct_peak"] > 100 for s, _ in rows):
    print("note: %% of peak over 100%%: the peak was measured while other processes took CPU; re-run (--boost)")
print()
for s, r in rows:
    name = os.path.basename(os.path.normpath(s["model"]))
    print("%s: %s" % (name, s["describe"]))
    print("  %d real tokens (%.2f/sentence); useful FLOPs = 2 x %d non-embedding params = %.2f MFLOP/token"
          % (s["real_tokens"], s["real_tokens"] / s["n_sentences"], s["params_non_embedding"],
             s["flops_per_token"] / 1e6))
    print("  semsearch best %.3f s, median %.3f s, %.2f cores busy; load %.2f -> %.2f"
          % (s["best_s"], s["median_s"], s["cores_busy"], s["load_before"][0], s["load_after"][0]))
    if rounds > 1:
        print("  semsearch sentences/s by round: %s" % ", ".join("%.1f" % v for v in s["sentences_per_s_by_round"]))
    for x in r.get("by_threads", []):
        print("  reference torch threads %d: best %.3f s, median %.3f s, %.2f cores busy, %.1f tokens/s"
              % (x["torch_threads"], x["best_s"], x["median_s"], x["cores_busy"], x["tokens_per_s"]))
    if r:
        if rounds > 1:
            print("  reference best sentences/s by round: %s"
                  % ", ".join("%.1f" % v for v in r["best_sentences_per_s_by_round"]))
        print("  reference padded tokens %d (%.1f%% padding); load %.2f -> %.2f"
              % (r["padded_tokens"], 100.0 * (r["padded_tokens"] - r["real_tokens"]) / r["padded_tokens"],
                 r["load_before"][0], r["load_after"][0]))
        if "compare_min_cosine" in r:
            print("  embeddings vs reference: max |diff| %.2e, min cosine %.7f"
                  % (r["compare_max_abs_diff"], r["compare_min_cosine"]))
if any(ort_rows):
    o0 = next(x for x in ort_rows if x)
    print()
    print("semsearch vs ONNX Runtime %s (same run; ORT fp32 = the exported Transformer, int8 = quantize_dynamic QInt8;"
          % o0["ort"]["versions"]["onnxruntime"])
    print("semsearch int8 = --compute int8, kernels: %s)" % o0["semsearch_int8"]["describe"].split("int8 linears")[-1].strip(" ()"))
    f = lambda v: "%.1f" % v if v is not None else "-"
    hdr = ("model", "variant", "semsearch", "ORT 1t", "ORT 2t", "ORT best", "ratio", "Sp. sem", "Sp. ORT", "cos ORT-sem")
    print("%-24s %7s %9s %8s %8s %9s %7s %8s %8s %11s" % hdr)
    for (s, r), o in zip(rows, ort_rows):
        if not o: continue
        name = os.path.basename(os.path.normpath(s["model"]))
        for var, sem, sp in (("fp32", s, o["spearman_semsearch_fp32"]), ("int8", o["semsearch_int8"], o["spearman_semsearch_int8"])):
            v = o["ort"]["variants"][var]
            byt = {x["threads"]: x["sentences_per_s"] for x in v["by_threads"]}
            print("%-24s %7s %9.1f %8s %8s %9.1f %6.2fx %8s %8.2f %11s"
                  % (name[:24], var, sem["sentences_per_s"], f(byt.get(1)), f(byt.get(2)), v["best_sentences_per_s"],
                     sem["sentences_per_s"] / v["best_sentences_per_s"], "%.2f" % sp if sp is not None else "-",
                     v["spearman_x100"], "%.6f" % v["compare_min_cosine"] if "compare_min_cosine" in v else "-"))
        if o["semsearch_bf16"]:
            sb, sp = o["semsearch_bf16"], o["spearman_semsearch_bf16"]
            print("%-24s %7s %9.1f   (semsearch bf16 / semsearch fp32 %.2fx, / ORT fp32 %.2fx; Sp. %s)"
                  % (name[:24], "bf16", sb["sentences_per_s"], sb["sentences_per_s"] / s["sentences_per_s"],
                     sb["sentences_per_s"] / o["ort"]["variants"]["fp32"]["best_sentences_per_s"],
                     "%.2f" % sp if sp is not None else "-"))
    print("(Sp. = STSb Spearman x100 over the pairs of this data file; cos ORT-sem = min cosine of ORT's embeddings"
          " to semsearch fp32's)")
PY
