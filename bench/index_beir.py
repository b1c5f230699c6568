#!/usr/bin/env python3
"""Real-vector check of the index on the two BEIR sets, through the CLI that
outside checks use (`semsearch index build` / `index query`):

  * HNSW recall@10 against the exact (flat) index, over an ef sweep, with the
    real queries (ArguAna: 1,406 arguments over 8,674 docs; SciFact: 300
    claims over 5,183 abstracts);
  * retrieval quality nDCG@10 of the exact and the HNSW results against the
    BEIR qrels (ArguAna drops a hit whose doc id equals the query id, as BEIR's
    evaluation does: every query is itself a corpus document).

Reads the embeddings written by bench/index_data.sh (build/index-data/*.fvecs,
all-MiniLM-L6-v2 through `semsearch embed`).  Standard library + numpy only.
usage: index_beir.py [DATA_DIR] [EMB_DIR] [CLI]"""
import csv, gzip, io, json, math, os, subprocess, sys, tempfile, zipfile

DATA = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
EMB = sys.argv[2] if len(sys.argv) > 2 else "build/index-data"
CLI = sys.argv[3] if len(sys.argv) > 3 else "build/semsearch"
EFS = [10, 16, 32, 64, 128]


def jsonl_gz(p):
    with gzip.open(p, "rt", encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def arguana():
    corpus = [d["_id"] for d in jsonl_gz(f"{DATA}/arguana/corpus.jsonl.gz")]
    queries = [d["_id"] for d in jsonl_gz(f"{DATA}/arguana/queries.jsonl.gz")]
    qrels = {}
    with open(f"{DATA}/arguana/qrels/test.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, s = line.rstrip("\r\n").split("\t")
            qrels.setdefault(q, {})[d] = int(s)
    return corpus, queries, qrels, True


def scifact():
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(f"{DATA}/scifact/scifact.zip") as z:
        rd = lambda m: csv.DictReader(io.TextIOWrapper(z.open(m), encoding="utf-8"))
        corpus = [r["doc_id"] for r in rd("corpus_train.csv")]
        queries, qrels = [], {}
        for r in rd("claims_validation.csv"):
            if r["id"] not in qrels:
                queries.append(r["id"])
                qrels[r["id"]] = {}
            for d in "".join(c if c.isdigit() else " " for c in r["cited_doc_ids"]).split():
                qrels[r["id"]][d] = 1
    return corpus, queries, qrels, False


def run(*args):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{CLI} {' '.join(map(str, args))}: {p.stderr.strip()}")
    return p.stdout


def query(idx, qf, k, ef=None):
    out = run("index", "query", idx, qf, "-k", k, *(["--ef", ef] if ef else []))
    return [json.loads(l)["ids"] for l in out.splitlines() if l.strip()]


def ndcg10(rows, corpus, queries, qrels, drop_self):
    total = 0.0
    for qi, ids in enumerate(rows):
        q = queries[qi]
        docs = [corpus[i] for i in ids if i >= 0]
        if drop_self:
            docs = [d for d in docs if d != q]
        rel = qrels.get(q, {})
        dcg = sum(rel.get(d, 0) / math.log2(r + 2) for r, d in enumerate(docs[:10]))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
        total += dcg / idcg if idcg > 0 else 0.0
    return 100 * total / len(rows)


def recall10(got, truth):
    return sum(len(set(g[:10]) & set(t[:10])) for g, t in zip(got, truth)) / (10 * len(truth))


print("| set | docs x queries | index | ef | recall@10 vs exact | nDCG@10 |")
print("|---|---|---|---|---|---|")
with tempfile.TemporaryDirectory() as tmp:
    for name, load, cf, qf in (("ArguAna", arguana, "arguana_corpus", "arguana_queries"),
                               ("SciFact", scifact, "scifact_corpus", "scifact_queries")):
        corpus, queries, qrels, drop_self = load()
        cfile, qfile = f"{EMB}/{cf}.fvecs", f"{EMB}/{qf}.fvecs"
        if not (os.path.exists(cfile) and os.path.exists(qfile)):
            print(f"| {name} | missing {cfile} or {qfile}: run bench/index_data.sh | | | | |")
            continue
        nd = os.path.getsize(cfile) // (4 * 385)
        if nd != len(corpus):
            sys.exit(f"{cfile}: {nd} vectors but the corpus has {len(corpus)} docs")
        k = 11 if drop_self else 10  # one extra so dropping the query itself leaves 10
        flat, hnsw = f"{tmp}/{cf}.flat", f"{tmp}/{cf}.hnsw"
        run("index", "build", cfile, "--out", flat, "--type", "flat")
        truth = query(flat, qfile, k)
        if len(truth) != len(queries):
            sys.exit(f"{qfile}: {len(truth)} queries, expected {len(queries)}")
        dims = f"{len(corpus):,} x {len(queries):,}"
        print(f"| {name} | {dims} | exact | | 1 | {ndcg10(truth, corpus, queries, qrels, drop_self):.2f} |")
        for quant in ("none", "int8", "binary"):
            run("index", "build", cfile, "--out", hnsw, "--type", "hnsw", "--quantize", quant)
            for ef in EFS:
                got = query(hnsw, qfile, k, ef)
                label = "HNSW fp32" if quant == "none" else f"HNSW {quant}+rescore"
                print(f"| {name} | {dims} | {label} | {ef} | {recall10(got, truth):.4f} | "
                      f"{ndcg10(got, corpus, queries, qrels, drop_self):.2f} |", flush=True)
