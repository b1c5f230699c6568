#!/usr/bin/env python3
"""Interleaved, same-process comparison of HNSW indexes on the same vectors:
semsearch (via ctypes on one or more libsemsearch.so builds) against peers.
Every (ef, threads) point is measured round-robin across all indexes, best of
REPS, so machine-load drift hits all of them alike (the dev box is shared).
Reads DIR/base.fvecs, DIR/queries.fvecs, DIR/gt.i64 (written by bench_index);
writes DIR/ours.jsonl (search + build rows) and DIR/peers.jsonl, DIR/env.json.

usage: index_compare.py DIR [threads] [reps]
environment:
  SS_LIBS   name=path,... semsearch builds to compare (default
            semsearch=build/libsemsearch.so); e.g. new=build/libsemsearch.so,
            old=../wt-old/build/libsemsearch.so for a before/after run
  CONFIGS   semsearch configs (default fp32,int8,binary; also fp16 = the walk
            on fp16 codes, the best 3k rescored with the fp32 copy)
  PEERS     comma list from hnswlib, faiss, faiss-int8, usearch, usearch-i8,
            hnswlib-debian (default: all but hnswlib-debian; "" for none).
            hnswlib-debian loads /usr/lib/python3/dist-packages' build by path
            (only with /usr/bin/python3's numpy)
  EFS       ef sweep (default 10,16,24,32,48,64,96,128,256)
  EXACT     1 (default): FAISS IndexFlatIP exact-scan rows (needs faiss)
Each point records qps (queries / best wall time) and qps_cpu (queries / best
process CPU time: on a machine shared with other jobs the 1-thread CPU figure
is the one load does not move much; with 2 threads it also counts peers' idle
spinning, e.g. OpenMP's, so use wall time there)."""
import ctypes as C, json, os, platform, re, sys, time
import numpy as np

D = sys.argv[1]
NTH = int(sys.argv[2]) if len(sys.argv) > 2 else 2
REPS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
M, EFC, K = 16, 100, 10
EFS = [int(x) for x in os.environ.get("EFS", "10,16,24,32,48,64,96,128,256").split(",")]
CONFIGS = [c for c in os.environ.get("CONFIGS", "fp32,int8,binary").split(",") if c]
PEERS = [p for p in os.environ.get("PEERS", "hnswlib,faiss,faiss-int8,usearch,usearch-i8").split(",") if p]
HERE = os.path.dirname(os.path.abspath(__file__))
SS_LIBS = [kv.split("=", 1) for kv in
           os.environ.get("SS_LIBS", "semsearch=" + os.path.join(HERE, "..", "build", "libsemsearch.so")).split(",")]


def cpu_info():
    model, flags = "?", set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                       "avx512_bf16", "avx512_fp16", "avx512_vpopcntdq", "amx_int8", "amx_bf16") if f in flags]
    return model, isa, os.cpu_count()


def fvecs(p):
    a = np.fromfile(p, dtype=np.int32)
    d = a[0]
    return np.ascontiguousarray(a.reshape(-1, d + 1)[:, 1:].view(np.float32))


base, qs = fvecs(f"{D}/base.fvecs"), fvecs(f"{D}/queries.fvecs")
n, d = base.shape
nq = len(qs)
gt = np.fromfile(f"{D}/gt.i64", dtype=np.int64).reshape(nq, K)
model, isa, ncpu = cpu_info()
versions = {"python": platform.python_version(), "numpy": np.__version__}
print(f"index_compare: {n} x {d} base, {nq} queries, M={M} efC={EFC} k={K}, build threads {NTH}, best of {REPS}")
print(f"CPU: {model}; {ncpu} online CPUs; ISA: {' '.join(isa)}")
print(f"load: {open('/proc/loadavg').read().split()[:3]}", flush=True)


def recall(I):
    return float(np.mean([len(set(I[i]) & set(gt[i])) / K for i in range(nq)]))


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class Err(C.Structure):
    _fields_ = [("code", C.c_int), ("msg", C.c_char * 1024)]


class Opts(C.Structure):
    # ss_index_options; `pool` is the last field (a build from before it reads
    # only the fields it knows, so one layout serves both)
    _fields_ = [("type", C.c_int), ("metric", C.c_int), ("quantize", C.c_int), ("m", C.c_int),
                ("ef_construction", C.c_int), ("ef_search", C.c_int), ("keep_fp32", C.c_int),
                ("oversample", C.c_float), ("n_threads", C.c_int), ("seed", C.c_uint64),
                ("pool", C.c_void_p)]


