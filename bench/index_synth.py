#!/usr/bin/env python3
"""Synthetic clustered vectors for the index benchmark when the embedded sets
are not at hand (docs/index.md's 20k / 50k / 100k synthetic runs): 2,000
Gaussian centres in d dimensions, each row a random centre plus N(0, 0.8^2)
noise per dimension, normalised; seed 1. Harder for HNSW than real MiniLM
embeddings at the same size.
usage: index_synth.py OUT.fvecs [N=100000] [D=384]   (then bench_index OUT.fvecs --holdout 1000 [--n N])"""
import sys
import numpy as np

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
d = int(sys.argv[3]) if len(sys.argv) > 3 else 384
r = np.random.default_rng(1)
c = r.standard_normal((2000, d)).astype(np.float32)
x = c[r.integers(0, 2000, n)] + 0.8 * r.standard_normal((n, d)).astype(np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
a = np.empty((n, d + 1), dtype=np.float32)
a[:, 1:] = x
a.view(np.int32)[:, 0] = d
a.tofile(out)
