#!/usr/bin/env python3
"""Golden embeddings of a FULL-SIZE BERT-base whose weights come from a formula.

Usage (from the repository root, after tools/reference/setup-venv.sh and
scripts/fetch-model.sh, whose tokenizer files are reused):
    build/refvenv/bin/python tools/reference/make_bertbase_golden.py [--out tests/golden]

Purpose: prove that the C forward pass does not depend on the model's size
(12 layers x 768 hidden, 12 heads, FFN 3072, vocab 30522, 512 positions --
the bert-base-uncased shape) although no real BERT-base weights are available
here and 440 MB cannot be committed. Both this script and the C test
(tests/model/test_bertbase_random.c) generate every parameter from the same
counter-based formula, bit for bit; only the texts and the reference
embeddings are committed.

Weight formula (all arithmetic on unsigned 64-bit integers, wrapping mod 2^64)
------------------------------------------------------------------------------
For the tensor called NAME (its key in BertModel.state_dict(), e.g.
"embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
"pooler.dense.bias"; no "bert." prefix) and the element with row-major flat
index i (0 <= i < numel):

    h = FNV-1a-64(UTF-8 bytes of NAME)
          h = 0xCBF29CE484222325; for each byte c: h = (h XOR c) * 0x100000001B3
    z = h + i
    x = splitmix64 finaliser of z:
          z += 0x9E3779B97F4A7C15
          z = (z XOR (z >> 30)) * 0xBF58476D1CE4E5B9
          z = (z XOR (z >> 27)) * 0x94D049BB133111EB
          x = z XOR (z >> 31)
    u = x >> (64 - B)                       (the top B bits, 0 <= u < 2^B)
    value = base + (u / 2^B - 0.5) * scale  (in [base - scale/2, base + scale/2))

with (base, scale, B) chosen by the tensor's name:

    LayerNorm gammas   (*LayerNorm.weight)                 base 1, scale 2^-3, B 20
    LayerNorm betas    (*LayerNorm.bias)                   base 0, scale 2^-6, B 24
    other biases       (*.bias)                            base 0, scale 2^-6, B 24
    query / key weights (*attention.self.{query,key}.weight) base 0, scale 2^-3, B 24
    every other weight and embedding matrix                base 0, scale 2^-4, B 24

Every value is exactly representable in float32: (u - 2^(B-1)) is an integer
of magnitude <= 2^23 times a power of two, and for the gammas
1 + (u - 2^19) * 2^-23 is a multiple of 2^-23 within [1 - 2^-4, 1 + 2^-4).
So the formula can be evaluated in double (or exactly in integers) and
converted to float32 without any rounding; C and numpy agree bit for bit.
(Scales: uniform on +-2^-5 has std 0.018, close to BERT's 0.02 init; the
2^-3 query/key scale gives attention scores of std ~1, so attention is
neither flat nor one-hot and the per-head split matters.)

Model and reference call
------------------------
transformers.BertModel(BertConfig(vocab_size=30522, hidden_size=768,
num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
layer_norm_eps=1e-12, pad_token_id=0)) with the pooler (filled as well),
saved with save_pretrained (safetensors, F32) into a temporary folder next to
tokenizer.json, vocab.txt, tokenizer_config.json and special_tokens_map.json
copied from models/all-MiniLM-L6-v2 (the bert-base-uncased vocabulary,
model_max_length 512). No modules.json / sentence_bert_config.json: as for
bert-base-uncased itself, sentence-transformers builds Transformer + mean
pooling, no Normalize, max_seq_length = min(512, 512) = 512. Reference:

    SentenceTransformer(tmpdir, device="cpu").encode(texts, batch_size=8,
                                                     convert_to_numpy=True)

torch single-threaded, deterministic algorithms.

Outputs (in --out, default tests/golden):
    bertbase_texts.jsonl       one JSON string per line (ensure_ascii)
    bertbase_embeddings.f32    N x 768 little-endian float32, row i = text i
    bertbase_meta.json         versions, config, formula, call, token counts,
                               and spot values of the formula for the C test

Checks done here: the vectorised generator equals a scalar pure-Python
implementation at spot indices; every parameter of the model that
SentenceTransformer loaded back from the folder equals the generated array
exactly (so nothing was re-initialised or renamed); the long text is really
truncated at 512 tokens; re-reading the written files gives the same data.
"""
import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402

