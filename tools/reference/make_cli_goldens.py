#!/usr/bin/env python3
"""Expected values for the CLI and lowercasing tests, from sentence-transformers.

Usage (from the repository root, inside build/refvenv):
    build/refvenv/bin/python tools/reference/make_cli_goldens.py [--out DIR]

Outputs (small, committed):
    tests/golden/cli_tokenize.json  [{"text", "max_seq_length", "input_ids", "tokens"}, ...]
        SentenceTransformer(all-MiniLM-L6-v2).tokenize([text]) with max_seq_length set
        (null: the model's 256); tests/cli/test_cli.c checks `semsearch tokenize` against it.
    tests/golden/lowercase.json     [{"text", "lower", "input_ids"}, ...]
        Python's str.lower() of each text, and the ids the tests/models/bert-cased model
        gives with "do_lower_case": true (sentence-transformers lowercases before the
        tokenizer); tests/model/test_lowercase.c checks semsearch against both.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TOKENIZE_CASES = [
    ("What is AI?", None),
    ("Café", None),
    ("one two three four five six", 4),
    ("Artificial Intelligence aims to build machines.", None),
]

# Final sigma, dotted capital I (two code points in lower()), ASCII.
LOWER_CASES = ["ΟΔΟΣ Σ ΣΑ", "İstanbul HELLO", "ΑΣ.", "Plain ASCII Text"]


def dump(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(r, ensure_ascii=True) for r in rows) + "\n]\n")
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(common.ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--cased", default=os.path.join(common.ROOT, "tests", "models", "bert-cased"))
    ap.add_argument("--out", default=os.path.join(common.ROOT, "tests", "golden"))
    args = ap.parse_args()
    common.setup_determinism()
    from sentence_transformers import SentenceTransformer

    m = SentenceTransformer(args.model, device="cpu")
    rows = []
    for text, msl in TOKENIZE_CASES:
        m.max_seq_length = msl if msl else 256
        ids = m.tokenize([text])["input_ids"][0].tolist()
        rows.append({"text": text, "max_seq_length": msl, "input_ids": ids,
                     "tokens": m.tokenizer.convert_ids_to_tokens(ids)})
    dump(os.path.join(args.out, "cli_tokenize.json"), rows)

    tmp = tempfile.mkdtemp(prefix="semsearch-lower-")
    try:
        folder = os.path.join(tmp, "m")
        shutil.copytree(args.cased, folder)
        with open(os.path.join(folder, "sentence_bert_config.json"), "w") as f:
            json.dump({"max_seq_length": 256, "do_lower_case": True}, f)
        lm = SentenceTransformer(folder, device="cpu")
        assert lm._first_module().do_lower_case
        rows = []
        for text in LOWER_CASES:
            ids = lm.tokenize([text])["input_ids"][0].tolist()
            rows.append({"text": text, "lower": text.lower(), "input_ids": ids})
        dump(os.path.join(args.out, "lowercase.json"), rows)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