class Params(C.Structure):
    _fields_ = [("ef_search", C.c_int), ("oversample", C.c_float), ("filter", C.c_void_p), ("n_threads", C.c_int)]


def load_ss(path):
    lib = C.CDLL(os.path.abspath(path))
    lib.ss_index_new.restype = C.c_void_p
    lib.ss_index_new.argtypes = [C.c_int, C.POINTER(Opts), C.POINTER(Err)]
    lib.ss_index_add.argtypes = [C.c_void_p, C.c_void_p, C.c_void_p, C.c_size_t, C.POINTER(Err)]
    lib.ss_index_search.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t, C.c_int, C.POINTER(Params), C.c_void_p,
                                    C.c_void_p, C.POINTER(Err)]
    lib.ss_index_free.argtypes = [C.c_void_p]
    return lib


err = Err()
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
    t, c = time.perf_counter(), time.process_time()
    add(idx)
    tb, tc = time.perf_counter() - t, time.process_time() - c
    per_vec = (rss_mb() - r0) * 1e6 / n
    print(f"{label}: build {tb:.1f} s ({tc:.1f} CPU s), RSS +{per_vec:.0f} B/vec  (load {os.getloadavg()[0]:.1f})",
          flush=True)
    emit(out, lib=libname, kind="build", config=config, build_s=tb, build_cpu_s=tc, threads=NTH,
         rss_bytes_per_vector=per_vec)
    return idx


searchers = {}  # name -> (lib, config, fn(ef, threads) -> ids)
QUANT = {"fp32": 0, "fp16": 1, "int8": 2, "binary": 3}  # fp16: fp16 walk + fp32 rescore (keep_fp32 1)
libs = {}
for name, path in SS_LIBS:
    libs[name] = load_ss(path)
    versions[name] = os.path.abspath(path)
# build each config for every semsearch build back to back (alternating), so
# build times see the same load
for cfg in CONFIGS:
    for name, lib in libs.items():
        o = Opts(type=1, metric=1, quantize=QUANT[cfg], m=M, ef_construction=EFC, n_threads=NTH,
                 keep_fp32=1 if cfg == "fp16" else 0)

        def ss_add(x, lib=lib):
            assert lib.ss_index_add(x, None, base.ctypes.data, n, C.byref(err)) == 0, err.msg

        x = build(f"{name} {cfg}", name, cfg, ours_out,
                  lambda lib=lib, o=o: lib.ss_index_new(d, C.byref(o), C.byref(err)), ss_add)

        # binary rescores its whole beam: with oversample 1 the beam is ef itself,
        # so the ef sweep traces binary's recall/QPS curve from the low end too
        def fn(ef, th, x=x, lib=lib, os_=1.0 if cfg == "binary" else 0.0):
            ids = np.empty((nq, K), dtype=np.int64)
            sc = np.empty((nq, K), dtype=np.float32)
            p = Params(ef_search=ef, n_threads=th, oversample=os_)
            lib.ss_index_search(x, qs.ctypes.data, nq, K, C.byref(p), ids.ctypes.data, sc.ctypes.data, C.byref(err))
            return ids
        searchers[f"{name} {cfg}"] = (name, cfg, fn)

