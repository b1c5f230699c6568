#!/usr/bin/env python3
"""Build time of two or more libsemsearch builds on the same vectors, in
rounds that alternate the builds (and rotate which goes first), wall and
process-CPU seconds; the CPU figure is the one a shared machine moves least.
usage: index_build_ab.py BASE.fvecs ROUNDS name=lib.so name=lib.so ...
(CONFIGS=fp32,int8,binary; THREADS=2). With QUERIES=Q.fvecs, each build of
the last round also answers those queries (k 10, ef 64) and the result lists
are compared with the first build's: with THREADS=1 the build is
deterministic, so identical code gives identical lists."""
import ctypes as C, os, sys, time
import numpy as np

vec, rounds, libs = sys.argv[1], int(sys.argv[2]), [a.split("=", 1) for a in sys.argv[3:]]
a = np.fromfile(vec, dtype=np.int32)
d = int(a[0])
base = np.ascontiguousarray(a.reshape(-1, d + 1)[:, 1:].view(np.float32))
n = len(base)
TH = int(os.environ.get("THREADS", "2"))
CONFIGS = os.environ.get("CONFIGS", "fp32,int8,binary").split(",")


class Err(C.Structure):
    _fields_ = [("code", C.c_int), ("msg", C.c_char * 1024)]


class Opts(C.Structure):
    _fields_ = [("type", C.c_int), ("metric", C.c_int), ("quantize", C.c_int), ("m", C.c_int),
                ("ef_construction", C.c_int), ("ef_search", C.c_int), ("keep_fp32", C.c_int),
                ("oversample", C.c_float), ("n_threads", C.c_int), ("seed", C.c_uint64), ("pool", C.c_void_p)]


class Params(C.Structure):
    _fields_ = [("ef_search", C.c_int), ("oversample", C.c_float), ("filter", C.c_void_p), ("n_threads", C.c_int)]


qs = None
if os.environ.get("QUERIES"):
    b = np.fromfile(os.environ["QUERIES"], dtype=np.int32)
    qs = np.ascontiguousarray(b.reshape(-1, d + 1)[:, 1:].view(np.float32))
L = {}
for name, path in libs:
    l = C.CDLL(os.path.abspath(path))
    l.ss_index_new.restype = C.c_void_p
    l.ss_index_new.argtypes = [C.c_int, C.POINTER(Opts), C.POINTER(Err)]
    l.ss_index_add.argtypes = [C.c_void_p, C.c_void_p, C.c_void_p, C.c_size_t, C.POINTER(Err)]
    l.ss_index_free.argtypes = [C.c_void_p]
    l.ss_index_search.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t, C.c_int, C.POINTER(Params), C.c_void_p,
                                  C.c_void_p, C.POINTER(Err)]
    L[name] = l
err = Err()
Q = {"fp32": 0, "int8": 2, "binary": 3}
print(f"index_build_ab: {n} x {d}, {TH} build threads, {rounds} rounds, load {os.getloadavg()[0]:.1f}")
for cfg in CONFIGS:
    wall, cpu, res = {k: [] for k in L}, {k: [] for k in L}, {}
    for r in range(rounds):
        names = list(L)
        names = names[r % len(names):] + names[:r % len(names)]
        for name in names:
            l = L[name]
            o = Opts(type=1, metric=1, quantize=Q[cfg], m=16, ef_construction=100, n_threads=TH)
            x = l.ss_index_new(d, C.byref(o), C.byref(err))
            t, c = time.perf_counter(), time.process_time()
            assert l.ss_index_add(x, None, base.ctypes.data, n, C.byref(err)) == 0, err.msg
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
            if qs is not None and r == rounds - 1:
                ids = np.empty((len(qs), 10), dtype=np.int64)
                sc = np.empty((len(qs), 10), dtype=np.float32)
                p = Params(ef_search=64, n_threads=1)
                l.ss_index_search(x, qs.ctypes.data, len(qs), 10, C.byref(p), ids.ctypes.data, sc.ctypes.data,
                                  C.byref(err))
                res[name] = (ids, sc)
            l.ss_index_free(x)
    ref = list(L)[0]
    print(f"{cfg}: " + "  ".join(f"{k} wall min {min(wall[k]):.2f} s CPU min {min(cpu[k]):.2f} s" for k in L) +
          "  |  " + "  ".join(f"{k}/{ref} CPU {min(cpu[k]) / min(cpu[ref]):.3f}x wall {min(wall[k]) / min(wall[ref]):.3f}x"
                             for k in list(L)[1:]) + f"  (load {os.getloadavg()[0]:.1f})", flush=True)
    if res:
        for k in list(L)[1:]:
            same = np.mean([np.array_equal(res[k][0][i], res[ref][0][i]) for i in range(len(qs))])
            dmax = float(np.max(np.abs(res[k][1] - res[ref][1])))
            print(f"  {cfg}: {k} vs {ref}: {100 * same:.2f}% of {len(qs)} result lists identical, "
                  f"max score difference {dmax:.3g}", flush=True)
