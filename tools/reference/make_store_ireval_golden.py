#!/usr/bin/env python3
"""Golden for tests/store/test_store_ireval.c: seeded random runs (with tied
scores) and graded qrels, evaluated by pytrec_eval (ndcg_cut.10, map_cut.100,
recall.1/10/100) and BEIR's MRR@10 (beir.retrieval.custom_metrics.mrr, copied
below as BEIR computes it).
Run: build/storevenv/bin/python tools/reference/make_store_ireval_golden.py"""
import json
import os
import random

import pytrec_eval

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def beir_mrr10(qrels, results):  # beir custom_metrics.mrr, k = 10
    out = {}
    for qid, docs in results.items():
        top = sorted(docs.items(), key=lambda it: it[1], reverse=True)[:10]
        rel = {d for d, s in qrels.get(qid, {}).items() if s > 0}
        out[qid] = 0.0
        for rank, (d, _) in enumerate(top):
            if d in rel:
                out[qid] = 1.0 / (rank + 1)
                break
    return out


rng = random.Random(2026)
qrels, run = {}, {}
for q in range(40):
    qid = "q%d" % q
    docs = ["d%d" % i for i in range(300)]
    nrel = rng.choice([1, 1, 2, 3, 5, 12])
    qrels[qid] = {d: rng.choice([1, 1, 2]) for d in rng.sample(docs, nrel)}
    if q % 5 == 0:
        qrels[qid][rng.choice(docs)] = 0  # judged non-relevant
    nret = rng.choice([5, 10, 50, 120])
    ret = rng.sample(docs, nret)
    # bias some relevant docs in, and make ties
    for d in list(qrels[qid])[:2]:
        if rng.random() < 0.7 and d not in ret:
            ret[rng.randrange(nret)] = d
    run[qid] = {d: float(round(rng.uniform(0, 1), 1 if q % 3 == 0 else 6)) for d in ret}

ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map_cut.100", "recall.1,10,100"})
res = ev.evaluate(run)
mrr = beir_mrr10(qrels, run)
out = []
for qid in sorted(run):
    r = res[qid]
    out.append({"qid": qid, "run": [[d, s] for d, s in run[qid].items()],
                "qrels": [[d, g] for d, g in qrels[qid].items()],
                "ndcg10": r["ndcg_cut_10"], "map100": r["map_cut_100"], "recall1": r["recall_1"],
                "recall10": r["recall_10"], "recall100": r["recall_100"], "mrr10": mrr[qid]})
path = os.path.join(ROOT, "tests", "store", "golden", "ireval.json")
json.dump({"source": "pytrec_eval (trec_eval) + BEIR mrr", "queries": out}, open(path, "w"), indent=0)
print("wrote", path)
