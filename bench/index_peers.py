#!/usr/bin/env python3
"""Peers for bench/index.c on the same vectors, same machine, same run:
hnswlib (HNSW, ip) and FAISS (IndexHNSWFlat, IndexHNSWSQ 8-bit, IndexFlatIP).
Reads DIR/base.fvecs, DIR/queries.fvecs, DIR/gt.i64 written by bench_index;
appends JSON lines to DIR/peers.jsonl.  usage: index_peers.py DIR [threads]"""
import json, os, sys, time
import numpy as np

D = sys.argv[1]
NTH = int(sys.argv[2]) if len(sys.argv) > 2 else 2
M, EFC, K = 16, 100, 10
EFS = [10, 16, 24, 32, 48, 64, 96, 128, 256, 512]

def fvecs(p):
    a = np.fromfile(p, dtype=np.int32)
    d = a[0]
    return np.ascontiguousarray(a.reshape(-1, d + 1)[:, 1:].view(np.float32))

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

base, qs = fvecs(f"{D}/base.fvecs"), fvecs(f"{D}/queries.fvecs")
n, d = base.shape
gt = np.fromfile(f"{D}/gt.i64", dtype=np.int64).reshape(len(qs), K)
out = open(f"{D}/peers.jsonl", "w")

def emit(**kw):
    out.write(json.dumps(kw) + "\n")
    out.flush()

def recall(I):
    return float(np.mean([len(set(I[i]) & set(gt[i])) / K for i in range(len(qs))]))

def best_of(fn, reps=3):
    b = 1e30
    for _ in range(reps):
        t = time.perf_counter()
        r = fn()
        b = min(b, time.perf_counter() - t)
    return b, r

import hnswlib
r0 = rss_mb()
p = hnswlib.Index(space="ip", dim=d)
p.init_index(max_elements=n, M=M, ef_construction=EFC, random_seed=100)
t = time.perf_counter()
p.add_items(base, np.arange(n), num_threads=NTH)
tb = time.perf_counter() - t
r1 = rss_mb()
print(f"hnswlib M={M} efC={EFC}: build {tb:.1f} s ({NTH} threads), RSS +{r1 - r0:.0f} MB ({(r1 - r0) * 1e6 / n:.0f} B/vec)")
emit(lib="hnswlib", kind="build", config="fp32", build_s=tb, threads=NTH, rss_bytes_per_vector=(r1 - r0) * 1e6 / n)
for ef in EFS:
    p.set_ef(max(ef, K))
    for th in (1, NTH):
        dt, (I, _) = best_of(lambda: p.knn_query(qs, k=K, num_threads=th))
        r = recall(I)
        print(f"  hnswlib ef={ef:<4d} threads={th} recall@{K}={r:.4f} QPS={len(qs) / dt:.0f}")
        emit(lib="hnswlib", kind="search", config="fp32", ef=ef, threads=th, recall=r, qps=len(qs) / dt)
del p

import faiss
FAISS_CONFIGS = [("fp32", lambda: faiss.IndexHNSWFlat(d, M, faiss.METRIC_INNER_PRODUCT))]
if os.environ.get("PEERS_INT8", "0") == "1":  # FAISS HNSWSQ8 builds slowly: opt in
    FAISS_CONFIGS.append(("int8", lambda: faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, M,
                                                            faiss.METRIC_INNER_PRODUCT)))
for name, make in FAISS_CONFIGS:
    faiss.omp_set_num_threads(NTH)
    r0 = rss_mb()
    idx = make()
    idx.hnsw.efConstruction = EFC
    t = time.perf_counter()
    if not idx.is_trained:
        idx.train(base)
    idx.add(base)
    tb = time.perf_counter() - t
    r1 = rss_mb()
    print(f"faiss HNSW {name} M={M} efC={EFC}: build {tb:.1f} s, RSS +{r1 - r0:.0f} MB ({(r1 - r0) * 1e6 / n:.0f} B/vec)")
    emit(lib="faiss", kind="build", config=name, build_s=tb, threads=NTH, rss_bytes_per_vector=(r1 - r0) * 1e6 / n)
    for ef in EFS:
        idx.hnsw.efSearch = max(ef, K)
        for th in (1, NTH):
            faiss.omp_set_num_threads(th)
            dt, (_, I) = best_of(lambda: idx.search(qs, K))
            r = recall(I)
            print(f"  faiss {name} ef={ef:<4d} threads={th} recall@{K}={r:.4f} QPS={len(qs) / dt:.0f}")
            emit(lib="faiss", kind="search", config=name, ef=ef, threads=th, recall=r, qps=len(qs) / dt)
    del idx

flat = faiss.IndexFlatIP(d)
flat.add(base)
for th in (1, NTH):
    faiss.omp_set_num_threads(th)
    reps, t = 0, time.perf_counter()
    while time.perf_counter() - t < 2.0:
        flat.search(qs[reps % len(qs):reps % len(qs) + 1], K)
        reps += 1
    dt = time.perf_counter() - t
    gbs = n * d * 4 * reps / dt / 1e9
    print(f"faiss IndexFlatIP 1 query at a time, {th} thread(s): {reps / dt:.1f} QPS, {gbs:.2f} GB/s")
    emit(lib="faiss", kind="exact-scan", threads=th, qps=reps / dt, gbs=gbs)
faiss.omp_set_num_threads(NTH)
dt, (_, I) = best_of(lambda: flat.search(qs, K), reps=1)
print(f"faiss IndexFlatIP batched {len(qs)} queries, {NTH} threads: {len(qs) / dt:.1f} QPS; "
      f"agreement with semsearch's exact ground truth: recall {recall(I):.5f}")
emit(lib="faiss", kind="exact-batched", threads=NTH, qps=len(qs) / dt)
