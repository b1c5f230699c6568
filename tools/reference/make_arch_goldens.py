#!/usr/bin/env python3
"""Build tiny randomly-initialised sentence-transformers models and their goldens.

Usage (from the repository root, after tools/reference/setup-venv.sh and
scripts/fetch-model.sh, whose vocab.txt is reused):
    build/refvenv/bin/python tools/reference/make_arch_goldens.py [--out tests/models]

Every model: 2 layers, hidden 32, 4 heads, intermediate 64, real vocabulary.
All parameters (biases and LayerNorm affine included) are re-drawn from a seeded
generator so that no term of the forward pass is trivially zero/one. The
saved weights are rounded to the model's storage dtype; goldens are computed
by re-loading the saved folder with SentenceTransformer(dir, device="cpu")
(transformers upcasts F16/BF16 to float32 on load), so they reflect exactly
the stored weights.

Per model folder tests/models/<name>/:
    golden_texts.jsonl        texts (one JSON string per line, ensure_ascii)
    golden_tokens.jsonl       {"i","input_ids","tokens"} = model.tokenize([text])
    golden_embeddings.f32     N x dim float32-le = model.encode(texts, batch_size=32)
    golden_embeddings.json    meta (call, shapes, versions, architecture)
    golden_opt_*.{f32,i8,u8}  encode-option goldens (see golden_options.json)
and tests/models/manifest.json summarising all models.
"""
import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402

H, LAYERS, HEADS, INTER = 32, 2, 4, 64

# name: spec
MODELS = [
    dict(name="bert-mean-normalize", arch="bert", dtype="float32", pooling="mean", normalize=True,
         max_seq_length=256, note="like all-MiniLM-L6-v2"),
    dict(name="bert-cls", arch="bert", dtype="float16", pooling="cls", normalize=True,
         max_seq_length=512, note="like bge: CLS pooling + Normalize"),
    dict(name="bert-max", arch="bert", dtype="bfloat16", pooling="max", normalize=False,
         max_seq_length=128, note="max pooling, no Normalize"),
    dict(name="bert-mean-sqrt-len", arch="bert", dtype="float16", pooling="mean_sqrt_len_tokens",
         normalize=False, max_seq_length=128, note="mean_sqrt_len pooling, no Normalize"),
    dict(name="bert-nomodules", arch="bert", dtype="float32", pooling=None, normalize=False,
         max_seq_length=None, note="plain HF folder (no modules.json): ST falls back to mean pooling, "
         "no Normalize, max_seq_length=min(max_position_embeddings, tokenizer.model_max_length)=512"),
    dict(name="bert-cased", arch="bert", dtype="bfloat16", pooling="mean", normalize=True,
         max_seq_length=256, do_lower_case=False, note="cased tokenizer (do_lower_case false, "
         "no accent stripping) over the uncased vocab"),
    dict(name="bert-gelu-new", arch="bert", dtype="bfloat16", pooling="mean", normalize=True,
         max_seq_length=256, hidden_act="gelu_new", note="hidden_act gelu_new (tanh approximation)"),
    dict(name="bert-prompts", arch="bert", dtype="float16", pooling="mean", normalize=True,
         max_seq_length=256, prompts={"query": "query: ", "passage": "passage: "},
         note="like e5: prompts in config_sentence_transformers.json"),
    dict(name="mpnet-mean-normalize", arch="mpnet", dtype="float32", pooling="mean", normalize=True,
         max_seq_length=384, note="like all-mpnet-base-v2"),
    # models.Dense after Pooling (as LaBSE, sentence-t5, msmarco-distilbert-*-tas-b-like
    # heads): Dense(32 -> 24, Tanh, bias) then Dense(24 -> 16, Identity, no bias).
    dict(name="bert-dense", arch="bert", dtype="float32", pooling="mean", normalize=True,
         max_seq_length=256, dense=[(24, "Tanh", True), (16, "Identity", False)],
         note="two Dense modules (Tanh with bias, Identity without) between Pooling and Normalize"),
]


def out_dim(spec):
    return spec["dense"][-1][0] if spec.get("dense") else H

TORCH_DTYPES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16"}


