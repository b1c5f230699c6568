"""The seed flow ("Semantic Search in Elasticsearch") with the real, unchanged
elasticsearch Python client (8.x or 9.x, whichever venv runs this) against a
running `semsearch serve` (started by test_es_clients.c): documents with
name/email/gender/country -> embeddings (the server's /v1/embeddings) ->
create index with mappings, helpers.bulk, kNN, kNN with a filter, BM25 match,
bool, rrf hybrid, get/update/delete/count, and the client's exceptions.

Every expected value is computed here independently, in plain Python: kNN by
brute force with Elasticsearch's documented score (1 + cos) / 2, BM25 with
Lucene's formula (idf = ln(1 + (N - n + 0.5)/(n + 0.5)), tf f/(f + k1(1 - b +
b dl/avgdl)); the names are < 24 tokens, where Lucene's one-byte length is
exact), RRF as sum 1/(60 + rank). Exit status = verdict."""
import argparse
import json
import math
import os
import random
import sys
import urllib.request

for k in list(os.environ):
    if k.lower() in ("http_proxy", "https_proxy", "all_proxy"):
        del os.environ[k]
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

import elasticsearch  # noqa: E402
from elasticsearch import BadRequestError, ConflictError, Elasticsearch, NotFoundError, helpers  # noqa: E402

checks = failures = 0


def check(cond, what):
    global checks, failures
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)
    else:
        print(f"ok: {what}")


FIRST = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Irene", "Jack", "Karin", "Liam",
         "Maria", "Noah", "Olga", "Pierre", "Quinn", "Rosa", "Sven", "Tariq", "Ursula", "Victor", "Wen", "Yuki"]
LAST = ["Smith", "Dubois", "Müller", "Rossi", "Tanaka", "Garcia", "Kowalski", "Olsen", "Silva", "Nguyen",
        "Brown", "Martin", "Schmidt", "Ferrari", "Sato", "Lopez"]
COUNTRIES = ["USA", "France", "Germany", "Italy", "Japan", "Spain", "Poland", "Norway", "Brazil", "Vietnam"]


def make_docs(n):
    rnd = random.Random(42)
    docs = []
    for i in range(n):
        f, l = rnd.choice(FIRST), rnd.choice(LAST)
        docs.append({"name": f"{f} {l}", "email": f"{f.lower()}.{i}@example.com",
                     "gender": rnd.choice(["female", "male"]), "country": rnd.choice(COUNTRIES),
                     "age": rnd.randint(18, 90)})
    return docs