CONFIG = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
              intermediate_size=3072, hidden_act="gelu", max_position_embeddings=512,
              type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0,
              hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
              position_embedding_type="absolute")
DIM = 768
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")

M64 = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
SM_GAMMA = 0x9E3779B97F4A7C15
SM_M1 = 0xBF58476D1CE4E5B9
SM_M2 = 0x94D049BB133111EB

FORMULA = (
    "h = FNV-1a-64(UTF-8 bytes of the state_dict key; offset 0xCBF29CE484222325, prime 0x100000001B3); "
    "z = h + i (i = row-major flat element index, uint64 wrap-around); "
    "z += 0x9E3779B97F4A7C15; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; "
    "z = (z ^ (z >> 27)) * 0x94D049BB133111EB; x = z ^ (z >> 31); "
    "u = x >> (64 - B); value = base + (u / 2^B - 0.5) * scale, exact in float32. "
    "(base, scale, B): *LayerNorm.weight (1, 2^-3, 20); *LayerNorm.bias and every other *.bias (0, 2^-6, 24); "
    "*attention.self.query.weight and *attention.self.key.weight (0, 2^-3, 24); "
    "all other weights and embedding matrices (0, 2^-4, 24)")


def param_kind(name):
    """(base, scale, bits) for a state_dict key."""
    if name.endswith("LayerNorm.weight"):
        return 1.0, 2.0 ** -3, 20
    if name.endswith(".bias"):
        return 0.0, 2.0 ** -6, 24
    if name.endswith("attention.self.query.weight") or name.endswith("attention.self.key.weight"):
        return 0.0, 2.0 ** -3, 24
    return 0.0, 2.0 ** -4, 24


def fnv1a64(name):
    h = FNV_OFFSET
    for c in name.encode("utf-8"):
        h = ((h ^ c) * FNV_PRIME) & M64
    return h


def scalar_value(name, i):
    """The formula for one element, in plain Python integers (the spec)."""
    base, scale, bits = param_kind(name)
    z = (fnv1a64(name) + i) & M64
    z = (z + SM_GAMMA) & M64
    z = ((z ^ (z >> 30)) * SM_M1) & M64
    z = ((z ^ (z >> 27)) * SM_M2) & M64
    x = z ^ (z >> 31)
    u = x >> (64 - bits)
    return base + (u / 2.0 ** bits - 0.5) * scale


def generate(name, shape, chunk=1 << 22):
    """The formula for a whole tensor, vectorised (numpy uint64 wraps silently)."""
    base, scale, bits = param_kind(name)
    n = int(np.prod(shape))
    h = np.uint64(fnv1a64(name))
    out = np.empty(n, dtype=np.float32)
    with np.errstate(over="ignore"):
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            z = np.arange(s, e, dtype=np.uint64)
            z += h
            z += np.uint64(SM_GAMMA)
            z ^= z >> np.uint64(30)
            z *= np.uint64(SM_M1)
            z ^= z >> np.uint64(27)
            z *= np.uint64(SM_M2)
            z ^= z >> np.uint64(31)
            u = (z >> np.uint64(64 - bits)).astype(np.int64) - (1 << (bits - 1))
            v = base + u.astype(np.float64) * (scale / 2.0 ** bits)
            f = v.astype(np.float32)
            assert np.array_equal(f.astype(np.float64), v), name  # exact, no rounding
            out[s:e] = f
    return out.reshape(shape)


