#!/usr/bin/env python3
"""Reference side of bench/embed: sentence-transformers on the same sentences.

Times SentenceTransformer.encode(texts, batch_size=32, convert_to_numpy=True)
over the 2,758 STSb test sentences (read exactly as bench/embed.c and
tools/reference/common.py read them), best of N runs after one warm-up run,
at each torch.set_num_threads() value given (default 1 and 2), and prints one
JSON line (--json) or a short table. Run it with build/refvenv/bin/python
(tools/reference/setup-venv.sh). See docs/bench-embed.md.

    build/refvenv/bin/python bench/embed_reference.py [--model DIR] [--runs N]
        [--threads 1,2] [--batch 32] [--compare FILE] [--json]

--compare FILE reads bench_embed --dump output (n x dim float32, input order)
and reports the largest absolute difference and the smallest cosine against
the reference embeddings, so that the benchmark also shows both sides compute
the same thing.
"""
import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))


def read_sentences(path):
    from common import read_sts, sts_texts  # noqa: E402  (tools/reference)
    return sts_texts(read_sts(path))


def loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return [-1.0, -1.0, -1.0]


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def token_counts(model, texts, batch):
    """Real tokens and padded tokens, batching exactly as encode() does
    (sorted by descending text length, padded to each batch's longest)."""
    import numpy as np
    order = np.argsort([-model._text_length(t) for t in texts])
    real = padded = 0
    for s in range(0, len(texts), batch):
        feats = model.tokenize([texts[i] for i in order[s:s + batch]])
        real += int(feats["attention_mask"].sum())
        padded += int(feats["input_ids"].numel())
    return real, padded


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join("models", "all-MiniLM-L6-v2"))
    ap.add_argument("--data", default=os.environ.get(
        "SEMSEARCH_STS_TEST", "/work/shared/data/stsbenchmark/sts-test.csv"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", default="1,2",
                    help="comma-separated torch.set_num_threads values (default 1,2)")
    ap.add_argument("--compare", help="bench_embed --dump file to compare against")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    import numpy as np
    import torch
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    texts = read_sentences(a.data)
    load0 = loadavg()
    model = SentenceTransformer(a.model, device="cpu")
    real, padded = token_counts(model, texts, a.batch)

    results = []
    emb = None
    for nt in [int(x) for x in a.threads.split(",") if x.strip()]:
        torch.set_num_threads(nt)
        for _ in range(a.warmup):
            emb = model.encode(texts, batch_size=a.batch, convert_to_numpy=True,
                               show_progress_bar=False)
        times = []
        cpu0 = time.process_time()
        for _ in range(max(1, a.runs)):
            t0 = time.perf_counter()
            emb = model.encode(texts, batch_size=a.batch, convert_to_numpy=True,
                               show_progress_bar=False)
            times.append(time.perf_counter() - t0)
        cores = (time.process_time() - cpu0) / sum(times)
        best = min(times)
        results.append({
            "torch_threads": nt,
            "times_s": [round(t, 4) for t in times],
            "best_s": round(best, 4),
            "median_s": round(float(np.median(times)), 4),
            "cores_busy": round(cores, 2),
            "sentences_per_s": round(len(texts) / best, 1),
            "tokens_per_s": round(real / best, 1),
        })
    best = max(results, key=lambda r: r["sentences_per_s"])

    out = {
        "tool": "sentence-transformers",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpu": cpu_model(),
        "ncpu": os.cpu_count(),
        "model": a.model,
        "data": a.data,
        "n_sentences": len(texts),
        "real_tokens": real,
        "padded_tokens": padded,
        "batch": a.batch,
        "warmup": a.warmup,
        "runs": a.runs,
        "versions": {
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "python": platform.python_version(),
        },
        "env": {k: os.environ.get(k) for k in
                ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        "torch_interop_threads": torch.get_num_interop_threads(),
        "by_threads": results,
        "best_threads": best["torch_threads"],
        "best_sentences_per_s": best["sentences_per_s"],
        "best_tokens_per_s": best["tokens_per_s"],
        "load_before": load0,
        "load_after": loadavg(),
    }
    if a.compare:
        other = np.fromfile(a.compare, dtype=np.float32)
        if other.size != emb.size:
            out["compare_error"] = "size %d, expected %d" % (other.size, emb.size)
        else:
            other = other.reshape(emb.shape)
            ref = emb.astype(np.float64)
            oth = other.astype(np.float64)
            cos = (ref * oth).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(oth, axis=1))
            out["compare_max_abs_diff"] = float(np.abs(ref - oth).max())
            out["compare_min_cosine"] = float(cos.min())

    if a.json:
        print(json.dumps(out))
        return
    print("sentence-transformers %s, torch %s — %s" % (
        sentence_transformers.__version__, torch.__version__, out["date"]))
    print("  machine      %s, %d cores; load %.2f before, %.2f after" % (
        out["cpu"], out["ncpu"], load0[0], out["load_after"][0]))
    print("  input        %d sentences, %d real tokens, %d padded tokens (%.1f%% padding)" % (
        len(texts), real, padded, 100.0 * (padded - real) / padded))
    for r in results:
        print("  torch threads %d: best %.3f s, median %.3f s, %.2f cores busy, %.1f sentences/s, %.1f tokens/s" % (
            r["torch_threads"], r["best_s"], r["median_s"], r["cores_busy"],
            r["sentences_per_s"], r["tokens_per_s"]))
    print("  best         %.1f sentences/s (torch threads %d)" % (
        best["sentences_per_s"], best["torch_threads"]))
    if "compare_max_abs_diff" in out:
        print("  vs --compare max |diff| %.2e, min cosine %.7f" % (
            out["compare_max_abs_diff"], out["compare_min_cosine"]))
    elif "compare_error" in out:
        print("  vs --compare: " + out["compare_error"])


if __name__ == "__main__":
    main()
