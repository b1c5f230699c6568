#!/usr/bin/env python3
"""Interleaved, same-process comparison: semsearch (via ctypes on
build/libsemsearch.so) vs hnswlib vs FAISS HNSWFlat on the same vectors.
Every (ef, threads) point is measured round-robin across the libraries, best
of REPS, so machine-load drift hits all of them alike (the dev box is shared).
Reads DIR/base.fvecs, DIR/queries.fvecs, DIR/gt.i64 (written by bench_index);
writes DIR/ours.jsonl (search + build rows) and DIR/peers.jsonl.
usage: index_compare.py DIR [threads] [reps]"""
import ctypes as C, json, os, sys, time
import numpy as np

D = sys.argv[1]
NTH = int(sys.argv[2]) if len(sys.argv) > 2 else 2
REPS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
M, EFC, K = 16, 100, 10
EFS = [10, 16, 24, 32, 48, 64, 96, 128, 256]

def fvecs(p):
    a = np.fromfile(p, dtype=np.int32)
    d = a[0]
    return np.ascontiguousarray(a.reshape(-1, d + 1)[:, 1:].view(np.float32))

base, qs = fvecs(f"{D}/base.fvecs"), fvecs(f"{D}/queries.fvecs")
n, d = base.shape
nq = len(qs)
gt = np.fromfile(f"{D}/gt.i64", dtype=np.int64).reshape(nq, K)

def recall(I):
    return float(np.mean([len(set(I[i]) & set(gt[i])) / K for i in range(nq)]))

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

lib = C.CDLL(os.path.join(os.path.dirname(__file__), "..", "build", "libsemsearch.so"))
class Err(C.Structure):
    _fields_ = [("code", C.c_int), ("msg", C.c_char * 1024)]
class Opts(C.Structure):
    _fields_ = [("type", C.c_int), ("metric", C.c_int), ("quantize", C.c_int), ("m", C.c_int),
                ("ef_construction", C.c_int), ("ef_search", C.c_int), ("keep_fp32", C.c_int),
                ("oversample", C.c_float), ("n_threads", C.c_int), ("seed", C.c_uint64),
                ("pool", C.c_void_p)]  # ss_index_options.pool (NULL: the index's own)
class Params(C.Structure):
    _fields_ = [("ef_search", C.c_int), ("oversample", C.c_float), ("filter", C.c_void_p), ("n_threads", C.c_int)]
lib.ss_index_new.restype = C.c_void_p
lib.ss_index_new.argtypes = [C.c_int, C.POINTER(Opts), C.POINTER(Err)]
lib.ss_index_add.argtypes = [C.c_void_p, C.c_void_p, C.c_void_p, C.c_size_t, C.POINTER(Err)]
lib.ss_index_search.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t, C.c_int, C.POINTER(Params), C.c_void_p,
                                C.c_void_p, C.POINTER(Err)]
lib.ss_index_free.argtypes = [C.c_void_p]
err = Err()

# keep bench_index's exact-scan rows, replace its HNSW rows with interleaved ones
keep = [l for l in open(f"{D}/ours.jsonl") if '"exact' in l] if os.path.exists(f"{D}/ours.jsonl") else []
ours_out, peers_out = open(f"{D}/ours.jsonl", "w"), open(f"{D}/peers.jsonl", "w")
ours_out.writelines(keep)
def emit(f, **kw):
    f.write(json.dumps(kw) + "\n")
    f.flush()

def build(label, libname, config, out, make, add):
    """make() -> index (its allocation counts in RSS, not in time); add(index) is
    the timed build. Prints and records one build row; returns the index."""
    r0 = rss_mb()
    idx = make()
    t = time.perf_counter()
    add(idx)
    tb = time.perf_counter() - t
    per_vec = (rss_mb() - r0) * 1e6 / n
    print(f"{label}: build {tb:.1f} s, RSS +{per_vec:.0f} B/vec", flush=True)
    emit(out, lib=libname, kind="build", config=config, build_s=tb, threads=NTH, rss_bytes_per_vector=per_vec)
    return idx

def ss_add(x):
    assert lib.ss_index_add(x, None, base.ctypes.data, n, C.byref(err)) == 0, err.msg

searchers = {}  # name -> (lib, config, fn(ef, threads) -> ids)
QUANT = {"fp32": 0, "int8": 2, "binary": 3}
for cfg in ("fp32", "int8", "binary"):
    o = Opts(type=1, metric=1, quantize=QUANT[cfg], m=M, ef_construction=EFC, n_threads=NTH)
    x = build(f"semsearch {cfg}", "semsearch", cfg, ours_out,
              lambda: lib.ss_index_new(d, C.byref(o), C.byref(err)), ss_add)
    # binary rescores its whole beam: with oversample 1 the beam is ef itself, so
    # the ef sweep traces binary's recall/QPS curve from the low end too (the
    # index default, 8, never searches a beam below 80)
    def fn(ef, th, x=x, os_=1.0 if cfg == "binary" else 0.0):
        ids = np.empty((nq, K), dtype=np.int64)
        sc = np.empty((nq, K), dtype=np.float32)
        p = Params(ef_search=ef, n_threads=th, oversample=os_)
        lib.ss_index_search(x, qs.ctypes.data, nq, K, C.byref(p), ids.ctypes.data, sc.ctypes.data, C.byref(err))
        return ids
    searchers["semsearch " + cfg] = ("semsearch", cfg, fn)

