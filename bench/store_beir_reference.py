#!/usr/bin/env python3
"""Reference BEIR pipeline for bench/store_beir.sh: sentence-transformers 2.7
(build/refvenv) encodes the corpus as BEIR's SentenceBERT model does
((title + " " + text).strip(), queries as given), exact cosine search (the
model ends in Normalize, so a dot product), top 100 (+1 when the own id is
dropped, as BEIR's ignore_identical_ids), and pytrec_eval (build/storevenv)
for nDCG@10 / MAP@100 / recall. It also scores the semsearch runs written by
store_beir.sh with pytrec_eval (an independent check of eval-ir), and compares
the vectors semsearch stored in SQLite with the reference's.

Needs torch + sentence_transformers and pytrec_eval: run it with the storevenv
python; the refvenv's site-packages are added to sys.path when sentence_transformers is not
importable (both venvs are Python 3.11 over the system site-packages)."""
import argparse
import glob
import json
import os
import sqlite3
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sentence_transformers  # noqa: F401
except ImportError:
    sys.path[:0] = glob.glob(os.path.join(ROOT, "build", "refvenv", "lib", "python3*", "site-packages"))
import numpy as np
import pytrec_eval
import torch
from sentence_transformers import SentenceTransformer

ap = argparse.ArgumentParser()
ap.add_argument("--beir", required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--drop-own-id", action="store_true")
ap.add_argument("--out", required=True)
ap.add_argument("--db", help="semsearch collection.db: compare its stored vectors")
ap.add_argument("--runs", help="prefix of semsearch TREC runs to score with pytrec_eval")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--encode-only", action="store_true", help="only fill the embedding cache")
a = ap.parse_args()
torch.set_num_threads(a.threads)

corpus = [json.loads(l) for l in open(os.path.join(a.beir, "corpus.jsonl"), encoding="utf-8")]
queries = [json.loads(l) for l in open(os.path.join(a.beir, "queries.jsonl"), encoding="utf-8")]
qrels = {}
with open(os.path.join(a.beir, "qrels.tsv"), encoding="utf-8") as f:
    next(f)
    for line in f:
        q, d, s = line.rstrip("\r\n").split("\t")
        qrels.setdefault(q, {})[d] = int(s)
queries = [q for q in queries if q["_id"] in qrels]

# The embeddings are cached next to --out (OUT.emb.npz), so the comparisons can
# be re-run after semsearch's runs are complete without encoding again.
cache = a.out + ".emb.npz"
if os.path.exists(cache):
    z = np.load(cache)
    D, Q, enc_s = z["D"], z["Q"], float(z["enc_s"])
else:
    model = SentenceTransformer(a.model, device="cpu")
    t0 = time.time()
    texts = [(d.get("title", "") + " " + d["text"]).strip() for d in corpus]
    D = model.encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=False)
    Q = model.encode([q["text"] for q in queries], batch_size=32, convert_to_numpy=True)
    enc_s = time.time() - t0
    np.savez(cache, D=D, Q=Q, enc_s=enc_s)
if a.encode_only:
    sys.exit(0)
ids = [d["_id"] for d in corpus]

k = 100
run = {}
for i in range(0, len(queries), 256):
    S = Q[i:i + 256] @ D.T
    for j, q in enumerate(queries[i:i + 256]):
        top = np.argsort(-S[j], kind="stable")[: k + 1]
        hits = {ids[t]: float(S[j, t]) for t in top if not (a.drop_own_id and ids[t] == q["_id"])}
        run[q["_id"]] = dict(list(hits.items())[:k])

measures = {"ndcg_cut.10", "map_cut.100", "recall.10", "recall.100"}
ev = pytrec_eval.RelevanceEvaluator(qrels, measures)


def mean(res, m):
    return sum(v[m] for v in res.values()) / len(res)


res = ev.evaluate(run)
out = {"ndcg@10": mean(res, "ndcg_cut_10"), "map@100": mean(res, "map_cut_100"), "recall@10": mean(res, "recall_10"),
       "recall@100": mean(res, "recall_100"), "queries": len(res), "encode_seconds": enc_s,
       "torch_threads": torch.get_num_threads()}

if a.runs:  # pytrec_eval on semsearch's runs (independent of eval-ir's own metric code)
    out["runs"] = {}
    for p in sorted(glob.glob(a.runs + "*.run")):
        r = {}
        for line in open(p):
            q, _, d, _, s, _ = line.split()
            r.setdefault(q, {})[d] = float(s)
        rr = ev.evaluate(r)
        # queries with no hit at all still count 0 in BEIR's mean
        out["runs"][os.path.basename(p)[len(os.path.basename(a.runs)):-4]] = sum(v["ndcg_cut_10"] for v in rr.values()) / len(res)

if a.db:  # semsearch's stored vectors vs the reference's
    con = sqlite3.connect(a.db)
    pos = {d: i for i, d in enumerate(ids)}
    mx, mincos = 0.0, 1.0
    for ext, blob in con.execute("SELECT d.ext_id, v.v FROM docs d JOIN vectors v ON v.rowid = d.rowid"):
        v = np.frombuffer(blob, dtype=np.float32)
        r = D[pos[ext]]
        mx = max(mx, float(np.abs(v - r).max()))
        mincos = min(mincos, float(v @ r / (np.linalg.norm(v) * np.linalg.norm(r))))
    out["vec_max_abs_diff"], out["vec_min_cos"] = mx, mincos

json.dump(out, open(a.out, "w"), indent=1)
print(json.dumps(out))