def golden_texts():
    pairs = common.read_sts()
    sts = common.sts_texts(pairs)
    # 16 STSb test sentences spread over the file, then every hard case.
    extra = [
        # literal special tokens of both vocabularies (MPNet's added tokens are
        # "normalized": true, so they are matched after lowercasing)
        "literal <s> and </s> and <pad> <unk> tokens",
        "fill the<mask> and the <mask>!",
        "<MASK> upper and [mask] lower [UNK]",
    ]
    return [sts[i * 172] for i in range(16)] + common.hard_cases() + extra


def randomise(model, seed, arch):
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if "LayerNorm.weight" in name:
                v = 1.0 + 0.2 * torch.randn(p.shape, generator=g)
            elif name.endswith("bias") and "relative_attention_bias" not in name:
                v = 0.1 * torch.randn(p.shape, generator=g)
            elif "relative_attention_bias" in name:
                v = 0.5 * torch.randn(p.shape, generator=g)
            elif "embeddings" in name:
                v = 0.5 * torch.randn(p.shape, generator=g)
            else:
                v = 0.2 * torch.randn(p.shape, generator=g)
            p.copy_(v)


def build_bert_tokenizer(dst, minilm_dir, do_lower_case):
    from transformers import BertTokenizerFast
    tok = BertTokenizerFast(vocab_file=os.path.join(minilm_dir, "vocab.txt"),
                            do_lower_case=do_lower_case, model_max_length=512)
    tok.save_pretrained(dst)
    return tok


def build_mpnet_tokenizer(dst, minilm_dir, tmp):
    from transformers import MPNetTokenizerFast
    # MPNet's vocabulary (microsoft/mpnet-base, all-mpnet-base-v2): fairseq
    # specials <s>=0 <pad>=1 </s>=2 <unk>=3, then the BERT uncased WordPiece
    # vocab shifted by 4 (so [UNK]=104, the tokenizer's unk token), then
    # <mask>=30526; 30527 entries.
    with open(os.path.join(minilm_dir, "vocab.txt"), encoding="utf-8") as f:
        bert = [l.rstrip("\n") for l in f]
    assert len(bert) == 30522
    vocab = ["<s>", "<pad>", "</s>", "<unk>"] + bert + ["<mask>"]
    vpath = os.path.join(tmp, "mpnet-vocab.txt")
    with open(vpath, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(vocab) + "\n")
    tok = MPNetTokenizerFast(vocab_file=vpath, do_lower_case=True, model_max_length=512)
    assert tok.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>", "[UNK]", "<mask>"]) == \
        [0, 1, 2, 3, 104, 30526]
    assert len(tok) == 30527, len(tok)
    tok.save_pretrained(dst)
    return tok


