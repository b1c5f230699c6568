#!/usr/bin/env python3
"""Write ArguAna and SciFact in plain BEIR format for `semsearch add` + `eval-ir`
(bench/store_beir.sh): OUT/{arguana,scifact}/{corpus.jsonl,queries.jsonl,qrels.tsv}.
Data from ../shared/data (see their SOURCE.md); nothing is copied into the repo.
SciFact: corpus_train.csv (abstract = NumPy repr of a sentence list, parsed with
tokenize + literal_eval, sentences joined by spaces), queries = claims_validation
(300), qrels = (claim id, cited doc) pairs (339). Usage: store_beir_prep.py OUT"""
import ast
import csv
import gzip
import io
import json
import os
import sys
import tokenize
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("SEMSEARCH_DATA_DIR", os.path.join(ROOT, "..", "shared", "data"))
OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/beir"


def write(name, corpus, queries, qrels):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for c in corpus:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    with open(os.path.join(d, "queries.jsonl"), "w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    with open(os.path.join(d, "qrels.tsv"), "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, d2, s in qrels:
            f.write(f"{q}\t{d2}\t{s}\n")
    print(name, len(corpus), "docs", len(queries), "queries", len(qrels), "qrels")


def arguana():
    rd = lambda p: [json.loads(l) for l in gzip.open(os.path.join(DATA, "arguana", p), "rt", encoding="utf-8") if l.strip()]
    corpus = [{"_id": d["_id"], "title": d["title"], "text": d["text"]} for d in rd("corpus.jsonl.gz")]
    queries = [{"_id": q["_id"], "text": q["text"]} for q in rd("queries.jsonl.gz")]
    qrels = []
    with open(os.path.join(DATA, "arguana", "qrels", "test.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, s = line.rstrip("\r\n").split("\t")
            qrels.append((q, d, int(s)))
    write("arguana", corpus, queries, qrels)


def sentences(rep):
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(rep).readline):
        if tok.type == tokenize.STRING:
            out.append(ast.literal_eval(tok.string))
    return out


def scifact():
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(os.path.join(DATA, "scifact", "scifact.zip")) as z:
        rd = lambda m: csv.DictReader(io.TextIOWrapper(z.open(m), encoding="utf-8"))
        corpus = [{"_id": r["doc_id"], "title": r["title"], "text": " ".join(sentences(r["abstract"]))}
                  for r in rd("corpus_train.csv")]
        queries, qrels, seen = [], [], set()
        for r in rd("claims_validation.csv"):
            if r["id"] not in seen:
                seen.add(r["id"])
                queries.append({"_id": r["id"], "text": r["claim"]})
            for d in "".join(c if c.isdigit() else " " for c in r["cited_doc_ids"]).split():
                if (r["id"], d, 1) not in qrels:
                    qrels.append((r["id"], d, 1))
    write("scifact", corpus, queries, qrels)


arguana()
scifact()