import hnswlib
def hnswlib_new():
    h = hnswlib.Index(space="ip", dim=d)
    h.init_index(max_elements=n, M=M, ef_construction=EFC, random_seed=100)
    return h
h = build("hnswlib", "hnswlib", "fp32", peers_out, hnswlib_new,
          lambda h: h.add_items(base, np.arange(n), num_threads=NTH))
def hfn(ef, th):
    h.set_ef(max(ef, K))
    return h.knn_query(qs, k=K, num_threads=th)[0]
searchers["hnswlib"] = ("hnswlib", "fp32", hfn)

import faiss
faiss.omp_set_num_threads(NTH)
def faiss_hnsw(idx):
    idx.hnsw.efConstruction = EFC
    return idx
fi = build("faiss HNSWFlat", "faiss", "fp32", peers_out,
           lambda: faiss_hnsw(faiss.IndexHNSWFlat(d, M, faiss.METRIC_INNER_PRODUCT)), lambda i: i.add(base))
def ffn(ef, th):
    fi.hnsw.efSearch = max(ef, K)
    faiss.omp_set_num_threads(th)
    return fi.search(qs, K)[1]
searchers["faiss"] = ("faiss", "fp32", ffn)

# FAISS's int8 counterpart of semsearch int8+rescore: HNSWSQ (8-bit per-dimension
# scalar quantiser) refined with exact fp32 distances over k_factor * k candidates
# (semsearch rescoring uses 3x).  PEERS_INT8=0 skips it (it builds slowly).
if os.environ.get("PEERS_INT8", "1") == "1":
    sq = faiss_hnsw(faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, M, faiss.METRIC_INNER_PRODUCT))
    def refine_new():
        fr = faiss.IndexRefineFlat(sq)
        fr.k_factor = 3
        return fr
    fr = build("faiss HNSWSQ8+refine", "faiss", "int8", peers_out, refine_new,
               lambda i: (i.train(base), i.add(base)))
    def sfn(ef, th):
        sq.hnsw.efSearch = max(ef, K * 3)
        faiss.omp_set_num_threads(th)
        return fr.search(qs, K)[1]
    searchers["faiss int8"] = ("faiss", "int8", sfn)

for ef in EFS:
    for th in (1, NTH):
        best, rec = {}, {}
        for rep in range(REPS):
            for name, (_, _, fn) in searchers.items():
                t = time.perf_counter()
                I = fn(ef, th)
                dt = time.perf_counter() - t
                best[name] = min(best.get(name, 1e30), dt)
                if rep == 0:
                    rec[name] = recall(I)
        for name, (libname, cfg, _) in searchers.items():
            emit(ours_out if libname == "semsearch" else peers_out, lib=libname, kind="search", config=cfg, ef=ef,
                 threads=th, recall=rec[name], qps=nq / best[name])
        print(f"ef={ef:<4d} threads={th}: " + "  ".join(f"{nm} {rec[nm]:.4f}/{nq / best[nm]:.0f}" for nm in searchers),
              flush=True)

# exact scan peer: FAISS IndexFlatIP, one query at a time, and one batch
flat = faiss.IndexFlatIP(d)
flat.add(base)
for th in (1, NTH):
    faiss.omp_set_num_threads(th)
    reps, t = 0, time.perf_counter()
    while time.perf_counter() - t < 2.0:
        flat.search(qs[reps % nq:reps % nq + 1], K)
        reps += 1
    dt = time.perf_counter() - t
    gbs = n * d * 4 * reps / dt / 1e9
    print(f"faiss IndexFlatIP 1 query at a time, {th} thread(s): {reps / dt:.1f} QPS, {gbs:.2f} GB/s", flush=True)
    emit(peers_out, lib="faiss", kind="exact-scan", threads=th, qps=reps / dt, gbs=gbs)
faiss.omp_set_num_threads(NTH)
t = time.perf_counter()
I = flat.search(qs, K)[1]
dt = time.perf_counter() - t
print(f"faiss IndexFlatIP batched {nq} queries, {NTH} threads: {nq / dt:.1f} QPS; "
      f"agreement with semsearch's exact ground truth: recall {recall(I):.5f}", flush=True)
emit(peers_out, lib="faiss", kind="exact-batched", threads=NTH, qps=nq / dt)
