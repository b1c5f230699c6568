#!/usr/bin/env python3
"""server_load.py — data and drivers for bench/server_*.sh (stdlib only).

  load URL --index I --docs N [--dims D] [--chunk C] [--seed S]
      create I (keyword tag, long n, D-d cosine dense_vector v) and _bulk N
      documents with seeded random vectors; prints "loaded N docs in T s (R docs/s)"
  lua --kind knn|text --out FILE [--dims D] [--queries Q] [--seed S] [--index I]
      a wrk script cycling through Q request bodies: knn with an explicit
      query_vector, or knn with query_vector_builder (the server embeds the
      text; STSb sentences from tests/golden/minilm_texts.jsonl)
  mixed URL --index I --seconds T [--dims D] [--chunk C]
      ingest for T seconds (_bulk of C new documents, ids m0, m1, ...),
      recording every item answered 2xx; then _refresh and mget every
      acknowledged id: prints the ingest rate and the losses (must be 0)
"""
import argparse, json, os, random, sys, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["load", "lua", "mixed"])
ap.add_argument("url", nargs="?")
ap.add_argument("--index", default="bench")
ap.add_argument("--docs", type=int, default=100000)
ap.add_argument("--dims", type=int, default=384)
ap.add_argument("--chunk", type=int, default=1000)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--kind", default="knn")
ap.add_argument("--out")
ap.add_argument("--queries", type=int, default=200)
ap.add_argument("--seconds", type=float, default=60)
a = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))


def req(method, path, body=None, ctype="application/json"):
    data = body.encode() if isinstance(body, str) else body
    r = urllib.request.Request(a.url + path, data=data, method=method, headers={"Content-Type": ctype})
    with urllib.request.urlopen(r, timeout=300) as f:
        return f.status, json.loads(f.read() or b"{}")


def vec(r):
    return ",".join("%.4f" % (r.random() - 0.5) for _ in range(a.dims))


def bulk_body(ids, r):
    lines = []
    for i, _id in enumerate(ids):
        lines.append('{"index":{"_id":"%s"}}' % _id)
        lines.append('{"tag":"t%d","n":%d,"v":[%s]}' % (i % 10, i, vec(r)))
    return "\n".join(lines) + "\n"


def create():
    req("PUT", "/" + a.index, json.dumps({"mappings": {"properties": {
        "tag": {"type": "keyword"}, "n": {"type": "long"},
        "v": {"type": "dense_vector", "dims": a.dims, "similarity": "cosine"}}}}))


if a.mode == "load":
    create()
    r = random.Random(a.seed)
    t0 = time.time()
    sent = 0
    gen = 0.0
    while sent < a.docs:
        n = min(a.chunk, a.docs - sent)
        g0 = time.time()
        body = bulk_body(["d%d" % (sent + i) for i in range(n)], r)
        gen += time.time() - g0
        st, res = req("POST", "/%s/_bulk" % a.index, body, "application/x-ndjson")
        if res.get("errors"):
            sys.exit("load: bulk errors: %s" % json.dumps(res)[:500])
        sent += n
    req("POST", "/%s/_refresh" % a.index)
    dt = time.time() - t0
    print("loaded %d docs in %.1f s (%.0f docs/s incl. %.1f s generating the JSON here)" % (sent, dt, sent / dt, gen))
elif a.mode == "lua":
    r = random.Random(a.seed + 1000)
    bodies = []
    if a.kind == "knn":
        for _ in range(a.queries):
            bodies.append('{"knn":{"field":"v","query_vector":[%s],"k":10,"num_candidates":100},"_source":false}' % vec(r))
    else:
        texts = [json.loads(l) for l in open(os.path.join(here, "..", "tests", "golden", "minilm_texts.jsonl")) if l.strip()]
        texts = [t for t in texts if t][: a.queries]
        for t in texts:
            bodies.append(json.dumps({"knn": {"field": "v", "k": 10, "num_candidates": 100, "query_vector_builder": {
                "text_embedding": {"model_id": "all-MiniLM-L6-v2", "model_text": t}}}, "_source": False}))
    with open(a.out, "w") as f:
        f.write("local bodies = {%s}\nlocal i = 0\n" % ",".join("[==[" + b + "]==]" for b in bodies))
        f.write('request = function()\n  i = i %% #bodies + 1\n  return wrk.format("POST", "/%s/_search", '
                '{["Content-Type"] = "application/json"}, bodies[i])\nend\n' % a.index)
        # count non-2xx ourselves too (wrk prints "Non-2xx or 3xx responses")
else:  # mixed
    r = random.Random(a.seed + 7)
    acked, failed, i = [], 0, 0
    t0 = time.time()
    while time.time() - t0 < a.seconds:
        ids = ["m%d" % (i + k) for k in range(a.chunk)]
        i += a.chunk
        try:
            st, res = req("POST", "/%s/_bulk" % a.index, bulk_body(ids, r), "application/x-ndjson")
        except Exception as e:
            print("mixed: bulk failed: %s" % e, file=sys.stderr)
            failed += len(ids)
            continue
        for it in res["items"]:
            x = it["index"]
            if 200 <= x["status"] < 300:
                acked.append(x["_id"])
            else:
                failed += 1
    dt = time.time() - t0
    req("POST", "/%s/_refresh" % a.index)
    lost = 0
    for k in range(0, len(acked), 2000):
        st, res = req("POST", "/%s/_mget" % a.index, json.dumps({"ids": acked[k:k + 2000]}))
        lost += sum(1 for d in res["docs"] if not d.get("found"))
    st, cnt = req("GET", "/%s/_count" % a.index)
    print("ingest: %d docs acknowledged in %.1f s (%.0f docs/s), %d rejected, %d acknowledged but missing; _count %d"
          % (len(acked), dt, len(acked) / dt, failed, lost, cnt["count"]))
    sys.exit(1 if lost else 0)
