"""Shared helpers for the semsearch reference/golden scripts.

Run only inside build/refvenv (see tools/reference/setup-venv.sh).
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STS_TEST = os.environ.get(
    "SEMSEARCH_STS_TEST", "/work/shared/data/stsbenchmark/sts-test.csv")


def read_sts(path=STS_TEST):
    """Return list of (score, s1, s2) from a tab-separated STSb file.

    No header, no csv quoting: split each line on '\\t' ourselves;
    score = field 4, sentence1 = field 5, sentence2 = field 6.
    Sentences are kept byte-for-byte (including trailing spaces).
    """
    pairs = []
    with open(path, "r", encoding="utf-8", newline="\n") as f:
        for line in f:
            if line.endswith("\n"):
                line = line[:-1]
            if not line:
                continue
            fields = line.split("\t")
            pairs.append((float(fields[4]), fields[5], fields[6]))
    return pairs


def sts_texts(pairs):
    out = []
    for _, s1, s2 in pairs:
        out.append(s1)
        out.append(s2)
    return out


def long_text():
    """A >256-token text: 300 varied words, deterministic."""
    words = ("the quick brown fox jumps over a lazy dog while seven wizards "
             "quietly juggle heavy boxes near an old wooden bridge in winter "
             "because nobody remembered to bring umbrellas tokenization "
             "embeddings semantic search engines compare vectors using cosine "
             "similarity across thousands of documents every single day").split()
    out = []
    for i in range(300):
        w = words[(i * 7) % len(words)]
        if i % 23 == 22:
            w += "."
        elif i % 11 == 10:
            w += ","
        out.append(w)
    return " ".join(out)


def hard_cases():
    """Hard tokenizer / pipeline cases (order is part of the golden format)."""
    return [
        "Café crème brûlée à São Paulo",
        "naïve résumé",
        "Hokkaidō",
        "The QUICK brown fox — didn't jump over the lazy dog?!",
        "你好，世界",
        "I love pizza 🍕🍕!",
        "€100 and ©2024",
        "tab\there",
        "a\u000bb",
        "x\u0085y",
        "zero\u200bwidth",
        "ﬁ ligature",
        "İstanbul",
        "ß straße",
        "a" * 101,
        "a" * 100,
        long_text(),
        "",
        "   ",
        "[MASK] and [CLS] literal",
        "  leading and trailing spaces  ",
        "مرحبا بالعالم، كيف حالك اليوم؟",
        "नमस्ते दुनिया, आप कैसे हैं?",
        "안녕하세요 세계, 오늘 기분이 어때요?",
        "こんにちは世界、今日はいい天気ですね。カタカナも。",
        "e\u0301",
        "Mr. O'Neil's $5.00 co-op—naïve?",
        # extras
        "line one\nline two",
        "cr\r\nlf and\rcr",
        "\t\n leading control whitespace\n\t",
        "non\u00a0breaking\u00a0space",
        "soft\u00adhyphen and bell\u0007char",
        "ÉCOLE ÀÉÎÕÜ Ångström",
        "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
        "abc中文def 日本語text",
        "hello...world!!! «quotes» “curly” ‘single’",
        "x^2+y_2=z ~`@#%&*()[]{}<>|\\/",
        "[SEP] [PAD] [UNK] [unused1] ##ing",
        "unaffable antidisestablishmentarianism supercalifragilisticexpialidocious",
        "abcdefghij" * 10 + " " + "abcdefghij" * 10 + "k",
        "3.14159 1,000,000 2024-01-15 12:30pm",
        "Ω≈ç√∫˜µ≤≥÷ αβγ δ ελληνικά Кириллица",
        "👍🏽 family 👨‍👩‍👧 flag 🇫🇷",
        "\U0001d400\U0001d401 math bold",
        "\u0085\u00a0\u3000 python strip() set \u2003\u001c\u001f",
    ]


def write_jsonl(path, objs):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for o in objs:
            f.write(json.dumps(o, ensure_ascii=True) + "\n")


def read_jsonl(path):
    with open(path, "r", encoding="ascii") as f:
        return [json.loads(l) for l in f.read().split("\n") if l]


def write_json(path, obj):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=True, indent=1, sort_keys=True)
        f.write("\n")


def write_f32(path, arr):
    a = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    a.tofile(path)
    back = np.fromfile(path, dtype="<f4").reshape(a.shape)
    assert np.array_equal(back, a, equal_nan=True), path
    return a.shape


def versions():
    import torch
    import transformers
    import tokenizers
    import sentence_transformers
    import scipy
    import safetensors
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "safetensors": safetensors.__version__,
        "scipy": scipy.__version__,
    }


def setup_determinism():
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(1)
    try:
        torch.use_deterministic_algorithms(True)
    except Exception:
        pass
