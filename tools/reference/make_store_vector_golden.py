#!/usr/bin/env python3
"""Golden for the seed collection (tests/store/test_store_seed.c): the ten
documents of tests/store/data/seed_docs.jsonl and the three queries of
seed_queries.txt through sentence-transformers' util.semantic_search with
all-MiniLM-L6-v2 (cosine, top 10), as the "Contextual Embeddings" seed does.

Run with the reference venv (tools/reference/setup-venv.sh):
  build/refvenv/bin/python tools/reference/make_store_vector_golden.py
Writes tests/store/golden/seed_vector.json."""
import json
import os
import sys

from sentence_transformers import SentenceTransformer, util

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "store", "data")
model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "all-MiniLM-L6-v2")

docs = [json.loads(l) for l in open(os.path.join(DATA, "seed_docs.jsonl"), encoding="utf-8") if l.strip()]
queries = [l.rstrip("\n") for l in open(os.path.join(DATA, "seed_queries.txt"), encoding="utf-8") if l.strip()]
model = SentenceTransformer(model_dir, device="cpu")
corpus_emb = model.encode([d["text"] for d in docs], convert_to_tensor=True)
query_emb = model.encode(queries, convert_to_tensor=True)
hits = util.semantic_search(query_emb, corpus_emb, top_k=len(docs))
out = []
for q, hs in zip(queries, hits):
    out.append({"query": q, "hits": [{"id": docs[h["corpus_id"]]["id"], "score": float(h["score"])} for h in hs]})
path = os.path.join(ROOT, "tests", "store", "golden", "seed_vector.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump({"model": "all-MiniLM-L6-v2", "source": "sentence_transformers.util.semantic_search", "queries": out},
              f, indent=1)
print("wrote", path, [o["hits"][0]["id"] for o in out])
