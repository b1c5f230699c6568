#!/usr/bin/env python3
"""ONNX Runtime side of bench/embed: the model exported by
tools/reference/export_onnx.py (bench/ort_setup.sh), fp32 and ORT dynamic int8,
on the same STSb test sentences as bench/embed.c, batch 32.

The pipeline is sentence-transformers' own: texts sorted by descending length,
tokenised with the model folder's tokenizer.json with its fixed padding
(all-MiniLM-L6-v2's pads every input to 128) turned OFF and truncation at
max_seq_length, each batch padded to its longest, the Transformer in ORT, then
mean pooling over the attention mask and L2 normalisation in numpy, results
returned in input order. Times the whole encode (tokenisation included, as
for the other two sides), best of N runs after a warm-up, for each
intra-op thread count (default 1 and 2; inter-op 1, sequential execution).
Prints one JSON line (--json) or a table: sentences/s per variant and thread
count, and the STSb Spearman x100 of each variant (cosine vs gold score over
the pairs, scipy's average-rank Spearman in numpy).

    build/ortvenv/bin/python bench/embed_ort.py [--model DIR] [--onnx DIR] [--data FILE]
        [--runs N] [--threads 1,2] [--batch 32] [--compare FILE] [--json]

--compare FILE (bench_embed --dump) reports the smallest cosine of each
variant's embeddings to semsearch's.
"""
import argparse
import json
import os
import platform
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def read_sts(path):
    """(s1, s2, score) rows exactly as tools/reference/common.py reads them:
    tab-separated, no quoting; sentences are fields 5 and 6, score field 4."""
    rows = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 7:
                rows.append((p[5], p[6], float(p[4])))
    return rows


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


