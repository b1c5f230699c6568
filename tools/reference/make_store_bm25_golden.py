#!/usr/bin/env python3
"""BM25 goldens for tests/store/test_store_bm25.c.

Tokens come from semsearch's own analyzer (`build/semsearch analyze`), so the
check is of the scoring on the same tokens, as the issue asks. Two corpora:
  - the ten seed documents (every document < 24 tokens, where Lucene's
    one-byte length norm is exact): scores from bm25s (method="lucene");
  - tests/store/data/bm25_long.jsonl, written here (seeded, 40 documents of
    20-400 tokens), where Lucene's SmallFloat.intToByte4 length quantisation
    matters: scores from Lucene's formula with a port of SmallFloat below,
    cross-checked against bm25s on the unquantised lengths first.
Run: build/storevenv/bin/python tools/reference/make_store_bm25_golden.py
(tools/reference/setup-store-venv.sh makes the venv; build/semsearch must exist).
Writes tests/store/golden/bm25.json."""
import json
import math
import os
import random
import subprocess

import bm25s
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "store", "data")
CLI = os.path.join(ROOT, "build", "semsearch")
K1, B = 1.2, 0.75


def analyze(texts, analyzer):
    p = subprocess.run([CLI, "analyze", "--analyzer", analyzer], input="\n".join(texts) + "\n",
                       capture_output=True, text=True, check=True)
    lines = p.stdout.split("\n")[: len(texts)]
    return [l.split() for l in lines]


# ---- org.apache.lucene.util.SmallFloat ----
def long_to_int4(i):
    nbits = i.bit_length()
    if nbits < 4:
        return i
    shift = nbits - 4
    enc = (i >> shift) & 0x07
    return enc | ((shift + 1) << 3)


def int4_to_long(i):
    bits = i & 0x07
    shift = (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


MAX_INT4 = long_to_int4(2**31 - 1)
NUM_FREE = 255 - MAX_INT4


def int_to_byte4(i):
    return i if i < NUM_FREE else NUM_FREE + long_to_int4(i - NUM_FREE)


def byte4_to_int(b):
    return b if b < NUM_FREE else min(NUM_FREE + int4_to_long(b - NUM_FREE), 2**31 - 1)


def lucene_scores(doc_toks, q_toks, quantize):
    n = len(doc_toks)
    avgdl = sum(len(d) for d in doc_toks) / n
    out = np.zeros(n)
    for t in q_toks:  # a repeated query term counts again (BooleanQuery SHOULD clauses)
        df = sum(1 for d in doc_toks if t in d)
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, d in enumerate(doc_toks):
            f = d.count(t)
            if not f:
                continue
            dl = byte4_to_int(int_to_byte4(len(d))) if quantize else len(d)
            out[i] += idf * f / (f + K1 * (1 - B + B * dl / avgdl))
    return out


def bm25s_scores(doc_toks, q_toks):
    r = bm25s.BM25(method="lucene", k1=K1, b=B)
    r.index(doc_toks, show_progress=False)
    return np.asarray(r.get_scores(q_toks), dtype=np.float64)


def make_long_corpus():
    seed = [json.loads(l) for l in open(os.path.join(DATA, "seed_docs.jsonl"), encoding="utf-8")]
    sents = [d["text"] for d in seed]
    rng = random.Random(9)
    docs = []
    for i in range(40):
        n = rng.choice([2, 3, 5, 8, 13, 21, 34])
        docs.append({"id": "long%02d" % i, "text": " ".join(rng.choice(sents) for _ in range(n))})
    with open(os.path.join(DATA, "bm25_long.jsonl"), "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    return docs


QUERIES = ["pyramids of Egypt", "machines that learn", "How do plants survive?", "history of the empires",
           "theory of space and time", "What is AI?", "the the of", "learn learn data"]


def corpus_golden(name, docs, analyzer, quantize):
    toks = analyze([d["text"] for d in docs], analyzer)
    out = []
    for q in QUERIES:
        qt = analyze([q], analyzer)[0]
        ref = bm25s_scores(toks, qt) if qt else np.zeros(len(docs))
        mine = lucene_scores(toks, qt, quantize=False)
        assert np.allclose(ref, mine, rtol=1e-5, atol=1e-6), (name, q, ref, mine)
        gold = lucene_scores(toks, qt, quantize=True) if quantize else ref
        hits = [{"id": docs[i]["id"], "score": float(gold[i])} for i in np.argsort(-gold, kind="stable") if gold[i] > 0]
        out.append({"query": q, "tokens": qt, "hits": hits})
    return {"corpus": name, "analyzer": analyzer, "k1": K1, "b": B,
            "source": "bm25s lucene" if not quantize else "Lucene formula + SmallFloat norms (checked vs bm25s unquantised)",
            "queries": out}


def main():
    seed = [json.loads(l) for l in open(os.path.join(DATA, "seed_docs.jsonl"), encoding="utf-8")]
    long_docs = make_long_corpus()
    g = {"smallfloat": [[i, byte4_to_int(int_to_byte4(i))] for i in [0, 1, 23, 24, 25, 31, 32, 40, 100, 255, 1000, 123456]],
         "sets": [corpus_golden("seed_docs.jsonl", seed, "english", False),
                  corpus_golden("seed_docs.jsonl", seed, "standard", False),
                  corpus_golden("bm25_long.jsonl", long_docs, "english", True)]}
    path = os.path.join(ROOT, "tests", "store", "golden", "bm25.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(g, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
