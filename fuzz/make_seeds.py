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


def http_req(method, url, body=b"", headers=()):
    """One request of fuzz_server's input: METHOD URL, headers, blank line, body."""
    if isinstance(body, str):
        body = body.encode()
    h = "".join("%s: %s\n" % kv for kv in headers)
    return ("%s %s\n%s\n" % (method, url, h)).encode() + body


def server_seeds():
    J = [("Content-Type", "application/json")]
    ND = [("Content-Type", "application/x-ndjson")]
    V8 = [("Content-Type", "application/vnd.elasticsearch+json; compatible-with=8"),
          ("Accept", "application/vnd.elasticsearch+json; compatible-with=8")]
    mapping = json.dumps({"settings": {"index": {"similarity": {"default": {"type": "BM25", "k1": 0.9, "b": 0.4}}}},
                          "mappings": {"properties": {
                              "title": {"type": "text", "analyzer": "english"}, "tag": {"type": "keyword"},
                              "n": {"type": "long"}, "ok": {"type": "boolean"}, "d": {"type": "date"},
                              "v": {"type": "dense_vector", "dims": 3, "similarity": "cosine",
                                    "index_options": {"type": "int8_hnsw", "m": 8, "ef_construction": 16}}}}})
    bulk = "".join(json.dumps(x) + "\n" for x in [
        {"index": {"_index": "b", "_id": "1"}}, {"title": "Running dogs", "tag": "a", "n": 5, "v": [1, 0, 0]},
        {"create": {"_index": "b", "_id": "2"}}, {"title": "cats sleep", "tag": "b", "n": 7, "v": [0, 1, 0]},
        {"update": {"_index": "b", "_id": "1"}}, {"doc": {"n": 6}},
        {"delete": {"_index": "b", "_id": "2"}},
        {"index": {"_index": "b"}}, {"title": "no id", "d": "2024-01-02", "ok": True}])
    search = json.dumps({"query": {"bool": {"must": [{"match": {"title": "dog"}}],
                                            "filter": [{"range": {"n": {"gte": 1, "lt": 10}}},
                                                       {"terms": {"tag": ["a", "b"]}}],
                                            "must_not": [{"exists": {"field": "x"}}]}},
                         "size": 5, "from": 0, "sort": [{"n": {"order": "desc"}}, "_score"],
                         "_source": {"includes": ["title", "n"]}, "track_total_hits": True})
    knn = json.dumps({"knn": {"field": "v", "query_vector": [1, 0.5, 0], "k": 2, "num_candidates": 10,
                              "filter": {"term": {"tag": "a"}}}, "min_score": 0.1})
    builder = json.dumps({"knn": {"field": "e", "k": 1, "num_candidates": 5, "query_vector_builder": {
        "text_embedding": {"model_id": "m", "model_text": "running dog"}}}})
    rrf = json.dumps({"retriever": {"rrf": {"retrievers": [
        {"standard": {"query": {"multi_match": {"query": "dogs", "fields": ["title", "tag"], "type": "most_fields"}}}},
        {"knn": {"field": "v", "query_vector": [0, 1, 0], "k": 2, "num_candidates": 4}}],
        "rank_window_size": 10, "rank_constant": 20}}})
    RS = b"\x1e"
    put("server", "es-lifecycle", RS.join([
        http_req("PUT", "/b", mapping, J),
        http_req("POST", "/_bulk?refresh=true", bulk, ND),
        http_req("PUT", "/b/_doc/3?if_seq_no=0&if_primary_term=1", '{"title":"x"}', J),
        http_req("GET", "/b/_doc/1?_source_includes=title", headers=V8),
        http_req("POST", "/b/_search?pretty", search, J),
        http_req("POST", "/b/_search", knn, V8),
        http_req("GET", "/_cat/indices?format=json&v", ""),
        http_req("DELETE", "/b")]))
    put("server", "es-docs", RS.join([
        http_req("PUT", "/e", json.dumps({"mappings": {"properties": {"e": {"type": "dense_vector", "dims": 32},
                                                                      "t": {"type": "text"}}}}), J),
        http_req("POST", "/e/_doc?refresh=wait_for", '{"t":"hello world","e":[' + ",".join(["0.1"] * 32) + "]}", J),
        http_req("PUT", "/e/_create/k%2F1", '{"t":"slash id"}', J),
        http_req("POST", "/e/_update/k%2F1", '{"doc":{"t":"updated"},"doc_as_upsert":true}', J),
        http_req("GET", "/e/_source/k%2F1?_source=t"),
        http_req("POST", "/e/_search", builder, J),
        http_req("POST", "/e/_count", '{"query":{"match_all":{}}}', J),
        http_req("POST", "/_mget", '{"docs":[{"_index":"e","_id":"k/1"},{"_index":"e","_id":"nope"}]}', J),
        http_req("DELETE", "/e/_doc/k%2F1?refresh")]))
    put("server", "es-rrf", RS.join([
        http_req("PUT", "/r", mapping, J),
        http_req("PUT", "/r/_bulk", bulk.replace('"b"', '"r"'), ND),
        http_req("POST", "/r/_refresh"),
        http_req("POST", "/r/_search", rrf, J),
        http_req("GET", "/r/_search?size=1&from=1&q=dog", ""),
        http_req("GET", "/r/_mapping"),
        http_req("PUT", "/r/_mapping", '{"properties":{"extra":{"type":"keyword"}}}', J),
        http_req("GET", "/r")]))
    put("server", "basics", RS.join([
        http_req("GET", "/"), http_req("HEAD", "/"), http_req("GET", "/_cluster/health?pretty=true"),
        http_req("GET", "/nope/_doc/1"), http_req("PATCH", "/"), http_req("GET", "/a/b/c/d/e/f/g/h/i"),
        http_req("GET", "/", headers=[("Accept", "application/vnd.elasticsearch+json;compatible-with=6")]),
        http_req("POST", "/x/_search", "{\"query\":", J),
        http_req("PUT", "/Bad%20Name", "{}", J)]))
    put("server", "embed-tei-openai", RS.join([
        http_req("POST", "/embed", '{"inputs":["a dog","a cat"],"normalize":true,"truncate":true}', J),
        http_req("POST", "/", '{"inputs":"one text"}', J),
        http_req("POST", "/tokenize", '{"inputs":"Tokenize me","add_special_tokens":true}', J),
        http_req("GET", "/info"), http_req("GET", "/health"),
        http_req("POST", "/v1/embeddings", '{"input":["x","y"],"model":"m","encoding_format":"float"}', J),
        http_req("POST", "/v1/embeddings", '{"input":"x","encoding_format":"base64","dimensions":8}', J),
        http_req("GET", "/metrics")]))
    put("server", "auth", b"#auth\n" + RS.join([
        http_req("GET", "/", headers=[("Authorization", "ApiKey fuzz-key")]),
        http_req("GET", "/", headers=[("Authorization", "Bearer fuzz-key")]),
        http_req("GET", "/", headers=[("Authorization", "ApiKey wrong")]),
        http_req("PUT", "/a", "{}", [("Authorization", "ApiKey fuzz-key")] + J),
        http_req("GET", "/a")]))
    put("server", "limits", RS.join([
        http_req("POST", "/_bulk", "", [("Content-Length", "999999999999")] + ND),
        http_req("POST", "/_bulk", '{"index":{"_index":"l"}}\n{"a":1}\n{"index":{}}\n', ND),
        http_req("POST", "/_bulk", '{"delete":{"_index":"l","_id":"1"}}\n{"bogus":{}}\n', ND),
        http_req("POST", "/l/_bulk", '{"index":{"_id":"1"}}\n{"a":"\\u00e9t\\u00e9"}', ND)]))