def build_model(spec, dst, minilm_dir, tmp, seed):
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer, models

    if os.path.isdir(dst):
        shutil.rmtree(dst)
    hf_dir = os.path.join(tmp, spec["name"] + "-hf")
    if os.path.isdir(hf_dir):
        shutil.rmtree(hf_dir)
    os.makedirs(hf_dir)
    torch.manual_seed(seed)
    if spec["arch"] == "bert":
        from transformers import BertConfig, BertModel
        cfg = BertConfig(vocab_size=30522, hidden_size=H, num_hidden_layers=LAYERS,
                         num_attention_heads=HEADS, intermediate_size=INTER,
                         hidden_act=spec.get("hidden_act", "gelu"), max_position_embeddings=512,
                         type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0)
        model = BertModel(cfg)
        build_bert_tokenizer(hf_dir, minilm_dir, spec.get("do_lower_case", True))
    else:
        from transformers import MPNetConfig, MPNetModel
        cfg = MPNetConfig(vocab_size=30527, hidden_size=H, num_hidden_layers=LAYERS,
                          num_attention_heads=HEADS, intermediate_size=INTER, hidden_act="gelu",
                          max_position_embeddings=514, layer_norm_eps=1e-5,
                          relative_attention_num_buckets=32, pad_token_id=1, bos_token_id=0,
                          eos_token_id=2)
        model = MPNetModel(cfg)
        build_mpnet_tokenizer(hf_dir, minilm_dir, tmp)
    randomise(model, seed, spec["arch"])
    model.eval()
    model.config.torch_dtype = getattr(torch, spec["dtype"])
    model.save_pretrained(hf_dir, safe_serialization=True)
    # Rewrite the weights in the storage dtype.
    tdt = getattr(torch, spec["dtype"])
    sd = {k: v.detach().to(tdt).contiguous() for k, v in model.state_dict().items()}
    os.remove(os.path.join(hf_dir, "model.safetensors"))
    save_file(sd, os.path.join(hf_dir, "model.safetensors"), metadata={"format": "pt"})

    if spec["pooling"] is None:
        shutil.copytree(hf_dir, dst)
    else:
        tr = models.Transformer(hf_dir, max_seq_length=spec["max_seq_length"])
        pool = models.Pooling(H, pooling_mode=spec["pooling"])
        dense = []
        d_in = H
        for j, (d_out, act, bias) in enumerate(spec.get("dense") or []):
            import torch.nn
            dm = models.Dense(d_in, d_out, bias=bias, activation_function=getattr(torch.nn, act)())
            g = torch.Generator().manual_seed(seed * 10 + j)
            with torch.no_grad():
                for _, p in sorted(dm.named_parameters()):
                    p.copy_(0.3 * torch.randn(p.shape, generator=g))
            dense.append(dm)
            d_in = d_out
        mods = [tr, pool] + dense + ([models.Normalize()] if spec["normalize"] else [])
        st = SentenceTransformer(modules=mods, device="cpu",
                                 prompts=spec.get("prompts"))
        st.save(dst, create_model_card=False)
        # Transformer.save re-saves the (float32, upcast) weights: put the
        # storage-dtype file back.
        shutil.copyfile(os.path.join(hf_dir, "model.safetensors"),
                        os.path.join(dst, "model.safetensors"))
        shutil.copyfile(os.path.join(hf_dir, "config.json"), os.path.join(dst, "config.json"))
    # ST 2.7 saves (and loads) a Dense module's weights as pytorch_model.bin, a
    # pickle that semsearch refuses; ST >= 3 writes model.safetensors. Keep both:
    # the reference reads the .bin, semsearch the .safetensors, same tensors.
    for sub in sorted(os.listdir(dst)):
        b = os.path.join(dst, sub, "pytorch_model.bin")
        if sub.endswith("_Dense") and os.path.exists(b):
            from safetensors.torch import load_file
            sd = torch.load(b, map_location="cpu")
            sf = os.path.join(dst, sub, "model.safetensors")
            save_file({k: v.contiguous() for k, v in sd.items()}, sf, metadata={"format": "pt"})
            back = load_file(sf)
            assert sorted(back) == sorted(sd) and all(torch.equal(back[k], sd[k]) for k in sd), sf
    for junk in ("README.md",):
        p = os.path.join(dst, junk)
        if os.path.exists(p):
            os.remove(p)
    # ST 2.7 writes an empty 2_Normalize/ folder; git cannot carry empty
    # folders (the real all-MiniLM-L6-v2 download has none either), so drop
    # it here and make the goldens from exactly what a clone will contain.
    for sub in os.listdir(dst):
        p = os.path.join(dst, sub)
        if sub.endswith("_Normalize") and os.path.isdir(p) and not os.listdir(p):
            os.rmdir(p)
    shutil.rmtree(hf_dir)


def encode_meta(model, spec, call, arr, texts, extra=None):
    m = {
        "n": len(texts),
        "shape": list(arr.shape),
        "dtype": {np.dtype("float32"): "float32-le", np.dtype("int8"): "int8",
                  np.dtype("uint8"): "uint8"}[arr.dtype],
        "layout": "row-major, row i = line i of golden_texts.jsonl",
        "call": call,
        "max_seq_length": model.max_seq_length,
        "versions": common.versions(),
    }
    if extra:
        m.update(extra)
    return m


def write_arr(path, arr):
    a = np.ascontiguousarray(arr)
    if a.dtype == np.float32:
        a = a.astype("<f4")
    a.tofile(path)
    back = np.fromfile(path, dtype=a.dtype).reshape(a.shape)
    assert np.array_equal(back, a), path