def rankdata(x):
    import numpy as np
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    xs = np.asarray(x)[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    return r


def spearman_x100(emb, gold):
    import numpy as np
    a, b = emb[0::2].astype(np.float64), emb[1::2].astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return 100.0 * float(np.corrcoef(rankdata(cos), rankdata(gold))[0, 1])


class Encoder:
    def __init__(self, model_dir, onnx_path, threads):
        import onnxruntime as ort
        from tokenizers import Tokenizer
        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        msl = 256
        sb = os.path.join(model_dir, "sentence_bert_config.json")
        if os.path.exists(sb):
            msl = json.load(open(sb)).get("max_seq_length", msl)
        self.lower = json.load(open(sb)).get("do_lower_case", False) if os.path.exists(sb) else False
        self.tok.no_padding()  # tokenizer.json pads to 128: off, each batch is padded to its longest
        self.tok.enable_truncation(max_length=msl)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.sess.get_inputs()}

    def encode(self, texts, batch):
        import numpy as np
        texts = [t.strip() for t in texts]
        if self.lower:
            texts = [t.lower() for t in texts]
        order = np.argsort([-len(t) for t in texts], kind="stable")  # sentence-transformers' _text_length
        res = [None] * len(texts)
        real = padded = 0
        for s in range(0, len(texts), batch):
            idx = order[s:s + batch]
            encs = self.tok.encode_batch([texts[i] for i in idx])
            L = max(len(e.ids) for e in encs)
            ids = np.zeros((len(encs), L), dtype=np.int64)
            mask = np.zeros((len(encs), L), dtype=np.int64)
            for r, e in enumerate(encs):
                ids[r, :len(e.ids)] = e.ids
                mask[r, :len(e.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            h = self.sess.run(None, feeds)[0]
            m = mask[..., None].astype(np.float32)
            e = (h * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            e /= np.clip(np.linalg.norm(e, axis=1, keepdims=True), 1e-12, None)
            for r, i in enumerate(idx):
                res[i] = e[r]
            real += int(mask.sum())
            padded += int(mask.size)
        out = np.stack(res).astype(np.float32)
        return out, real, padded


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--onnx", help="folder with model.onnx and model_int8.onnx (default build/onnx/<model name>)")
    ap.add_argument("--data", default=os.environ.get(
        "SEMSEARCH_STS_TEST", os.path.join(ROOT, "..", "shared", "data", "stsbenchmark", "sts-test.csv")))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--compare", help="bench_embed --dump file to compare against")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    import numpy as np
    import onnxruntime as ort

    onnx_dir = a.onnx or os.path.join(ROOT, "build", "onnx", os.path.basename(os.path.normpath(a.model)))
    variants = [("fp32", os.path.join(onnx_dir, "model.onnx")), ("int8", os.path.join(onnx_dir, "model_int8.onnx"))]
    for _, p in variants:
        if not os.path.exists(p):
            raise SystemExit("embed_ort.py: %s missing: run bench/ort_setup.sh" % p)
    rows = read_sts(a.data)
    texts = [t for r in rows for t in r[:2]]
    gold = np.array([r[2] for r in rows])
    other = None
    if a.compare:
        other = np.fromfile(a.compare, dtype=np.float32)
        other = other.reshape(len(texts), -1) if other.size % len(texts) == 0 else None
    load0 = loadavg()
    out = {"tool": "onnxruntime", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpu": cpu_model(),
           "ncpu": os.cpu_count(), "model": a.model, "onnx": onnx_dir, "data": a.data, "n_sentences": len(texts),
           "batch": a.batch, "runs": a.runs, "warmup": a.warmup,
           "versions": {"onnxruntime": ort.__version__, "numpy": np.__version__,
                        "python": platform.python_version()},
           "variants": {}}
    for name, path in variants:
        v = {"by_threads": []}
        for nt in [int(x) for x in a.threads.split(",") if x.strip()]:
            enc = Encoder(a.model, path, nt)
            for _ in range(a.warmup):
                emb, real, padded = enc.encode(texts, a.batch)
            times = []
            cpu0 = time.process_time()
            for _ in range(max(1, a.runs)):
                t0 = time.perf_counter()
                emb, real, padded = enc.encode(texts, a.batch)
                times.append(time.perf_counter() - t0)
            best = min(times)
            v["by_threads"].append({"threads": nt, "best_s": round(best, 4),
                                    "median_s": round(float(np.median(times)), 4),
                                    "cores_busy": round((time.process_time() - cpu0) / sum(times), 2),
                                    "sentences_per_s": round(len(texts) / best, 1),
                                    "tokens_per_s": round(real / best, 1)})
        b = max(v["by_threads"], key=lambda r: r["sentences_per_s"])
        v["best_threads"], v["best_sentences_per_s"] = b["threads"], b["sentences_per_s"]
        v["real_tokens"], v["padded_tokens"] = real, padded
        v["spearman_x100"] = round(spearman_x100(emb, gold), 4)
        if other is not None:
            e, o = emb.astype(np.float64), other.astype(np.float64)
            cos = (e * o).sum(1) / (np.linalg.norm(e, axis=1) * np.linalg.norm(o, axis=1))
            v["compare_min_cosine"], v["compare_mean_cosine"] = float(cos.min()), float(cos.mean())
        out["variants"][name] = v
    out["load_before"], out["load_after"] = load0, loadavg()
    if a.json:
        print(json.dumps(out))
        return
    print("onnxruntime %s — %s, %s (%d cores), %d sentences, batch %d; load %.2f -> %.2f" % (
        ort.__version__, out["date"], out["cpu"], out["ncpu"], len(texts), a.batch, load0[0], out["load_after"][0]))
    for name, v in out["variants"].items():
        for r in v["by_threads"]:
            print("  %s %d threads: best %.3f s, %.1f sentences/s, %.2f cores busy" % (
                name, r["threads"], r["best_s"], r["sentences_per_s"], r["cores_busy"]))
        print("  %s STSb Spearman x100 %.4f%s" % (name, v["spearman_x100"], (
            ", min cosine to --compare %.6f" % v["compare_min_cosine"]) if "compare_min_cosine" in v else ""))


if __name__ == "__main__":
    main()
