#!/usr/bin/env python3
"""bench/es_store_ab.py OLD_SEMSEARCH NEW_SEMSEARCH MODEL_DIR [WORKDIR]

A/B of two `semsearch serve` builds on the Elasticsearch API in one run
(ratios NEW/OLD): 10,000 documents with 384-d random unit vectors
(`index_options` hnsw), a keyword tag and a short text, sent by `_bulk` in
batches of 1,000; 20 queries each of knn (k 10, num_candidates 100), knn with a
term filter passing 10%, and match; RSS after loading; start-up time and RSS
after a restart; and how often NEW's hits agree with OLD's (an exact-scan
build answers exactly). Standard library only."""
import json, random, subprocess, sys, time, urllib.request, os, shutil, math, re, signal
OLD, NEW, MODEL = sys.argv[1], sys.argv[2], sys.argv[3]
WORK = sys.argv[4] if len(sys.argv) > 4 else "/tmp/es_store_ab"
random.seed(1)
N, D = 10000, 384
def vec():
    v = [random.gauss(0, 1) for _ in range(D)]; n = math.sqrt(sum(x*x for x in v)); return [round(x/n, 6) for x in v]
docs = [(vec(), "a" if i % 10 == 0 else "b", "word%d text%d common" % (i % 97, i % 13)) for i in range(N)]
queries = [vec() for _ in range(20)]
def start(binary, data):
    p = subprocess.Popen([binary, "serve", "--port", "0", "--data", data, "--model", MODEL, "--log-level", "warn"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    t0 = time.time()
    for line in p.stdout:
        m = re.search(r"listening on http://[^:]+:(\d+)", line)
        if m: return p, int(m.group(1)), time.time() - t0
def req(port, method, path, body=None, ndjson=False):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    r = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method,
                               headers={"Content-Type": "application/x-ndjson" if ndjson else "application/json"})
    with urllib.request.urlopen(r) as f: return json.loads(f.read())
def run(binary, data):
    shutil.rmtree(data, ignore_errors=True); os.makedirs(data)
    p, port, _ = start(binary, data)
    req(port, "PUT", "/b", {"mappings": {"properties": {"v": {"type": "dense_vector", "dims": D, "similarity": "cosine", "index_options": {"type": "hnsw"}}, "tag": {"type": "keyword"}, "t": {"type": "text"}}}})
    t0 = time.time()
    for s in range(0, N, 1000):
        lines = []
        for i in range(s, s + 1000):
            lines.append(json.dumps({"index": {"_id": str(i)}})); lines.append(json.dumps({"v": docs[i][0], "tag": docs[i][1], "t": docs[i][2]}))
        r = req(port, "POST", "/b/_bulk", ("\n".join(lines) + "\n").encode(), True)
        assert not r["errors"]
    bulk = time.time() - t0
    out = {"bulk_s": bulk}
    for name, mk in [("knn", lambda q: {"knn": {"field": "v", "query_vector": q, "k": 10, "num_candidates": 100}, "_source": False}),
                     ("knn_filter", lambda q: {"knn": {"field": "v", "query_vector": q, "k": 10, "num_candidates": 100, "filter": {"term": {"tag": "a"}}}, "_source": False}),
                     ("match", lambda q: {"query": {"match": {"t": "word5 common"}}, "_source": False})]:
        t0 = time.time(); ids = []
        for q in queries: ids.append([h["_id"] for h in req(port, "POST", "/b/_search", mk(q))["hits"]["hits"]])
        out[name + "_ms"] = (time.time() - t0) / len(queries) * 1000; out[name + "_ids"] = ids
    rss = int(open("/proc/%d/status" % p.pid).read().split("VmRSS:")[1].split()[0]) // 1024
    out["rss_mb"] = rss
    p.send_signal(signal.SIGTERM); p.wait()
    p, port, up = start(binary, data); out["restart_s"] = up
    out["rss_after_restart_mb"] = int(open("/proc/%d/status" % p.pid).read().split("VmRSS:")[1].split()[0]) // 1024
    p.send_signal(signal.SIGTERM); p.wait()
    return out
a = run(OLD, WORK + "/old")
b = run(NEW, WORK + "/new")
for k in ["bulk_s", "knn_ms", "knn_filter_ms", "match_ms", "rss_mb", "restart_s", "rss_after_restart_mb"]:
    print("%-22s old %9.2f   new %9.2f   new/old %.2f" % (k, a[k], b[k], b[k] / a[k] if a[k] else float('nan')))
for k in ["knn_ids", "knn_filter_ids", "match_ids"]:
    ov = sum(len(set(x) & set(y)) for x, y in zip(a[k], b[k])); tot = sum(len(x) for x in a[k])
    print("%s: new agrees with old on %d of %d hits" % (k, ov, tot))
shutil.rmtree(WORK, ignore_errors=True)