for peer in PEERS:
    if peer in ("hnswlib", "hnswlib-debian"):
        if peer == "hnswlib":
            import hnswlib as hl
            versions["hnswlib"] = getattr(hl, "__version__", "0.8.0 (PyPI, built from source)")
        else:
            import glob, importlib.machinery, importlib.util
            so = glob.glob("/usr/lib/python3/dist-packages/hnswlib*.so")[0]
            spec = importlib.util.spec_from_file_location("hnswlib", so,
                                                          loader=importlib.machinery.ExtensionFileLoader("hnswlib", so))
            hl = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(hl)
            versions["hnswlib-debian"] = "0.6.2 (Debian python3-hnswlib)"

        def hnew(hl=hl):
            h = hl.Index(space="ip", dim=d)
            h.init_index(max_elements=n, M=M, ef_construction=EFC, random_seed=100)
            return h
        h = build(peer, peer, "fp32", peers_out, hnew, lambda h: h.add_items(base, np.arange(n), num_threads=NTH))

        def hfn(ef, th, h=h):
            h.set_ef(max(ef, K))
            return h.knn_query(qs, k=K, num_threads=th)[0]
        searchers[peer] = (peer, "fp32", hfn)
    elif peer in ("faiss", "faiss-int8"):
        import faiss
        versions["faiss"] = f"{faiss.__version__} ({' '.join(faiss.get_compile_options().split())})"
        faiss.omp_set_num_threads(NTH)

        def faiss_hnsw(idx):
            idx.hnsw.efConstruction = EFC
            return idx
        if peer == "faiss":
            fi = build("faiss HNSWFlat", "faiss", "fp32", peers_out,
                       lambda: faiss_hnsw(faiss.IndexHNSWFlat(d, M, faiss.METRIC_INNER_PRODUCT)),
                       lambda i: i.add(base))

            def ffn(ef, th, fi=fi):
                fi.hnsw.efSearch = max(ef, K)
                faiss.omp_set_num_threads(th)
                return fi.search(qs, K)[1]
            searchers["faiss"] = ("faiss", "fp32", ffn)
        else:
            # FAISS's counterpart of int8 + rescore: HNSWSQ 8-bit refined with
            # exact fp32 distances over k_factor * k candidates (semsearch: 3x)
            sq = faiss_hnsw(faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, M, faiss.METRIC_INNER_PRODUCT))

            def refine_new(sq=sq):
                fr = faiss.IndexRefineFlat(sq)
                fr.k_factor = 3
                return fr
            fr = build("faiss HNSWSQ8+refine", "faiss", "int8", peers_out, refine_new,
                       lambda i: (i.train(base), i.add(base)))

            def sfn(ef, th, fr=fr, sq=sq):
                sq.hnsw.efSearch = max(ef, K * 3)
                faiss.omp_set_num_threads(th)
                return fr.search(qs, K)[1]
            searchers["faiss int8"] = ("faiss", "int8", sfn)
    elif peer in ("usearch", "usearch-i8"):
        import usearch
        from usearch.index import Index as UIndex
        versions["usearch"] = usearch.__version__
        # connectivity 16 = M (level 0 keeps 2M, as hnswlib); i8 is usearch's
        # quantised HNSW (cosine on the normalised vectors; no fp32 rescoring)
        dt, metric, cfg = ("f32", "ip", "fp32") if peer == "usearch" else ("i8", "cos", "int8")

        def unew(dt=dt, metric=metric):
            return UIndex(ndim=d, metric=metric, dtype=dt, connectivity=M, expansion_add=EFC, expansion_search=64)
        u = build(peer, "usearch", cfg, peers_out, unew, lambda u: u.add(np.arange(n), base, threads=NTH))
        versions["usearch_isa"] = u.hardware_acceleration

        def ufn(ef, th, u=u):
            u.expansion_search = max(ef, K)
            return np.asarray(u.search(qs, K, threads=th).keys).astype(np.int64)
        searchers[peer] = ("usearch", cfg, ufn)
    else:
        sys.exit(f"index_compare: unknown peer {peer}")

print("versions:", json.dumps(versions), flush=True)
json.dump({"cpu": model, "isa": isa, "cpus": ncpu, "versions": versions, "n": n, "dim": d, "queries": nq,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "reps": REPS,
           "load_start": os.getloadavg()}, open(f"{D}/env.json", "w"))

for ef in EFS:
    for th in sorted({1, NTH}):
        best, bcpu, rec = {}, {}, {}
        for rep in range(REPS):
            # rotate the starting index each round so none always runs first
            names = list(searchers)
            names = names[rep % len(names):] + names[:rep % len(names)]
            for name in names:
                fn = searchers[name][2]
                t, c = time.perf_counter(), time.process_time()
                I = fn(ef, th)
                dt, dc = time.perf_counter() - t, time.process_time() - c
                best[name] = min(best.get(name, 1e30), dt)
                bcpu[name] = min(bcpu.get(name, 1e30), max(dc, 1e-9))
                if name not in rec:
                    rec[name] = recall(I)
        for name, (libname, cfg, _) in searchers.items():
            emit(ours_out if libname in libs else peers_out, lib=libname, kind="search", config=cfg, ef=ef,
                 threads=th, recall=rec[name], qps=nq / best[name], qps_cpu=nq / bcpu[name])
        print(f"ef={ef:<4d} threads={th} load {os.getloadavg()[0]:.1f}: " +
              "  ".join(f"{nm} {rec[nm]:.4f}/{nq / best[nm]:.0f}" for nm in searchers), flush=True)

if os.environ.get("EXACT", "1") == "1":
    import faiss
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
print(f"load at the end: {open('/proc/loadavg').read().split()[:3]}")
