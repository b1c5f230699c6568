#!/usr/bin/env python3
"""fuzz/make_seeds.py — write the small seed corpora in fuzz/corpus/<target>/.

Every seed is a small *valid* input (the fuzzer mutates from there), derived
from the test models in tests/models/ and shrunk so the whole corpus stays
well under 1 MB. Index seeds need the CLI: pass the semsearch binary with
--cli (any build); without it the index corpus is left as it is.

    python3 fuzz/make_seeds.py [--cli build-fuzz/semsearch]
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")

# The 48-token vocabulary fuzz_model.c writes (ids = line numbers).
VOCAB = ("[PAD] [UNK] [CLS] [SEP] [MASK] <s> </s> <pad> the quick brown fox jumps over lazy dog "
         "hello world , . ! ? a b c d e f ##s ##ing ##ed ##ly un ##aff ##able search semantic vector "
         "index model text embed ##ding query 1 2 3 4").split()
assert len(VOCAB) == 48


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- tokenizers
def small_tokenizer_json(model, extra_vocab=()):
    """tests/models/<model>/tokenizer.json with the vocabulary cut down to the
    special tokens plus a few dozen words (ids renumbered densely)."""
    t = json.load(open(os.path.join(ROOT, "tests", "models", model, "tokenizer.json")))
    specials = [a["content"] for a in t["added_tokens"]]
    words = [w for w in VOCAB if w not in specials] + list(extra_vocab)
    vocab = {}
    for w in specials + words:
        vocab.setdefault(w, len(vocab))
    t["model"]["vocab"] = vocab
    for a in t["added_tokens"]:
        a["id"] = vocab[a["content"]]
    pp = t.get("post_processor") or {}
    for st in (pp.get("special_tokens") or {}).values():
        st["ids"] = [vocab[x] for x in st["tokens"]]
    for key in ("cls", "sep"):
        if key in pp:
            pp[key][1] = vocab[pp[key][0]]
    return t


def tokenizer_seeds():
    bert = small_tokenizer_json("bert-cls")
    put("tokenizer_json", "bert-uncased.json", json.dumps(bert, indent=1))
    put("tokenizer_json", "bert-cased.json", json.dumps(small_tokenizer_json("bert-cased")))
    put("tokenizer_json", "mpnet.json", json.dumps(small_tokenizer_json("mpnet-mean-normalize")))
    # the other normalizer / pre-tokenizer / post-processor kinds the loader knows
    v = json.loads(json.dumps(bert))
    v["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "NFKC"}, {"type": "Lowercase"}, {"type": "NFD"}, {"type": "StripAccents"}]}
    v["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}]}
    v["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", bert["model"]["vocab"]["[SEP]"]],
                           "cls": ["[CLS]", bert["model"]["vocab"]["[CLS]"]]}
    put("tokenizer_json", "sequence-bertprocessing.json", json.dumps(v))
    v = json.loads(json.dumps(bert))
    v["normalizer"] = {"type": "NFC"}
    v["pre_tokenizer"] = {"type": "Whitespace"}
    v["post_processor"] = {"type": "RobertaProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}
    v["added_tokens"].append({"id": len(v["model"]["vocab"]), "content": "<extra>", "single_word": True,
                              "lstrip": True, "rstrip": True, "normalized": True, "special": False})
    v["model"]["max_input_chars_per_word"] = 10
    put("tokenizer_json", "whitespace-roberta-added.json", json.dumps(v))
    v = json.loads(json.dumps(bert))
    v["normalizer"] = None
    v["pre_tokenizer"] = None
    v["post_processor"] = None
    put("tokenizer_json", "bare.json", json.dumps(v))

    # vocab.txt (+ tokenizer_config.json after two NULs, see fuzz_vocab.c)
    put("vocab", "plain.txt", "\n".join(VOCAB) + "\n")
    put("vocab", "crlf.txt", "\r\n".join(VOCAB))
    cfg = json.load(open(os.path.join(ROOT, "tests", "models", "bert-cls", "tokenizer_config.json")))
    for a in list(cfg["added_tokens_decoder"]):
        tok = cfg["added_tokens_decoder"].pop(a)
        cfg["added_tokens_decoder"][str(VOCAB.index(tok["content"]))] = tok
    put("vocab", "with-config.txt", ("\n".join(VOCAB) + "\n").encode() + b"\0\0" + json.dumps(cfg).encode())
    mp = json.load(open(os.path.join(ROOT, "tests", "models", "mpnet-mean-normalize", "tokenizer_config.json")))
    mp.pop("added_tokens_decoder", None)
    mp.update(bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>", pad_token="<pad>")
    put("vocab", "mpnet-config.txt", ("\n".join(VOCAB)).encode() + b"\0\0" + json.dumps(mp).encode())
    put("vocab", "cased-config.txt", ("\n".join(VOCAB)).encode() + b"\0\0" +
        json.dumps({"do_lower_case": False, "strip_accents": True, "tokenize_chinese_chars": False,
                    "tokenizer_class": "DistilBertTokenizer"}).encode())


# -------------------------------------------------------------------- models
def safetensors(tensors):
    """tensors: list of (name, dtype, shape, values). Returns the file bytes."""
    fmt = {"F32": "<%df", "F16": "<%de"}
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, dtype, shape, vals in tensors:
        b = struct.pack(fmt[dtype] % len(vals), *vals)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def tiny_model(arch, dtype="F32", prefix="", H=8, FF=16, L=1, heads=2, V=48, P=24, seed=1):
    rnd = random.Random(seed)
    T = []

    def t(name, *shape):
        n = 1
        for s in shape:
            n *= s
        T.append((prefix + name, dtype, list(shape), [round(rnd.uniform(-0.5, 0.5), 3) for _ in range(n)]))

    def ln(name):
        T.append((prefix + name + ".weight", dtype, [H], [1.0] * H))
        T.append((prefix + name + ".bias", dtype, [H], [0.0] * H))

    t("embeddings.word_embeddings.weight", V, H)
    t("embeddings.position_embeddings.weight", P, H)
    if arch == "bert":
        t("embeddings.token_type_embeddings.weight", 2, H)
    else:
        t("encoder.relative_attention_bias.weight", 32, heads)
    ln("embeddings.LayerNorm")
    for l in range(L):
        a = "encoder.layer.%d.attention." % l
        qkv = ("self.query", "self.key", "self.value") if arch == "bert" else ("attn.q", "attn.k", "attn.v")
        for q in qkv:
            t(a + q + ".weight", H, H)
            t(a + q + ".bias", H)
        if arch == "bert":
            t(a + "output.dense.weight", H, H)
            t(a + "output.dense.bias", H)
            ln(a + "output.LayerNorm")
        else:
            t(a + "attn.o.weight", H, H)
            t(a + "attn.o.bias", H)
            ln(a + "LayerNorm")
        e = "encoder.layer.%d." % l
        t(e + "intermediate.dense.weight", FF, H)
        t(e + "intermediate.dense.bias", FF)
        t(e + "output.dense.weight", H, FF)
        t(e + "output.dense.bias", H)
        ln(e + "output.LayerNorm")
    cfg = {"model_type": arch, "vocab_size": V, "hidden_size": H, "num_hidden_layers": L,
           "num_attention_heads": heads, "intermediate_size": FF, "max_position_embeddings": P,
           "hidden_act": "gelu", "layer_norm_eps": 1e-12 if arch == "bert" else 1e-5}
    if arch == "bert":
        cfg["type_vocab_size"] = 2
        cfg["pad_token_id"] = 0
    else:
        cfg["pad_token_id"] = 1
        cfg["relative_attention_num_buckets"] = 32
    return json.dumps(cfg), safetensors(T)


def parts(*files):
    out = b""
    for f in files:
        if isinstance(f, str):
            f = f.encode()
        out += struct.pack("<I", len(f)) + f
    return out


def model_seeds():
    modules = json.dumps([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                          {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                          {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    pool_cls = json.dumps({"word_embedding_dimension": 8, "pooling_mode_cls_token": True})
    pool_multi = json.dumps({"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True,
                             "pooling_mode_max_tokens": True, "pooling_mode_mean_sqrt_len_tokens": True,
                             "include_prompt": False})
    sbert = json.dumps({"max_seq_length": 16, "do_lower_case": True})
    st = json.dumps({"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": "query"})
    c, w = tiny_model("bert")
    put("model", "bert-f32-plain", parts(c, w))
    put("model", "bert-f32-modules-cls", parts(c, w, modules, pool_cls, sbert, st))
    c, w = tiny_model("bert", dtype="F16", prefix="bert.", L=2, seed=2)
    put("model", "bert-f16-prefix-2layers", parts(c, w, modules, pool_multi))
    c, w = tiny_model("mpnet", seed=3)
    put("model", "mpnet-f32", parts(c, w, modules, json.dumps({"pooling_mode": "mean"}), sbert))


# --------------------------------------------------------------- vectors
def vector_seeds():
    rnd = random.Random(4)
    rows = [[round(rnd.uniform(-1, 1), 4) for _ in range(4)] for _ in range(3)]

    def npy(dtype, fmt, shape, vals, version=1):
        h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, shape)
        pre = 10 if version == 1 else 12
        h += " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n"
        lenf = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
        return b"\x93NUMPY" + bytes([version, 0]) + lenf + h.encode() + struct.pack(fmt % len(vals), *vals)

    flat = [x for r in rows for x in r]
    put("vecio", "f4.npy", npy("<f4", "<%df", "(3, 4)", flat))
    put("vecio", "f2.npy", npy("<f2", "<%de", "(3, 4)", flat))
    put("vecio", "f8-v2.npy", npy("<f8", "<%dd", "(3, 4)", flat, version=2))
    put("vecio", "f4-1d.npy", npy("<f4", "<%df", "(4,)", rows[0]))
    put("vecio", "rows.fvecs", b"".join(struct.pack("<i4f", 4, *r) for r in rows))
    put("vecio", "arrays.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    put("vecio", "objects.jsonl", "".join(json.dumps({"id": i, "embedding": r}) + "\r\n" for i, r in enumerate(rows)))
    put("vecio", "vector-values.jsonl", json.dumps({"vector": rows[0]}) + "\n\n" + json.dumps({"values": rows[1]}))


# --------------------------------------------------------------- texts
def text_seeds():
    texts = {
        "ascii": "Hello, world! The quick brown fox jumps over the lazy dog. unaffable",
        "accents": "Ünïcödé café naïve Ångström São Paulo",
        "cjk": "東京は日本の首都です。北京 서울",
        "combining": "e\u0301\u0316a\u0300\u0323 o\u0308\u0304 \u1e9b\u0323",
        "compat": "ﬁ ﬀ ① Ⅳ ｆｕｌｌｗｉｄｔｈ ㎞ \u2126",
        "controls": "tab\there\u200bzero\u00adsoft\ufeffbom\u0000nul\r\nline",
        "specials": "[CLS] [SEP] [MASK] [PAD] [UNK] ##ing ##s",
        "long-word": "a" * 150 + " " + "x" * 99,
        "emoji": "I ❤️ 🦀 and 👩‍👩‍👧 ✓",
        "greek-turkish": "ΣΊΣΥΦΟΣ İstanbul ǅ ß",
    }
    for name, t in texts.items():
        put("normalize", name + ".txt", bytes([0x52]) + t.encode())  # first byte: normaliser steps
    put("normalize", "invalid-utf8.bin", b"\x00ok \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf")


# --------------------------------------------------------------- indexes
def index_seeds(cli):
    rnd = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        vec = os.path.join(tmp, "v.fvecs")
        with open(vec, "wb") as f:
            for _ in range(40):
                f.write(struct.pack("<i8f", 8, *[rnd.uniform(-1, 1) for _ in range(8)]))
        kinds = [("flat", "cosine", "none"), ("flat", "l2", "fp16"), ("hnsw", "cosine", "none"),
                 ("hnsw", "dot", "int8"), ("hnsw", "l2", "binary"), ("flat", "dot", "int8")]
        for typ, metric, q in kinds:
            out = os.path.join(tmp, "x.idx")
            subprocess.run([cli, "index", "build", vec, "--out", out, "--type", typ, "--metric", metric,
                            "--quantize", q, "--m", "4", "--ef-construction", "16", "--threads", "1"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            data = open(out, "rb").read()
            name = "%s-%s-%s" % (typ, metric, q)
            put("index", name + ".raw", b"\x00" + data)    # loaded as is
            put("index", name + ".fixed", b"\x01" + data)  # checksums recomputed by the harness


# ---------------------------------------------------------- index delta log
def crc32c(b, crc=0):
    crc ^= 0xFFFFFFFF
    for x in b:
        crc ^= x
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def index_log_seeds():
    """Delta logs (src/index/log.h) for fuzz_index_log.c: 4-dim vectors, no snapshot (snap_id 0)."""
    def rec(typ, payload):
        h = struct.pack("<IIQ", typ, 0, len(payload))
        return h + payload + struct.pack("<II", crc32c(h + payload), 0)

    def add(ids, vecs):
        return rec(1, struct.pack("<Q", len(ids)) + struct.pack("<%dq" % len(ids), *ids) +
                   b"".join(struct.pack("<4f", *v) for v in vecs))

    def remove(ids):
        return rec(2, struct.pack("<Q", len(ids)) + struct.pack("<%dq" % len(ids), *ids))

    def commit(gen):
        return rec(3, struct.pack("<Q", gen))

    h = b"SSIDXLOG" + struct.pack("<IIQI", 1, 4, 0, 0)
    hdr = h + struct.pack("<I", crc32c(h))
    rnd = random.Random(6)
    vecs = [[round(rnd.uniform(-1, 1), 3) for _ in range(4)] for _ in range(6)]
    body = add([0, 1, 2], vecs[:3]) + commit(1) + remove([1]) + add([5, 9, 2], vecs[3:]) + commit(2)
    for mode in (0, 1, 2, 3, 5, 7):
        put("index_log", "log-mode%d" % mode, bytes([mode]) + hdr + body)
    put("index_log", "log-uncommitted-tail", bytes([1]) + hdr + body + add([7], vecs[:1]))
    put("index_log", "log-empty", bytes([0]) + hdr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", help="semsearch binary, for the index seeds")
    a = ap.parse_args()
    tokenizer_seeds()
    model_seeds()
    vector_seeds()
    text_seeds()
    index_log_seeds()
    if a.cli:
        index_seeds(a.cli)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(CORPUS) for f in fs)
    print("fuzz/corpus: %d bytes" % total, file=sys.stderr)


if __name__ == "__main__":
    main()
