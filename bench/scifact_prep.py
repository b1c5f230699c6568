#!/usr/bin/env python3
"""SciFact for the MNRL recipe (bench/train_scifact.sh), from ../shared/data/scifact/scifact.zip
(see its SOURCE.md); nothing is copied into the repo. Writes to OUT:
  train.jsonl   one {"anchor": claim, "positive": title + " " + abstract} per unique
                (claim, cited doc) pair of claims_train.csv (919 pairs)
  corpus.jsonl, queries.jsonl, qrels.tsv   the BEIR test split, exactly as bench/store_beir_prep.py
                writes it (corpus_train.csv; the 300 claims_validation claims; 339 qrels)
The positive text is the one `semsearch add --fields title,text` embeds for that document (title,
a space, the abstract's sentences joined by spaces), so training and retrieval see the same text.
Usage: scifact_prep.py OUT"""
import csv
import io
import json
import os
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import store_beir_prep as beir  # noqa: E402  (its module body writes both BEIR sets to OUT)

OUT = beir.OUT


def main():
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(os.path.join(beir.DATA, "scifact", "scifact.zip")) as z:
        rd = lambda m: csv.DictReader(io.TextIOWrapper(z.open(m), encoding="utf-8"))
        docs = {r["doc_id"]: r["title"] + " " + " ".join(beir.sentences(r["abstract"])) for r in rd("corpus_train.csv")}
        pairs, seen = [], set()
        for r in rd("claims_train.csv"):
            for d in "".join(c if c.isdigit() else " " for c in r["cited_doc_ids"]).split():
                if (r["id"], d) in seen:
                    continue
                seen.add((r["id"], d))
                pairs.append({"anchor": r["claim"], "positive": docs[d]})
    with open(os.path.join(OUT, "scifact", "train.jsonl"), "w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    print("scifact train", len(pairs), "pairs")


main()