def store_seeds():
    """fuzz_store: mode byte, SPEC RS WHERE RS FILE (see fuzz/fuzz_store.c)."""
    RS = b"\x1e"

    def seed(name, mode, spec, where, file):
        enc = lambda x: x.encode() if isinstance(x, str) else x
        put("store", name, bytes([mode]) + enc(spec) + RS + enc(where) + RS + enc(file))

    docs = [{"id": "a1", "title": "Running dogs", "text": "The dog runs fast.", "year": 2021, "country": "USA",
             "meta": {"lang": "en", "n": 3}},
            {"_id": "b2", "title": "Cats", "text": "A cat sleeps \u00e9t\u00e9 \ud83d\ude00", "year": 1999,
             "country": "France", "ok": True},
            {"title": "no id", "text": "third one", "year": "2020", "country": None}]
    jsonl = "".join(json.dumps(d) + "\n" for d in docs) + "\n  \n" + '{"text":"crlf"}\r\n'
    csv = ('id,title,text,year\r\n1,"Quoted, comma","multi\nline ""quote""",2020\n'
           '2,plain,text two,1999\n\n3,,"",\n')
    tsv = 'id\ttitle\ttext\n1\tA\tfirst row\n2\t"q\tt"\tsecond\n'
    text = "\xef\xbb\xbfone document per line\nsecond line\r\n\nthird\n"
    where = 'country = "USA" AND year >= 2020 OR NOT (meta.lang IN ("en", \'fr\')) AND ok != true'
    seed("jsonl-fields", 0 | 8, "title,text", where, jsonl)
    seed("jsonl-template", 0 | 4 | 8 | 16, "{title}. {text} {{braces}} {meta}", "year < 2000", jsonl)
    seed("jsonl-ext", 0 | 32 | 8, "text", 'id == "a1"', jsonl)
    seed("csv-fields", 1 | 8, "title,text", "year <> 1999 AND id IN (1, 2, 3)", csv)
    seed("csv-ext-skipbad", 1 | 32 | 8 | 16, "text", "title = null", csv + '4,"bad"x,y,1\n5,only two\n')
    seed("tsv-template", 2 | 4 | 8, "{title}: {text}", "NOT title = 'A'", tsv)
    seed("text-fields", 3 | 8, "text", "", text)
    seed("text-ext", 3 | 32, "text", "text = 'third'", text + "bad \xc3\x28 utf8\n")
    seed("jsonl-bad", 0 | 8 | 16, "text", "(((a = 1)", '{"text": 1}\n[1,2]\n{"text":"x"} {"y":1}\n{bad\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", help="semsearch binary, for the index seeds")
    a = ap.parse_args()
    tokenizer_seeds()
    model_seeds()
    vector_seeds()
    text_seeds()
    index_log_seeds()
    server_seeds()
    store_seeds()
    if a.cli:
        index_seeds(a.cli)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(CORPUS) for f in fs)
    print("fuzz/corpus: %d bytes" % total, file=sys.stderr)


if __name__ == "__main__":
    main()