def embed(base, texts):
    out = []
    for i in range(0, len(texts), 256):
        req = urllib.request.Request(base + "/v1/embeddings", method="POST",
                                     data=json.dumps({"input": texts[i:i + 256], "model": "m"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            out += [d["embedding"] for d in json.load(r)["data"]]
    return out


def cos(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def brute_knn(docs, vecs, q, k, keep=lambda d: True):
    s = [((1 + cos(q, vecs[i])) / 2, str(i)) for i, d in enumerate(docs) if keep(d)]
    s.sort(key=lambda t: (-t[0], int(t[1])))
    return s[:k]


def std_tokens(text):  # the standard analyzer on these ASCII/Latin names and e-mail-free texts
    import re
    return [t.lower() for t in re.findall(r"\w+", text)]


def bm25(docs, field, query, k1=1.2, b=0.75):
    toks = [std_tokens(d[field]) for d in docs]
    N = len(toks)
    avgdl = sum(len(t) for t in toks) / N
    out = []
    q = std_tokens(query)
    for i, t in enumerate(toks):
        s, hit = 0.0, False
        for term in q:
            f = t.count(term)
            if not f:
                continue
            hit = True
            n = sum(1 for u in toks if term in u)
            idf = math.log(1 + (N - n + 0.5) / (n + 0.5))
            s += idf * f / (f + k1 * (1 - b + b * len(t) / avgdl))
        if hit:
            out.append((s, str(i)))
    out.sort(key=lambda t: (-t[0], int(t[1])))
    return out


def close(a, b, tol=1e-5):
    return abs(a - b) <= tol * max(1.0, abs(b))


def same_hits(resp, expected, what, tol=1e-5):
    hits = resp["hits"]["hits"]
    ids = [h["_id"] for h in hits]
    ok = ids == [e[1] for e in expected] and all(close(h["_score"], e[0], tol) for h, e in zip(hits, expected))
    check(ok, f"{what}: ids + scores as computed ({ids[:5]}... vs {[e[1] for e in expected][:5]}...)")


def raw(base, method, path, body, ctype="application/json"):
    req = urllib.request.Request(base + path, method=method, data=body.encode(), headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--docs", type=int, default=2000)
    a = ap.parse_args()
    base = f"http://127.0.0.1:{a.port}"
    es = Elasticsearch(base, request_timeout=120)
    ver = elasticsearch.__versionstr__
    index = "people-" + ver.split(".")[0]

    docs = make_docs(a.docs)
    texts = [f"{d['name']} {d['email']} {d['gender']} {d['country']}" for d in docs]
    vecs = embed(base, texts)
    for d, v in zip(docs, vecs):
        d["embedding"] = v
    dims = len(vecs[0])

    mappings = {"properties": {
        "name": {"type": "text"}, "email": {"type": "keyword"}, "gender": {"type": "keyword"},
        "country": {"type": "keyword"}, "age": {"type": "integer"},
        "embedding": {"type": "dense_vector", "dims": dims, "similarity": "cosine",
                      "index_options": {"type": "hnsw", "m": 16, "ef_construction": 100}}}}
    r = es.indices.create(index=index, mappings=mappings, settings={"number_of_shards": 1})
    check(r.body == {"acknowledged": True, "shards_acknowledged": True, "index": index}, f"create {index}: {r.body}")
    check(es.indices.exists(index=index).body is True, "indices.exists true")
    check(es.indices.exists(index="nope-" + index).body is False, "indices.exists false for a missing index")
    try:
        es.indices.create(index=index)
        check(False, "creating an existing index raises")
    except BadRequestError as e:
        check(e.error == "resource_already_exists_exception", f"existing index: BadRequestError {e.error}")
    m = es.indices.get_mapping(index=index).body
    check(m[index]["mappings"]["properties"]["embedding"]["dims"] == dims, "get_mapping: dims")
    g = es.indices.get(index=index).body
    check(g[index]["settings"]["index"]["number_of_shards"] == "1", "indices.get: settings as strings")
    try:
        es.indices.get(index="nope-" + index)
        check(False, "missing index raises")
    except NotFoundError as e:
        check(e.error == "index_not_found_exception" and e.body["error"]["resource.id"] == "nope-" + index,
              "missing index: NotFoundError index_not_found_exception with resource.id")

    ok, errs = helpers.bulk(es, ({"_index": index, "_id": str(i), "_source": d} for i, d in enumerate(docs)),
                            chunk_size=500)
    check(ok == len(docs) and not errs, f"helpers.bulk {len(docs)} docs: {ok} ok, {len(errs)} errors")
    es.indices.refresh(index=index)
    check(es.count(index=index)["count"] == len(docs), "count after bulk")

    qv = embed(base, ["a woman from France"])[0]
    r = es.search(index=index, knn={"field": "embedding", "query_vector": qv, "k": 10, "num_candidates": 100},
                  source_excludes=["embedding"])
    same_hits(r, brute_knn(docs, vecs, qv, 10), "knn k=10")
    rb = es.search(index=index, knn={"field": "embedding", "k": 10, "num_candidates": 100, "query_vector_builder": {
        "text_embedding": {"model_id": "semsearch", "model_text": "a woman from France"}}}, source=False)
    same_hits(rb, brute_knn(docs, vecs, qv, 10), "knn with query_vector_builder (embedded by the server)")
    check("embedding" not in r["hits"]["hits"][0]["_source"] and "name" in r["hits"]["hits"][0]["_source"],
          "_source excludes")
    check(r["hits"]["total"] == {"value": 10, "relation": "eq"}, f"knn total {r['hits']['total']}")
    r = es.search(index=index, knn={"field": "embedding", "query_vector": qv, "k": 5, "num_candidates": 50,
                                    "filter": {"term": {"country": "Japan"}}}, source=["name", "country"])
    same_hits(r, brute_knn(docs, vecs, qv, 5, lambda d: d["country"] == "Japan"), "knn + filter country=Japan")
    check(all(h["_source"]["country"] == "Japan" and set(h["_source"]) == {"name", "country"}
              for h in r["hits"]["hits"]), "filtered knn: every hit from Japan, _source includes")

    r = es.search(index=index, query={"knn": {"field": "embedding", "query_vector": qv, "k": 7, "num_candidates": 50,
                                              "filter": {"term": {"gender": "male"}}}}, size=20)
    same_hits(r, brute_knn(docs, vecs, qv, 7, lambda d: d["gender"] == "male"), "knn query (in query) + filter")
    r = es.search(index=index, query={"match": {"name": "Alice Tanaka"}}, size=20)
    exp = bm25(docs, "name", "Alice Tanaka")
    same_hits(r, exp[:20], "match name (BM25)")
    check(r["hits"]["total"]["value"] == len(exp), f"match total {r['hits']['total']['value']} == {len(exp)}")

    r = es.search(index=index, query={"bool": {"must": [{"match": {"name": "Alice"}}],
                                               "filter": [{"term": {"gender": "female"}},
                                                          {"range": {"age": {"gte": 30, "lt": 60}}}],
                                               "must_not": [{"terms": {"country": ["USA", "Spain"]}}]}}, size=1000)
    want = {str(i) for i, d in enumerate(docs) if "Alice" in d["name"].split() and d["gender"] == "female"
            and 30 <= d["age"] < 60 and d["country"] not in ("USA", "Spain")}
    check({h["_id"] for h in r["hits"]["hits"]} == want and len(want) > 0, f"bool must/filter/must_not: {len(want)} hits")

    r = es.search(index=index, query={"bool": {"filter": {"term": {"country": "Norway"}}}}, sort=[{"age": "asc"}],
                  size=5, from_=2)
    nor = sorted([(d["age"], i) for i, d in enumerate(docs) if d["country"] == "Norway"])
    check([h["sort"][0] for h in r["hits"]["hits"]] == [t[0] for t in nor[2:7]], "sort age asc, from 2 size 5")

    r = es.search(index=index, query={"ids": {"values": ["3", "7", "nope"]}})
    check(sorted(h["_id"] for h in r["hits"]["hits"]) == ["3", "7"], "ids query")
    r = es.search(index=index, query={"exists": {"field": "age"}}, size=0, track_total_hits=100)
    check(r["hits"]["total"] == {"value": 100, "relation": "gte"}, f"track_total_hits 100: {r['hits']['total']}")

    # hybrid: rrf over BM25 and kNN, rank_constant 60, window 50
    try:
        r = es.search(index=index, retriever={"rrf": {"retrievers": [
            {"standard": {"query": {"match": {"name": "Grace"}}}},
            {"knn": {"field": "embedding", "query_vector": qv, "k": 50, "num_candidates": 100}}],
            "rank_constant": 60, "rank_window_size": 50}}, size=10)
        sc = {}
        for rank, (_, i) in enumerate(bm25(docs, "name", "Grace")[:50]):
            sc[i] = sc.get(i, 0) + 1 / (60 + rank + 1)
        for rank, (_, i) in enumerate(brute_knn(docs, vecs, qv, 50)):
            sc[i] = sc.get(i, 0) + 1 / (60 + rank + 1)
        exp = sorted(((s, i) for i, s in sc.items()), key=lambda t: (-t[0], int(t[1])))[:10]
        got = r["hits"]["hits"]
        check([round(h["_score"], 9) for h in got] == [round(e[0], 9) for e in exp] and
              {h["_id"] for h in got if h["_score"] > exp[-1][0] + 1e-12} ==
              {e[1] for e in exp if e[0] > exp[-1][0] + 1e-12}, "rrf retriever: scores = sum 1/(60 + rank)")
    except TypeError:  # a client without the retriever parameter
        check(False, "the client has no retriever parameter")

    # documents
    r = es.get(index=index, id="5")
    check(r["found"] and r["_version"] == 1 and r["_source"]["email"] == docs[5]["email"], "get found, _version 1")
    r = es.update(index=index, id="5", doc={"age": 101})
    check(r["result"] == "updated" and r["_version"] == 2, f"update: {r['result']} v{r['_version']}")
    r = es.update(index=index, id="5", doc={"age": 101})
    check(r["result"] == "noop", "update with the same values: noop")
    check(es.get(index=index, id="5")["_source"]["age"] == 101 and
          es.get(index=index, id="5")["_source"]["name"] == docs[5]["name"], "partial update merged")
    cur = es.get(index=index, id="6")
    r = es.index(index=index, id="6", document=cur["_source"], if_seq_no=cur["_seq_no"], if_primary_term=1)
    check(r["result"] == "updated", "index with the current if_seq_no")
    try:
        es.index(index=index, id="6", document=cur["_source"], if_seq_no=cur["_seq_no"], if_primary_term=1)
        check(False, "a stale if_seq_no raises")
    except ConflictError as e:
        check(e.error == "version_conflict_engine_exception", "stale if_seq_no: ConflictError")
    r = es.update(index=index, id="new-1", doc={"name": "Zed Olsen"}, doc_as_upsert=True)
    check(r["result"] == "created", "doc_as_upsert creates")
    try:
        es.update(index=index, id="missing", doc={"a": 1})
        check(False, "update of a missing doc raises")
    except NotFoundError as e:
        check(e.error == "document_missing_exception", f"update missing: {e.error}")
    try:
        es.create(index=index, id="5", document={"name": "x"})
        check(False, "create of an existing id raises")
    except ConflictError as e:
        check(e.error == "version_conflict_engine_exception", f"create existing: ConflictError {e.error}")
    try:
        es.index(index=index, id="bad", document={"name": "x", "embedding": [0.5, 0.5]})
        check(False, "wrong dims raises")
    except BadRequestError as e:
        check(e.error == "document_parsing_exception" and "different number of dimensions" in str(e.info),
              f"wrong dims: BadRequestError {e.error}")
    try:
        es.search(index=index, query={"foo": {"name": "x"}})
        check(False, "unknown query raises")
    except BadRequestError as e:
        check(e.error == "parsing_exception" and "unknown query [foo]" in str(e.info), "unknown query [foo]: 400")
    try:
        es.get(index=index, id="nope")
        check(False, "get missing raises")
    except NotFoundError:
        check(True, "get missing: NotFoundError")
    r = es.index(index=index, document={"name": "Auto Id"}, refresh="wait_for")
    check(r["result"] == "created" and len(r["_id"]) == 20, "POST _doc: generated id")
    r = es.delete(index=index, id=r["_id"])
    check(r["result"] == "deleted", "delete")
    try:
        es.delete(index=index, id="nope")
        check(False, "delete missing raises")
    except NotFoundError:
        check(True, "delete missing: NotFoundError")
    r = es.mget(index=index, ids=["1", "nope"])
    check([d["found"] for d in r["docs"]] == [True, False], "mget")
    check(es.count(index=index, query={"term": {"country": "Italy"}})["count"] ==
          sum(1 for d in docs if d["country"] == "Italy"), "count with query")

    # bulk: a malformed source line fails its item only; a malformed action line fails the request
    st, body = raw(base, "POST", f"/{index}/_bulk",
                   '{"index":{"_id":"b1"}}\n{"name":"ok"}\n{"index":{"_id":"b2"}}\n{broken\n'
                   '{"delete":{"_id":"b1"}}\n', "application/x-ndjson")
    check(st == 200 and body["errors"] and [list(i.values())[0]["status"] for i in body["items"]] == [201, 400, 200],
          f"bulk: bad source fails its item only ({st})")
    st, body = raw(base, "POST", "/_bulk", '{"index":{"_index":"x"}\n{"a":1}\n', "application/x-ndjson")
    check(st == 400, f"bulk: a malformed action line fails the request ({st})")

    cat = es.cat.indices(format="json").body
    check(any(c["index"] == index for c in cat), "cat.indices")
    check(es.indices.delete(index=index).body == {"acknowledged": True}, "indices.delete")
    try:
        es.search(index=index, query={"match_all": {}})
        check(False, "search on a deleted index raises")
    except NotFoundError:
        check(True, "search on a deleted index: NotFoundError")
    print(f"test_es_clients.py (elasticsearch {ver}, {len(docs)} docs): {checks} checks, {failures} failed")
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
