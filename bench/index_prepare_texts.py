#!/usr/bin/env python3
"""Write the text sets the index tests / benchmarks embed (one text per line).

  arguana_corpus.txt   8,674 ArguAna docs (title + " " + text), BEIR order
  arguana_queries.txt  1,406 ArguAna queries
  scifact_corpus.txt   5,183 SciFact docs (corpus_train.csv) (title + " " + text)
  scifact_queries.txt  300 SciFact test claims (claims_validation.csv, BEIR's test queries)
  big.txt              205,000 unique texts (BIG_MAX): every sentence of STSb
                       (train/dev/test), SICK, SNLI (dev/test s1+s2), ArguAna
                       passages and queries and SciFact abstracts split into
                       sentences, plus the ArguAna generated queries and two-sentence sliding
                       windows (chunks) of the ArguAna and SciFact passages.
Usage: index_prepare_texts.py DATA_DIR OUT_DIR
"""
import ast, gzip, io, json, os, re, sys, tokenize, zipfile

data, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
clean = lambda s: " ".join(s.split())

def jsonl_gz(p):
    with gzip.open(p, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)

def write(name, texts):
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        for t in texts:
            f.write(t + "\n")
    print(name, len(texts))

arg = [clean((d.get("title", "") + " " + d["text"]).strip()) for d in jsonl_gz(f"{data}/arguana/corpus.jsonl.gz")]
argq = [clean(d["text"]) for d in jsonl_gz(f"{data}/arguana/queries.jsonl.gz")]
write("arguana_corpus.txt", arg)
write("arguana_queries.txt", argq)

import csv
csv.field_size_limit(1 << 30)
sci, sci_sents = [], []

def abstract_sentences(field):
    # the field is a NumPy array repr of str elements separated by newline+space
    # (no commas): read each Python string token (escapes decoded), as SOURCE.md says
    toks = tokenize.generate_tokens(io.StringIO(field).readline)
    return [ast.literal_eval(t.string) for t in toks if t.type == tokenize.STRING]
with zipfile.ZipFile(f"{data}/scifact/scifact.zip") as z:
    for row in csv.DictReader(io.TextIOWrapper(z.open("corpus_train.csv"), encoding="utf-8")):
        sents = [clean(x) for x in abstract_sentences(row["abstract"])]
        sci_sents.extend(sents)
        sci.append(clean(row["title"] + " " + " ".join(sents)))
write("scifact_corpus.txt", sci)
# BEIR SciFact test queries: the 300 claims of claims_validation.csv (first row of each id)
with zipfile.ZipFile(f"{data}/scifact/scifact.zip") as z:
    seen_q, sciq = set(), []
    for row in csv.DictReader(io.TextIOWrapper(z.open("claims_validation.csv"), encoding="utf-8")):
        if row["id"] not in seen_q:
            seen_q.add(row["id"])
            sciq.append(clean(row["claim"]))
write("scifact_queries.txt", sciq)

split = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
seen, big = set(), []
def add(t):
    t = clean(t)
    if len(t) >= 3 and t not in seen:
        seen.add(t)
        big.append(t)

for part in ("train", "dev", "test"):
    with open(f"{data}/stsbenchmark/sts-{part}.csv", encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 7:
                add(cols[5]); add(cols[6])
with open(f"{data}/sick/SICK.txt", encoding="utf-8") as f:
    next(f)
    for line in f:
        cols = line.split("\t")
        if len(cols) > 2:
            add(cols[1]); add(cols[2])
for fn in ("s1.dev", "s2.dev", "s1.test", "s2.test"):
    with open(f"{data}/snli/{fn}", encoding="utf-8") as f:
        for line in f:
            add(line)
for doc in arg + argq:
    for s in split.split(doc):
        add(s)
for s in sci_sents:
    add(s)
for d in jsonl_gz(f"{data}/arguana/generated-queries/train.jsonl.gz"):
    add(d.get("query", ""))
# two-sentence sliding windows (passage chunks) of ArguAna docs and SciFact abstracts
for doc in arg:
    ss = split.split(doc)
    for i in range(len(ss) - 1):
        add(ss[i] + " " + ss[i + 1])
for doc in sci:
    ss = split.split(doc)
    for i in range(len(ss) - 1):
        add(ss[i] + " " + ss[i + 1])
# cap (embedding 2 cores is slow); the first 205,000 keep every source but part of the windows
BIG_MAX = int(os.environ.get("BIG_MAX", "205000"))
write("big.txt", big[:BIG_MAX])
