#!/usr/bin/env python3
"""Write the all-MiniLM-L6-v2 golden files into tests/golden/.

Usage (from the repository root):
    bash tools/reference/setup-venv.sh
    build/refvenv/bin/python tools/reference/make_goldens.py [--model DIR] [--out DIR]

Outputs (see docs/reference.md for the formats):
    minilm_texts.jsonl          one JSON string per line (ensure_ascii)
    minilm_tokens.jsonl         {"i","input_ids","tokens"} per text
    minilm_embeddings.f32       N x 384 little-endian float32
    minilm_embeddings.json      meta
    minilm_stsb.json            STSb-test Spearman x100 of the reference embeddings
    minilm_tokens_emb.f32       token_embeddings of 3 sentences, concatenated
    minilm_tokens_emb.json      meta (shapes, texts, input_ids)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(common.ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--out", default=os.path.join(common.ROOT, "tests", "golden"))
    ap.add_argument("--sts", default=common.STS_TEST)
    args = ap.parse_args()

    common.setup_determinism()
    import torch
    from scipy.stats import spearmanr
    from sentence_transformers import SentenceTransformer

    os.makedirs(args.out, exist_ok=True)
    pairs = common.read_sts(args.sts)
    assert len(pairs) == 1379, len(pairs)
    sts = common.sts_texts(pairs)
    assert len(sts) == 2758
    texts = sts + common.hard_cases()
    n = len(texts)

    model = SentenceTransformer(args.model, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    model.eval()
    tok = model.tokenizer

    # --- texts -----------------------------------------------------------
    p_texts = os.path.join(args.out, "minilm_texts.jsonl")
    common.write_jsonl(p_texts, texts)

    # --- tokens ----------------------------------------------------------
    rows = []
    for i, t in enumerate(texts):
        ids = model.tokenize([t])["input_ids"][0].tolist()
        rows.append({"i": i, "input_ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})
    p_tok = os.path.join(args.out, "minilm_tokens.jsonl")
    common.write_jsonl(p_tok, rows)

    # --- sentence embeddings --------------------------------------------
    emb = model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
    assert emb.shape == (n, 384) and emb.dtype == np.float32, (emb.shape, emb.dtype)
    p_emb = os.path.join(args.out, "minilm_embeddings.f32")
    common.write_f32(p_emb, emb)
    common.write_json(os.path.join(args.out, "minilm_embeddings.json"), {
        "n": n,
        "dim": 384,
        "dtype": "float32-le",
        "layout": "row-major n x dim, row i = embedding of line i of minilm_texts.jsonl",
        "n_sts": len(sts),
        "sts_layout": "rows 2k, 2k+1 = sentence1, sentence2 of STSb test pair k (file line order)",
        "n_hard": n - len(sts),
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "model_dir": "models/all-MiniLM-L6-v2",
        "call": "SentenceTransformer(model_dir, device='cpu').encode(texts, batch_size=32, convert_to_numpy=True)",
        "max_seq_length": 256,
        "torch_threads": 1,
        "versions": common.versions(),
    })

    # --- STSb Spearman ---------------------------------------------------
    a = emb[0:len(sts):2].astype(np.float64)
    b = emb[1:len(sts):2].astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    gold = np.array([p[0] for p in pairs], dtype=np.float64)
    rho = spearmanr(cos, gold).correlation
    spearman = float(rho * 100.0)
    print("STSb test Spearman x100 (cosine vs gold, %d pairs): %.4f" % (len(pairs), spearman))
    common.write_json(os.path.join(args.out, "minilm_stsb.json"), {
        "pairs": len(pairs),
        "spearman_x100": spearman,
        "spearman_x100_rounded": round(spearman, 2),
        "method": "scipy.stats.spearmanr(cos(emb[2k], emb[2k+1]) in float64, gold score field 4)",
        "mteb_published": 82.03,
        "source": "/work/shared/data/stsbenchmark/sts-test.csv",
        "versions": common.versions(),
    })

    # --- token embeddings ------------------------------------------------
    samples = [
        "A girl is styling her hair.",
        "The QUICK brown fox — didn't jump over the lazy dog?!",
        "Café crème brûlée à São Paulo",
    ]
    tembs = model.encode(samples, batch_size=32, output_value="token_embeddings",
                         show_progress_bar=False)
    shapes, ids_list, chunks = [], [], []
    for s, te in zip(samples, tembs):
        arr = te.detach().cpu().numpy().astype(np.float32)
        ids = model.tokenize([s])["input_ids"][0].tolist()
        assert arr.shape == (len(ids), 384), (arr.shape, len(ids))
        shapes.append(list(arr.shape))
        ids_list.append(ids)
        chunks.append(arr)
    p_te = os.path.join(args.out, "minilm_tokens_emb.f32")
    common.write_f32(p_te, np.concatenate(chunks, axis=0))
    common.write_json(os.path.join(args.out, "minilm_tokens_emb.json"), {
        "texts": samples,
        "shapes": shapes,
        "input_ids": ids_list,
        "dim": 384,
        "dtype": "float32-le",
        "layout": "per-token last hidden states (before pooling/normalize), texts concatenated in order, each [tokens x 384] incl. [CLS]/[SEP]",
        "call": "model.encode(texts, batch_size=32, output_value='token_embeddings')",
        "versions": common.versions(),
    })

    verify(args.out, texts, model, emb)
    return 0


def verify(out, texts, model, emb):
    """Read everything back and cross-check."""
    import json
    t2 = common.read_jsonl(os.path.join(out, "minilm_texts.jsonl"))
    assert t2 == texts
    toks = common.read_jsonl(os.path.join(out, "minilm_tokens.jsonl"))
    assert len(toks) == len(texts)
    for i, r in enumerate(toks):
        assert r["i"] == i and len(r["input_ids"]) == len(r["tokens"])
        assert 2 <= len(r["input_ids"]) <= 256
        assert r["input_ids"][0] == 101 and r["input_ids"][-1] == 102
    meta = json.load(open(os.path.join(out, "minilm_embeddings.json")))
    e2 = np.fromfile(os.path.join(out, "minilm_embeddings.f32"), dtype="<f4")
    assert e2.size == meta["n"] * meta["dim"]
    e2 = e2.reshape(meta["n"], meta["dim"])
    assert np.array_equal(e2, emb)
    norms = np.linalg.norm(e2, axis=1)
    assert np.all(np.abs(norms - 1) < 1e-5), norms.min()
    # single-text encode agrees with the batched golden to float tolerance
    for i in [0, 1, len(texts) - 1, 2758 + 16, 2758 + 17]:
        single = model.encode([texts[i]], convert_to_numpy=True, show_progress_bar=False)[0]
        assert np.max(np.abs(single - e2[i])) < 1e-5, (i, np.max(np.abs(single - e2[i])))
    tm = json.load(open(os.path.join(out, "minilm_tokens_emb.json")))
    te = np.fromfile(os.path.join(out, "minilm_tokens_emb.f32"), dtype="<f4")
    assert te.size == sum(a * b for a, b in tm["shapes"])
    st = json.load(open(os.path.join(out, "minilm_stsb.json")))
    print("verified: %d texts, embeddings %s, token_emb shapes %s, spearman %.4f"
          % (len(t2), e2.shape, tm["shapes"], st["spearman_x100"]))


if __name__ == "__main__":
    sys.exit(main())
