#!/usr/bin/env python3
"""A cheaper check of bench/store_beir.sh's vector runs when the full
reference encode (bench/store_beir_reference.py) cannot finish on a shared
machine: sentence-transformers 2.7 encodes ALL queries and a seeded random
SAMPLE of the corpus; (1) the sample's vectors are compared with the vectors
semsearch stored in SQLite (max |diff|, min cosine); (2) exact cosine search
of the reference's query vectors over semsearch's stored corpus vectors,
scored with pytrec_eval (nDCG@10), is compared with eval-ir's figure and with
pytrec_eval on semsearch's own TREC run. (1) checks the encoder, (2) the
search + metrics, so together they bound the difference to the full reference.

  build/storevenv/bin/python bench/store_beir_reference_sample.py --beir DIR --db collection.db \\
      --model models/all-MiniLM-L6-v2 --sample 400 [--drop-own-id] [--runs PREFIX] --out OUT.json"""
import argparse
import glob
import json
import os
import random
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
ap.add_argument("--db", required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--sample", type=int, default=400)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--drop-own-id", action="store_true")
ap.add_argument("--runs")
ap.add_argument("--out", required=True)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
corpus = {}
for l in open(os.path.join(a.beir, "corpus.jsonl"), encoding="utf-8"):
    d = json.loads(l)
    corpus[d["_id"]] = (d.get("title", "") + " " + d["text"]).strip()
qrels = {}
with open(os.path.join(a.beir, "qrels.tsv"), encoding="utf-8") as f:
    next(f)
    for line in f:
        q, d, s = line.rstrip("\r\n").split("\t")
        qrels.setdefault(q, {})[d] = int(s)
queries = [json.loads(l) for l in open(os.path.join(a.beir, "queries.jsonl"), encoding="utf-8")]
queries = [q for q in queries if q["_id"] in qrels]
con = sqlite3.connect(a.db)
ids, vecs = [], []
for ext, blob in con.execute("SELECT d.ext_id, v.v FROM docs d JOIN vectors v ON v.rowid = d.rowid ORDER BY d.rowid"):
    ids.append(ext)
    vecs.append(np.frombuffer(blob, dtype=np.float32))
D = np.stack(vecs)
assert sorted(ids) == sorted(corpus), "the collection holds other documents than the corpus"
model = SentenceTransformer(a.model, device="cpu")
t0 = time.time()
Q = model.encode([q["text"] for q in queries], batch_size=32, convert_to_numpy=True)
rng = random.Random(a.seed)
sample = rng.sample(range(len(ids)), min(a.sample, len(ids)))
S = model.encode([corpus[ids[i]] for i in sample], batch_size=32, convert_to_numpy=True)
enc_s = time.time() - t0
diff = float(np.abs(S - D[sample]).max())
cos = float(min((S[j] @ D[i]) / (np.linalg.norm(S[j]) * np.linalg.norm(D[i])) for j, i in enumerate(sample)))
Dn = D / np.linalg.norm(D, axis=1, keepdims=True)
Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
run = {}
sims = Qn @ Dn.T
for j, q in enumerate(queries):
    top = np.argsort(-sims[j], kind="stable")[:101]
    hits = [(ids[t], float(sims[j, t])) for t in top if not (a.drop_own_id and ids[t] == q["_id"])][:100]
    run[q["_id"]] = dict(hits)
ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"})
res = ev.evaluate(run)
out = {"ndcg@10": sum(v["ndcg_cut_10"] for v in res.values()) / len(res), "queries": len(res),
       "sample": len(sample), "sample_max_abs_diff": diff, "sample_min_cos": cos, "encode_seconds": enc_s}
if a.runs:
    out["runs"] = {}
    for p in sorted(glob.glob(a.runs + "*.run")):
        r = {}
        for line in open(p):
            q, _, d, _, s, _ = line.split()
            r.setdefault(q, {})[d] = float(s)
        rr = ev.evaluate(r)
        out["runs"][os.path.basename(p)[len(os.path.basename(a.runs)):-4]] = sum(v["ndcg_cut_10"] for v in rr.values()) / len(res)
json.dump(out, open(a.out, "w"), indent=1)
print(json.dumps(out))
