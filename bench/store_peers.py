#!/usr/bin/env python3
"""store_peers.py — semsearch collections side by side with Chroma and
sqlite-vec, ratios from one run.

    bench/store_setup.sh                       # build/store-venv (pinned peers)
    cmake --build build --target bench_store_bench
    build/store-venv/bin/python bench/store_peers.py --model models/all-MiniLM-L6-v2 \\
        --texts TEXTS_FILE --docs 100000 --queries 1000 --index hnsw

Runs build/bench_store_bench (our ingest through ss_collection_add_file with
the encoder; the same documents again with the vectors given, through
ss_collection_add with ss_doc.vector: the store's own ingest; the encoder's
share; query p50/p99 end to end and with the embedding excluded), which also
writes the document and query vectors it computed. Chroma (PersistentClient:
SQLite + its HNSW, cosine) and sqlite-vec (vec0 table, cosine, exact scan)
are then given those same precomputed vectors and texts: ingest docs/s
(vectors given, so no encoder), query latency p50/p99 of one query at a time
returning ids + texts (embedding excluded), and recall@10 against an exact
numpy search, for each engine including ours. Prints the CPU, its ISA, the
load average and the peers' versions.
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import numpy as np


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, len(xs) * p // 100)]


def recall(found, exact):
    hit = sum(len(set(f) & set(e)) for f, e in zip(found, exact))
    return hit / float(sum(len(e) for e in exact))


def run_chroma(work, docs, texts, queries, k, batch):
    import chromadb
    path = os.path.join(work, "chroma")
    client = chromadb.PersistentClient(path=path)
    col = client.create_collection("bench", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    mb = min(batch, client.get_max_batch_size())
    ids = [str(i) for i in range(len(docs))]
    t0 = time.perf_counter()
    for s in range(0, len(docs), mb):
        col.add(ids=ids[s:s + mb], embeddings=docs[s:s + mb], documents=texts[s:s + mb])
    t_add = time.perf_counter() - t0
    lat, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        r = col.query(query_embeddings=[q], n_results=k, include=["documents", "distances"])
        lat.append(time.perf_counter() - t0)
        found.append([int(x) for x in r["ids"][0]])
    return t_add, lat, found


def run_sqlite_vec(work, docs, texts, queries, k, batch):
    import sqlite_vec
    db = sqlite3.connect(os.path.join(work, "vec.db"))
    db.enable_load_extension(True)
    sqlite_vec.load(db)
    db.enable_load_extension(False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # as our acknowledged writes
    dim = docs.shape[1]
    db.execute("CREATE TABLE docs(id INTEGER PRIMARY KEY, text TEXT)")
    db.execute(f"CREATE VIRTUAL TABLE vec USING vec0(embedding float[{dim}] distance_metric=cosine)")
    t0 = time.perf_counter()
    for s in range(0, len(docs), batch):
        with db:
            db.executemany("INSERT INTO docs(id, text) VALUES(?, ?)",
                           [(i, texts[i]) for i in range(s, min(s + batch, len(docs)))])
            db.executemany("INSERT INTO vec(rowid, embedding) VALUES(?, ?)",
                           [(i, docs[i].tobytes()) for i in range(s, min(s + batch, len(docs)))])
    t_add = time.perf_counter() - t0
    sql = ("SELECT d.id, d.text, v.distance FROM (SELECT rowid, distance FROM vec WHERE embedding MATCH ? AND k = ?)"
           " v JOIN docs d ON d.id = v.rowid ORDER BY v.distance")
    lat, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        rows = db.execute(sql, (q.tobytes(), k)).fetchall()
        lat.append(time.perf_counter() - t0)
        found.append([r[0] for r in rows])
    db.close()
    return t_add, lat, found


def machine():
    model, flags = "?", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    isa = [x for x in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16") if x in flags]
    import chromadb, sqlite_vec
    return (f"CPU {model}, {os.cpu_count()} cores, ISA {' '.join(isa)}; load {os.getloadavg()[0]:.2f}; "
            f"chromadb {chromadb.__version__}, sqlite-vec {sqlite_vec.__version__ if hasattr(sqlite_vec, '__version__') else '?'}, "
            f"SQLite {sqlite3.sqlite_version}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/all-MiniLM-L6-v2")
    ap.add_argument("--texts", required=True, help="one text per line (documents, then queries)")
    ap.add_argument("--docs", type=int, default=100000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--index", choices=["flat", "hnsw"], default="hnsw")
    ap.add_argument("--bench", default="build/bench_store_bench")
    ap.add_argument("--batch", type=int, default=256, help="peer insert batch (our CLI's default batch)")
    ap.add_argument("--efs", default="100,200,400",
                    help="our HNSW beams to also run (embedding excluded), to compare at equal recall")
    ap.add_argument("--label", default="", help="printed with every figure, e.g. 'under load, small'")
    a = ap.parse_args()
    k = 10
    work = tempfile.mkdtemp(prefix="ss-store-peers-")
    try:
        print(machine(), flush=True)
        cmd = [a.bench, a.model, a.texts, str(a.docs), str(a.queries), a.index, work, a.efs]
        print("running:", " ".join(cmd), flush=True)
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout  # stderr passes through
        sys.stdout.write(out)
        ours = json.load(open(os.path.join(work, "ours.json")))
        dim, n, nq = ours["dim"], ours["docs"], ours["queries"]
        docs = np.fromfile(os.path.join(work, "docs.f32"), dtype="<f4").reshape(n, dim)
        queries = np.fromfile(os.path.join(work, "queries.f32"), dtype="<f4").reshape(nq, dim)
        with open(os.path.join(work, "texts.txt"), encoding="utf-8") as f:
            texts = f.read().split("\n")[:n]
        read_ids = lambda name: [[int(x) for x in line.split()] for line in open(os.path.join(work, name))]
        ours_found = read_ids("ours_ids.txt")
        # exact cosine top-k (the vectors are normalised by the model; normalise anyway)
        dn = docs / np.maximum(np.linalg.norm(docs, axis=1, keepdims=True), 1e-12)
        qn = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        sims = qn @ dn.T
        exact = [list(np.lexsort((np.arange(n), -row))[:k]) for row in sims]
        del sims
        res = {}
        t, lat, found = run_chroma(work, docs, texts, queries, k, a.batch)
        res["chroma"] = (t, lat, found)
        t, lat, found = run_sqlite_vec(work, docs, texts, queries, k, a.batch)
        res["sqlite-vec"] = (t, lat, found)
        lab = f" [{a.label}]" if a.label else ""
        store_rate = n / ours["store_wall_s"]
        print(f"our store-only ingest (vectors given): {ours['store_wall_s']:.3f} s wall, {ours['store_cpu_s']:.3f} s CPU; "
              f"with the encoder {ours['ingest_wall_s']:.3f} s wall, {ours['ingest_cpu_s']:.3f} s CPU -> encoder share "
              f"{100 * (1 - ours['store_wall_s'] / ours['ingest_wall_s']):.1f}% (wall), "
              f"{100 * (1 - ours['store_cpu_s'] / ours['ingest_cpu_s']):.1f}% (CPU)")
        print(f"\n{n} docs, {nq} queries, k {k}, dim {dim}, our index {ours['index']}{lab}; after: {machine()}")
        print(f"{'engine':<22}{'ingest docs/s':>14}{'p50 ms':>10}{'p99 ms':>10}{'recall@10':>11}")
        print(f"{'semsearch (+encoder)':<22}{n / ours['ingest_wall_s']:>14.1f}{ours['e2e_p50_ms']:>10.3f}"
              f"{ours['e2e_p99_ms']:>10.3f}{'':>11}")
        print(f"{'semsearch (vectors)':<22}{store_rate:>14.1f}{ours['noemb_p50_ms']:>10.3f}"
              f"{ours['noemb_p99_ms']:>10.3f}{recall(ours_found, exact):>11.4f}")
        for name, (t, lat, found) in res.items():
            print(f"{name:<22}{n / t:>14.1f}{pct(lat, 50) * 1e3:>10.3f}{pct(lat, 99) * 1e3:>10.3f}"
                  f"{recall(found, exact):>11.4f}")
        # ours at each beam: (label, p50, p99, recall); the default first
        points = [("semsearch default beam", ours["noemb_p50_ms"], ours["noemb_p99_ms"], recall(ours_found, exact))]
        for e in ours.get("efs", []):
            r = recall(read_ids(f"ours_ids_ef{e['ef']}.txt"), exact)
            points.append((f"semsearch beam {e['ef']}", e["p50_ms"], e["p99_ms"], r))
            print(f"{'  beam ' + str(e['ef']):<22}{'':>14}{e['p50_ms']:>10.3f}{e['p99_ms']:>10.3f}{r:>11.4f}")
        print(f"\nratios{lab} (semsearch given vectors, embedding excluded, vs peer given the same vectors;"
              f" query at the fastest of our beams with recall@10 >= the peer's):")
        for name, (t, lat, found) in res.items():
            peer_r = recall(found, exact)
            ok = [p for p in points if p[3] >= peer_r - 1e-9]
            best = min(ok, key=lambda p: p[1]) if ok else max(points, key=lambda p: p[3])
            note = "" if ok else " (none of our beams reached the peer's recall: our best recall shown)"
            print(f"  vs {name}: ingest {store_rate / (n / t):.2f}x the peer's rate "
                  f"(with our encoder included: {(n / ours['ingest_wall_s']) / (n / t):.3f}x); "
                  f"query ({best[0]}, recall {best[3]:.4f} vs {peer_r:.4f}) p50 {best[1] / (pct(lat, 50) * 1e3):.3f}x, "
                  f"p99 {best[2] / (pct(lat, 99) * 1e3):.3f}x of the peer's latency{note}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
