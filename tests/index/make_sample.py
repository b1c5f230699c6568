#!/usr/bin/env python3
"""Make tests/index/data/arguana_minilm_3000.f16: a small committed sample of
real all-MiniLM-L6-v2 embeddings (made by `semsearch embed`, see
bench/index_data.sh) for the HNSW recall test: the first 2,700 ArguAna corpus
docs followed by the first 300 ArguAna queries, stored as IEEE halves.
Format: b"SSF16\\0\\0\\0", uint32 n, uint32 d, then n*d little-endian halves."""
import struct, sys
import numpy as np

src = sys.argv[1] if len(sys.argv) > 1 else "build/index-data"
out = sys.argv[2] if len(sys.argv) > 2 else "tests/index/data/arguana_minilm_3000.f16"

def fvecs(path):
    a = np.fromfile(path, dtype=np.int32)
    d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].view(np.float32)

import os
p = f"{src}/arguana_corpus.fvecs"
if not os.path.exists(p):
    p = f"{src}/arguana_corpus2700.fvecs"  # the first 2,700 docs only
docs = fvecs(p)[:2700]
qs = fvecs(f"{src}/arguana_queries.fvecs")[:300]
allv = np.vstack([docs, qs]).astype(np.float16)
with open(out, "wb") as f:
    f.write(b"SSF16\0\0\0" + struct.pack("<II", *allv.shape))
    f.write(allv.tobytes())
print(out, allv.shape)
