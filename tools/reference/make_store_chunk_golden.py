#!/usr/bin/env python3
"""Golden for chunked collections (tests/store/test_store_chunk.c).

The documents of tests/store/data/chunk_docs.jsonl (sentences on four topics,
repeated to 150-300 words, with accents, newlines and Japanese; one short
document), embedded text = title + " " + text (`--fields title,text`).

An independent re-implementation of semsearch's chunking rule (src/store/chunk.c)
on the Hugging Face tokenizer: whitespace-separated segments, tokens counted
per segment with the model's tokenizer (no special tokens); a passage = as many
whole segments as fit in N tokens; the next passage starts at the latest
segment such that the shared segments hold >= M tokens (at least one segment
later than the previous start, and late enough that the next segment fits).
Offsets are Python str (code point) offsets into the embedded text.

Each passage text = body[start:end] is embedded with sentence-transformers
(all-MiniLM-L6-v2) and scored against the queries (cosine, util.cos_sim).

Run with the reference venv:
  build/refvenv/bin/python tools/reference/make_store_chunk_golden.py
Writes tests/store/golden/chunk.json."""
import json
import os
import re
import sys

from sentence_transformers import SentenceTransformer, util

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
docs = [json.loads(l) for l in open(os.path.join(ROOT, "tests", "store", "data", "chunk_docs.jsonl"), encoding="utf-8")]
QUERIES = ["How cold are the telescope's instruments?", "How do I make risotto creamy?",
           "What do mRNA vaccines do?", "What is the world record for the marathon?"]
model = SentenceTransformer(model_dir, device="cpu")
tok = model.tokenizer


def chunk(text, n, m):
    segs = []
    for mt in re.finditer(r"\S+", text):
        k = len(tok(mt.group(0), add_special_tokens=False)["input_ids"])
        if k > 0:
            segs.append((mt.start(), mt.end(), k))
    out, a = [], 0
    while a < len(segs):
        z, t = a + 1, segs[a][2]
        while z < len(segs) and t + segs[z][2] <= n:
            t += segs[z][2]
            z += 1
        out.append({"start": segs[a][0], "end": segs[z - 1][1], "ntok": t})
        if z == len(segs):
            break
        nxt, shared = z, 0
        while nxt > a + 1 and shared < m:
            nxt -= 1
            shared += segs[nxt][2]
        while nxt < z and shared + segs[z][2] > n:
            shared -= segs[nxt][2]
            nxt += 1
        a = nxt
    return out


settings = [(64, 16), (40, 0), (100, 30), (16, 15)]
gold = {"model": "all-MiniLM-L6-v2", "queries": QUERIES, "settings": []}
for n, m in settings:
    entry = {"chunk_tokens": n, "chunk_overlap": m, "docs": []}
    for d in docs:
        body = d["title"] + " " + d["text"]
        ps = chunk(body, n, m)
        # the whole body tokenizes to the segments' tokens, one after another
        assert len(tok(body, add_special_tokens=False)["input_ids"]) == sum(
            len(tok(s, add_special_tokens=False)["input_ids"]) for s in body.split())
        entry["docs"].append({"id": d["id"], "passages": ps})
    gold["settings"].append(entry)

# scores for the first setting (the collection the test builds)
e0 = gold["settings"][0]
q_emb = model.encode(QUERIES, convert_to_tensor=True)
for d, gd in zip(docs, e0["docs"]):
    body = d["title"] + " " + d["text"]
    texts = [body[p["start"]:p["end"]] for p in gd["passages"]]
    emb = model.encode(texts, convert_to_tensor=True)
    sims = util.cos_sim(q_emb, emb)
    for p, i in zip(gd["passages"], range(len(texts))):
        p["scores"] = [float(sims[q][i]) for q in range(len(QUERIES))]
        # tokens of the passage text on its own = ntok (offsets exact at token level)
        assert len(tok(texts[i], add_special_tokens=False)["input_ids"]) == p["ntok"]
path = os.path.join(ROOT, "tests", "store", "golden", "chunk.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump(gold, f, indent=1, ensure_ascii=False)
print("wrote", path, [len(x["passages"]) for x in e0["docs"]])