def make_goldens(spec, dst, texts):
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(dst, device="cpu")
    model.eval()
    tok = model.tokenizer
    common.write_jsonl(os.path.join(dst, "golden_texts.jsonl"), texts)
    rows = []
    for i, t in enumerate(texts):
        ids = model.tokenize([t])["input_ids"][0].tolist()
        rows.append({"i": i, "input_ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})
    common.write_jsonl(os.path.join(dst, "golden_tokens.jsonl"), rows)

    emb = model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
    assert emb.shape == (len(texts), out_dim(spec)) and emb.dtype == np.float32
    write_arr(os.path.join(dst, "golden_embeddings.f32"), emb)
    meta = encode_meta(model, spec, "SentenceTransformer(dir, device='cpu').encode(texts, batch_size=32, "
                       "convert_to_numpy=True)", emb, texts,
                       {"dim": out_dim(spec), "model": spec["name"], "weights_dtype": spec["dtype"],
                        "pooling": spec["pooling"] or "mean (implicit, no modules.json)",
                        "normalize": spec["normalize"], "arch": spec["arch"], "note": spec["note"],
                        "modules": [type(m).__name__ for m in model]})
    common.write_json(os.path.join(dst, "golden_embeddings.json"), meta)

    options = {}

    def opt(fname, call, truncate_dim=None, **kw):
        model.truncate_dim = truncate_dim
        try:
            out = model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False,
                               **kw)
        finally:
            model.truncate_dim = None
        out = np.asarray(out)
        write_arr(os.path.join(dst, fname), out)
        options[fname] = encode_meta(model, spec, call, out, texts)
        return out

    if spec["name"] == "bert-mean-normalize":
        opt("golden_opt_truncate16.f32",
            "SentenceTransformer(dir, device='cpu', truncate_dim=16).encode(texts, batch_size=32)",
            truncate_dim=16)
        opt("golden_opt_truncate16_normalize.f32",
            "SentenceTransformer(dir, device='cpu', truncate_dim=16).encode(texts, batch_size=32, "
            "normalize_embeddings=True)  # truncation happens before normalize",
            truncate_dim=16, normalize_embeddings=True)
        for prec, ext in (("int8", "i8"), ("uint8", "u8"), ("binary", "i8"), ("ubinary", "u8")):
            out = opt("golden_opt_%s.%s" % (prec, ext),
                      "model.encode(texts, batch_size=32, precision=%r)  # == "
                      "sentence_transformers.quantization.quantize_embeddings(emb, precision=%r) "
                      "with emb = the float32 golden_embeddings, ranges = per-dimension "
                      "min/max over the whole call (all N rows)" % (prec, prec),
                      precision=prec)
            from sentence_transformers.quantization import quantize_embeddings
            assert np.array_equal(out, quantize_embeddings(emb, precision=prec)), prec
        # The ranges used for int8/uint8, for reference.
        ranges = np.vstack((emb.min(0), emb.max(0))).astype(np.float32)
        write_arr(os.path.join(dst, "golden_opt_int8_ranges.f32"), ranges)
        options["golden_opt_int8_ranges.f32"] = {
            "shape": [2, H], "dtype": "float32-le",
            "content": "row 0 = per-dim min, row 1 = per-dim max of golden_embeddings (the "
                       "int8/uint8 ranges); starts=row0, steps=(row1-row0)/255 in float32; "
                       "uint8 = ((e-starts)/steps).astype(uint8); "
                       "int8 = ((e-starts)/steps - 128).astype(int8) (float32 math, C-style "
                       "truncation toward zero); binary = packbits(e>0) (MSB first) - 128 as int8; "
                       "ubinary = packbits(e>0)"}
    if spec["name"] == "bert-max":
        opt("golden_opt_normalize.f32",
            "model.encode(texts, batch_size=32, normalize_embeddings=True)", normalize_embeddings=True)
    if spec["name"] == "bert-nomodules":
        opt("golden_opt_normalize.f32",
            "model.encode(texts, batch_size=32, normalize_embeddings=True)", normalize_embeddings=True)
    if spec["name"] == "bert-prompts":
        opt("golden_opt_prompt_name_query.f32",
            "model.encode(texts, batch_size=32, prompt_name='query')", prompt_name="query")
        opt("golden_opt_prompt_name_passage.f32",
            "model.encode(texts, batch_size=32, prompt_name='passage')", prompt_name="passage")
        opt("golden_opt_prompt_custom.f32",
            "model.encode(texts, batch_size=32, prompt='Represent this sentence: ')",
            prompt="Represent this sentence: ")
        rows = []
        for i, t in enumerate(texts):
            ids = model.tokenize(["query: " + t])["input_ids"][0].tolist()
            rows.append({"i": i, "input_ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})
        common.write_jsonl(os.path.join(dst, "golden_opt_prompt_name_query_tokens.jsonl"), rows)
        options["golden_opt_prompt_name_query_tokens.jsonl"] = {
            "content": "model.tokenize(['query: ' + text]): the prompt is prepended to the raw "
                       "text, then the whole string is str.strip()-ed and tokenized"}
    if options:
        common.write_json(os.path.join(dst, "golden_options.json"), options)
    return emb, options


def verify(dst, spec, texts, emb):
    from sentence_transformers import SentenceTransformer
    from safetensors import safe_open
    assert common.read_jsonl(os.path.join(dst, "golden_texts.jsonl")) == texts
    toks = common.read_jsonl(os.path.join(dst, "golden_tokens.jsonl"))
    assert len(toks) == len(texts)
    meta = json.load(open(os.path.join(dst, "golden_embeddings.json")))
    e = np.fromfile(os.path.join(dst, "golden_embeddings.f32"), dtype="<f4").reshape(meta["shape"])
    assert np.array_equal(e, emb)
    with safe_open(os.path.join(dst, "model.safetensors"), "pt") as f:
        dts = {str(f.get_tensor(k).dtype) for k in f.keys()}
    assert dts == {"torch." + spec["dtype"]}, dts
    if spec["normalize"]:
        assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    # Fresh load + single-text encodes agree with the batched golden.
    m = SentenceTransformer(dst, device="cpu")
    worst = 0.0
    for i in range(len(texts)):
        s = m.encode([texts[i]], convert_to_numpy=True, show_progress_bar=False)[0]
        worst = max(worst, float(np.max(np.abs(s - e[i]))))
    assert worst < 1e-4, worst
    # Distinct texts give distinct embeddings (the random model is not degenerate).
    cs = e @ e.T / np.outer(np.linalg.norm(e, axis=1), np.linalg.norm(e, axis=1))
    off = cs[~np.eye(len(e), dtype=bool)]
    opts = os.path.join(dst, "golden_options.json")
    if os.path.exists(opts):
        for fname, om in json.load(open(opts)).items():
            if "shape" in om:
                dt = {"float32-le": "<f4", "int8": "i1", "uint8": "u1"}[om["dtype"]]
                a = np.fromfile(os.path.join(dst, fname), dtype=dt)
                assert a.size == int(np.prod(om["shape"])), fname
    return {"max_single_vs_batch_abs_diff": worst,
            "offdiag_cosine_min": float(off.min()), "offdiag_cosine_max": float(off.max()),
            "offdiag_cosine_mean": float(off.mean())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(common.ROOT, "tests", "models"))
    ap.add_argument("--minilm", default=os.path.join(common.ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--only", default=None, help="comma-separated model names")
    args = ap.parse_args()
    common.setup_determinism()
    import logging
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    logging.getLogger("transformers").setLevel(logging.ERROR)

    texts = golden_texts()
    tmp = os.path.join(common.ROOT, "build", "arch-goldens-tmp")
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    manifest_path = os.path.join(args.out, "manifest.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    only = set(args.only.split(",")) if args.only else None
    for k, spec in enumerate(MODELS):
        if only and spec["name"] not in only:
            continue
        seed = 1000 + k
        dst = os.path.join(args.out, spec["name"])
        build_model(spec, dst, args.minilm, tmp, seed)
        emb, options = make_goldens(spec, dst, texts)
        stats = verify(dst, spec, texts, emb)
        size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(dst) for f in fs)
        manifest[spec["name"]] = {
            "arch": spec["arch"], "weights_dtype": spec["dtype"], "seed": seed,
            "pooling": spec["pooling"] or "mean (implicit)", "normalize": spec["normalize"],
            "max_seq_length": spec["max_seq_length"] or 512,
            "do_lower_case": spec.get("do_lower_case", True),
            "hidden_act": spec.get("hidden_act", "gelu"), "prompts": spec.get("prompts"),
            "note": spec["note"], "n_texts": len(texts), "dim": out_dim(spec),
            "dense": spec.get("dense"),
            "option_goldens": sorted(options), "bytes": size, "checks": stats,
        }
        print("%-22s %-8s %7.2f MB  %s" % (spec["name"], spec["dtype"], size / 1e6, stats), flush=True)
    manifest = {k: manifest[k] for k in [s["name"] for s in MODELS] if k in manifest}
    common.write_json(manifest_path, manifest)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