def golden_texts():
    pairs = common.read_sts()
    sts = common.sts_texts(pairs)
    assert len(sts) == 2758
    hard = common.hard_cases()
    picked_hard = [
        "Café crème brûlée à São Paulo",
        "你好，世界",
        "I love pizza 🍕🍕!",
        "Mr. O'Neil's $5.00 co-op—naïve?",
        "[MASK] and [CLS] literal",
        "a" * 101,
        "",
    ]
    for t in picked_hard:
        assert t in hard, t
    medium = common.long_text()                       # ~300 words: < 512 tokens, positions > 256
    long = common.long_text() + " " + " ".join(reversed(common.long_text().split()))  # > 512 tokens
    return [sts[i * 172] for i in range(16)] + picked_hard + [medium, long]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(common.ROOT, "tests", "golden"))
    ap.add_argument("--tokenizer-from", default=os.path.join(common.ROOT, "models", "all-MiniLM-L6-v2"))
    args = ap.parse_args()

    common.setup_determinism()
    import torch
    from transformers import BertConfig, BertModel
    from sentence_transformers import SentenceTransformer

    # -- the formula: vectorised == scalar spec ---------------------------------
    spots = []
    for name, shape in (("embeddings.word_embeddings.weight", (30522, 768)),
                        ("embeddings.position_embeddings.weight", (512, 768)),
                        ("embeddings.LayerNorm.weight", (768,)),
                        ("encoder.layer.0.attention.self.query.weight", (768, 768)),
                        ("encoder.layer.11.intermediate.dense.weight", (3072, 768)),
                        ("encoder.layer.5.output.LayerNorm.bias", (768,)),
                        ("encoder.layer.11.output.dense.bias", (768,))):
        a = generate(name, shape).reshape(-1)
        n = a.size
        for i in (0, 1, 2, 767, n // 3, n - 1):
            s = scalar_value(name, i)
            assert float(a[i]) == s, (name, i, float(a[i]), s)
            spots.append({"tensor": name, "index": i, "value": s,
                          "bits": "0x%08x" % int(np.float32(s).view(np.uint32))})
    # a couple of fixed facts, so a later change of the formula cannot go unnoticed
    assert fnv1a64("") == FNV_OFFSET
    assert fnv1a64("a") == 0xAF63DC4C8601EC8C  # the published FNV-1a-64 test vector

    # -- the model --------------------------------------------------------------
    cfg = BertConfig(**CONFIG)
    model = BertModel(cfg, add_pooling_layer=True)
    sd_keys = list(model.state_dict().keys())
    params = dict(model.named_parameters())
    assert sorted(sd_keys) == sorted(params), set(sd_keys) ^ set(params)
    assert len(params) == 5 + 16 * 12 + 2, len(params)
    generated = {}
    with torch.no_grad():
        for name, p in params.items():
            g = generate(name, tuple(p.shape))
            generated[name] = g
            p.copy_(torch.from_numpy(g))
    n_params = sum(int(g.size) for g in generated.values())
    model.eval()

    tmp = tempfile.mkdtemp(prefix="bertbase-golden-")
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        del model
        for f in TOKENIZER_FILES:
            shutil.copyfile(os.path.join(args.tokenizer_from, f), os.path.join(tmp, f))
        files = sorted(os.listdir(tmp))
        assert "modules.json" not in files and "model.safetensors" in files, files
        with open(os.path.join(tmp, "config.json"), encoding="utf-8") as f:
            saved_config = f.read()

        # the saved file holds exactly the generated tensors
        from safetensors.numpy import load_file
        st = load_file(os.path.join(tmp, "model.safetensors"))
        assert sorted(st) == sorted(generated), set(st) ^ set(generated)
        for k, v in st.items():
            assert v.dtype == np.float32 and np.array_equal(v, generated[k]), k
        del st

        st_model = SentenceTransformer(tmp, device="cpu")
        st_model.eval()
        mods = [type(m).__name__ for m in st_model]
        assert mods == ["Transformer", "Pooling"], mods
        assert st_model.max_seq_length == 512, st_model.max_seq_length
        assert st_model.get_sentence_embedding_dimension() == DIM
        pool = st_model[1]
        assert pool.pooling_mode_mean_tokens and not pool.pooling_mode_cls_token
        # what sentence-transformers runs is exactly the formula
        loaded = st_model[0].auto_model.state_dict()
        for k, g in generated.items():
            assert np.array_equal(loaded[k].numpy(), g), k
        assert loaded["embeddings.word_embeddings.weight"].numpy().reshape(-1)[12345] == \
            np.float32(scalar_value("embeddings.word_embeddings.weight", 12345))
        del loaded

        texts = golden_texts()
        counts, full_counts = [], []
        for t in texts:
            counts.append(int(st_model.tokenize([t])["input_ids"].shape[1]))
            full_counts.append(len(st_model.tokenizer(t.strip(), add_special_tokens=True)["input_ids"]))
        assert counts[-1] == 512 and full_counts[-1] > 512, (counts[-1], full_counts[-1])
        assert 256 < counts[-2] < 512, counts[-2]

        emb = st_model.encode(texts, batch_size=8, convert_to_numpy=True, show_progress_bar=False)
        assert emb.shape == (len(texts), DIM) and emb.dtype == np.float32
        assert np.all(np.isfinite(emb))
        # a single text on its own gives the same vector (batch padding is masked)
        one = st_model.encode([texts[0]], batch_size=1, convert_to_numpy=True, show_progress_bar=False)
        assert np.max(np.abs(one[0] - emb[0])) < 1e-4, np.max(np.abs(one[0] - emb[0]))
    finally:
        shutil.rmtree(tmp)

    # how distinguishable the texts are (so the C test's cosine bound means something)
    nrm = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    cos = nrm @ nrm.T
    off = cos[~np.eye(len(texts), dtype=bool)]

    os.makedirs(args.out, exist_ok=True)
    common.write_jsonl(os.path.join(args.out, "bertbase_texts.jsonl"), texts)
    shape = common.write_f32(os.path.join(args.out, "bertbase_embeddings.f32"), emb)
    meta = {
        "n": len(texts),
        "dim": DIM,
        "shape": list(shape),
        "dtype": "float32-le",
        "layout": "row-major, row i = line i of bertbase_texts.jsonl",
        "call": "SentenceTransformer(dir, device='cpu').encode(texts, batch_size=8, convert_to_numpy=True)",
        "model": "BertModel(BertConfig(**config)) with the pooler, every parameter from the formula, "
                 "save_pretrained (safetensors F32) + tokenizer.json, vocab.txt, tokenizer_config.json, "
                 "special_tokens_map.json of all-MiniLM-L6-v2 (bert-base-uncased vocab); no modules.json",
        "config": CONFIG,
        "saved_config_json": saved_config,
        "n_parameters": n_params,
        "modules": mods,
        "pooling": "mean (implicit, no modules.json)",
        "normalize": False,
        "max_seq_length": 512,
        "formula": FORMULA,
        "formula_spots": spots,
        "token_counts": counts,
        "token_counts_untruncated": full_counts,
        "texts": "16 STSb-test sentences (rows 0, 172, ..., 2580 of minilm_texts.jsonl), 7 hard cases, "
                 "common.long_text() (300 words, < 512 tokens), and a > 512-token text (truncated to 512)",
        "pairwise_cosine_between_texts": {"mean": float(off.mean()), "max": float(off.max()),
                                          "min": float(off.min())},
        "versions": common.versions(),
    }
    common.write_json(os.path.join(args.out, "bertbase_meta.json"), meta)

    back = common.read_jsonl(os.path.join(args.out, "bertbase_texts.jsonl"))
    assert back == texts
    arr = np.fromfile(os.path.join(args.out, "bertbase_embeddings.f32"), dtype="<f4").reshape(len(texts), DIM)
    assert np.array_equal(arr, emb)
    print("wrote %d texts x %d dims; %d parameters; token counts %s; pairwise cosine mean %.4f max %.4f"
          % (len(texts), DIM, n_params, counts, off.mean(), off.max()))


if __name__ == "__main__":
    main()
