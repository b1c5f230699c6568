#!/usr/bin/env python3
"""Write tests/tokenizer/cases_expected.h: the expected ids of hand-picked
texts and per-code-point fingerprints, all computed by the reference (HF
tokenizers, the version of tools/reference/requirements.txt).

    build/refvenv/bin/python tests/tokenizer/make_cases.py > tests/tokenizer/cases_expected.h

(the reference venv of tools/reference/setup-venv.sh: tokenizers 0.19.1,
transformers 4.40.2). Every expected value test_tokenizer_cases.c checks
comes from here, none is written by hand:
- hand cases run through Tokenizer.from_file(tokenizer.json) with truncation
  and padding off, after str.strip() as sentence-transformers does; truncation
  to max_len counts the special tokens, as sentence-transformers' call does;
- API facts (ids of one text at several max_len, vocabulary sizes, pad ids,
  token <-> id lookups) from the same tokenizers;
- a minimal tokenizer.json (MINIMAL_JSON, emitted for the test to write) run
  through Tokenizer.from_str;
- tokenizer_config.json merges: AutoTokenizer.from_pretrained(dir)(text.strip())
  for a copy of all-MiniLM-L6-v2's tokenizer.json next to each config.
"""
import os
import shutil
import sys
import tempfile
import tokenizers
from tokenizers import Tokenizer, normalizers as N, pre_tokenizers as P

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
MINILM = os.path.join(ROOT, 'models', 'all-MiniLM-L6-v2')
MPNET = os.path.join(ROOT, 'tests', 'models', 'mpnet-mean-normalize')

LONG = ' '.join(['semantic search engines embed sentences quickly'] * 60)
CASES = [  # (model, text, max_len)
    ('minilm', 'Café crème brûlée in São Paulo, naïve résumé', 256),
    ('minilm', 'The QUICK brown fox \u2014 didn\'t jump over the lazy dog?!', 256),
    ('minilm', '你好，世界 and 日本語text', 256),
    ('minilm', 'I love pizza \U0001F355\U0001F355! \U0001F44D\U0001F3FD', 256),
    ('minilm', '\u20ac100 and \u00a92024 \u2192 x\u00b2', 256),
    ('minilm', 'a\u000bb x\u0085y zero\u200bwidth soft\u00adhyphen bell\u0007 \ufeffbom', 256),
    ('minilm', 'tab\there\nnew\r\nline\u2028sep\u3000ideo\u00a0nbsp', 256),
    ('minilm', 'a' * 100, 256),
    ('minilm', 'a' * 101, 256),
    ('minilm', 'x ' + 'b' * 101 + ' y', 256),
    ('minilm', LONG, 256),
    ('minilm', LONG, 0),
    ('minilm', LONG, 10),
    ('minilm', LONG, 2),
    ('minilm', '', 256),
    ('minilm', '   \t\n ', 256),
    ('minilm', '[MASK] is a [CLS]literal[SEP] but [mask] and [unused1] are not', 256),
    ('minilm', '\u0130stanbul \u00df stra\u00dfe \u03a3\u0391\u03a3 \u01c5 \ufb01', 256),
    ('minilm', 'e\u0301 a\u0327\u0301 \u1e9b\u0323 \u0958', 256),
    ('minilm', '\u0085\u00a0\u3000 python strip() set \u2003\u001c\u001f', 256),
    ('minilm', 'unaffable antidisestablishmentarianism supercalifragilisticexpialidocious', 256),
    ('minilm', 'a\0b', 256),
    ('minilm', 'Ω≈ç√∫˜µ≤≥÷ αβγ Кириллица \U0001d400\U0001d401 ＡＢＣ１２３', 256),
    ('minilm', '\ue000private \U0010ffff \u0890\u08e2 \U000110cd \U00013430 \u0378unassigned', 256),
    ('minilm', 'x^2+y_2=z ~`@#%&*()[]{}<>|\\/ \u00abq\u00bb \u201cc\u201d', 256),
    ('mpnet', '<s>Hello</s> world <mask> and  <mask>', 384),
    ('mpnet', '[UNK] [unk] <S> <pad>', 384),
    ('mpnet', LONG, 20),
]


def c_string(b):
    """A C string literal of bytes b, octal escapes (they never run on)."""
    out = '"'
    for x in b:
        c = chr(x)
        if 32 <= x < 127 and c not in '"\\?':
            out += c
        else:
            out += '\\%03o' % x
    return out + '"'


def fnv(h, data):
    for x in data:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


SEED = 0xcbf29ce484222325


def fingerprints():
    """Per code point: what each normalizer step and pre-tokenizer class does."""
    bert = lambda **kw: N.BertNormalizer(**{**dict(clean_text=False, handle_chinese_chars=False,
                                                    strip_accents=False, lowercase=False), **kw})
    norms = [('clean', bert(clean_text=True)), ('cjk', bert(handle_chinese_chars=True)),
             ('strip', bert(strip_accents=True)), ('lower', bert(lowercase=True)),
             ('nfd', N.NFD()), ('nfkd', N.NFKD()), ('nfc', N.NFC()), ('nfkc', N.NFKC()),
             ('stripacc', N.StripAccents())]
    hs = {name: SEED for name, _ in norms}
    hs['nfd_ctx'] = hs['bert_class'] = hs['ws_class'] = SEED
    nfd = N.NFD()
    bpre, wpre = P.BertPreTokenizer(), P.Whitespace()
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        key = cp.to_bytes(4, 'little')
        for name, n in norms:
            hs[name] = fnv(hs[name], key + n.normalize_str(c).encode() + b'\xff')
        # canonical ordering around c: its combining class against 230 and 220
        hs['nfd_ctx'] = fnv(hs['nfd_ctx'], key + nfd.normalize_str('\u0301' + c + '\u0316').encode() + b'\xff')
        s = 'a' + c + 'a'
        r = [t for t, _ in bpre.pre_tokenize_str(s)]
        k = 0 if r == ['a', 'a'] else 3 if r == ['a', c, 'a'] else 1
        hs['bert_class'] = fnv(hs['bert_class'], key + bytes([k]))
        r = [t for t, _ in wpre.pre_tokenize_str(s)]
        k = 0 if r == ['a', 'a'] else 2 if r == ['a', c, 'a'] else 1
        hs['ws_class'] = fnv(hs['ws_class'], key + bytes([k]))
    return hs


API_TEXT = 'semantic search engines embed sentences quickly'
API_MAX_LENS = [0, 4, 2]
API_TOKENS = ['[CLS]', '##ing', '[MASK]', 'notawordinthevocab']
API_IDS = [101, 2075, -1, 30522]  # id -> token (None when out of range)
MPNET_TOKEN_IDS = [30526]

MINIMAL_JSON = ('{"normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, '
                '"model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", '
                '"max_input_chars_per_word": 5, '
                '"vocab": {"[UNK]": 0, "ab": 1, "##c": 2, "a": 3, "##b": 4}}}')
MINIMAL_TEXTS = [' abc  ab ', 'abbbbb abd']

CFG_A = ('{"do_lower_case": true, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", '
         '"cls_token": "[CLS]", "mask_token": "[MASK]", "tokenizer_class": "BertTokenizer", '
         '"added_tokens_decoder": {"103": {"content": "[MASK]", "lstrip": true, "rstrip": true, '
         '"normalized": false, "single_word": false, "special": true}, "30522": {"content": "<extra>", '
         '"lstrip": false, "rstrip": false, "normalized": true, "single_word": true, "special": false}}, '
         '"additional_special_tokens": ["<new1>", {"content": "Hello", "lstrip": false, "rstrip": true, '
         '"normalized": true, "single_word": false, "__type": "AddedToken"}]}')
CFG_B = ('{"do_lower_case": true, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", '
         '"cls_token": "[CLS]", "tokenizer_class": "BertTokenizer", "mask_token": {"content": "[MASK]", '
         '"lstrip": true, "rstrip": false, "normalized": true, "single_word": false, "__type": "AddedToken"}}')
MERGE_CASES = [  # (config name, text)
    ('CFG_A', 'x [MASK]  y'),
    ('CFG_A', 'a<extra>b <extra> hello Hello  there'),
    ('CFG_A', '<new1>z  Hello  [mask] <mask>  q'),
    ('CFG_B', '<new1>z  Hello  [mask] <mask>  q'),
    ('CFG_B', 'hello [MASK] world'),
]


def pad_id(d):
    """transformers' pad_token_id for the folder (tokenizer.json's padding, else
    the pad_token of tokenizer_config / special_tokens_map), -1 when none."""
    from transformers import AutoTokenizer
    i = AutoTokenizer.from_pretrained(d).pad_token_id
    return -1 if i is None else i


def c_ints(xs):
    return '{%s}' % ', '.join(map(str, xs))


def write_facts(w, toks):
    t = toks['minilm']
    w('\n/* API facts: %s */\n' % API_TEXT)
    w('#define API_TEXT %s\n' % c_string(API_TEXT.encode()))
    for ml in API_MAX_LENS:
        if ml:
            t.enable_truncation(ml)
        else:
            t.no_truncation()
        ids = t.encode(API_TEXT).ids
        w('static const int api_ids_max%d[] = %s; /* %d ids */\n' % (ml, c_ints(ids), len(ids)))
    t.no_truncation()
    w('#define API_VOCAB_SIZE %d\n' % t.get_vocab_size())
    w('#define API_PAD_ID %d\n' % pad_id(MINILM))
    w('static const struct { const char *token; int id; } api_token_ids[] = {\n')
    for tok in API_TOKENS:
        i = t.token_to_id(tok)
        w('    {%s, %d},\n' % (c_string(tok.encode()), -1 if i is None else i))
    w('};\n')
    w('static const struct { int id; const char *token; } api_id_tokens[] = {\n')
    for i in API_IDS:
        tok = t.id_to_token(i) if i >= 0 else None
        w('    {%d, %s},\n' % (i, 'NULL' if tok is None else c_string(tok.encode())))
    w('};\n')
    m = toks['mpnet']
    m.no_truncation()
    w('#define MPNET_VOCAB_SIZE %d\n' % m.get_vocab_size())
    w('#define MPNET_PAD_ID %d\n' % pad_id(MPNET))
    w('static const int mpnet_empty_ids[] = %s;\n' % c_ints(m.encode('').ids))
    w('static const struct { int id; const char *token; } mpnet_id_tokens[] = {\n')
    for i in MPNET_TOKEN_IDS:
        w('    {%d, %s},\n' % (i, c_string(m.id_to_token(i).encode())))
    w('};\n')

    w('\n/* A minimal tokenizer.json and what Tokenizer.from_str makes of it. */\n')
    w('#define MINIMAL_JSON %s\n' % c_string(MINIMAL_JSON.encode()))
    mt = Tokenizer.from_str(MINIMAL_JSON)
    from transformers import PreTrainedTokenizerFast
    mp = PreTrainedTokenizerFast(tokenizer_object=mt).pad_token_id
    w('#define MINIMAL_PAD_ID %d\n' % (-1 if mp is None else mp))
    w('static const struct { const char *text; int n; int ids[8]; } minimal_cases[] = {\n')
    for text in MINIMAL_TEXTS:
        ids = mt.encode(text).ids
        w('    {%s, %d, %s},\n' % (c_string(text.encode()), len(ids), c_ints(ids)))
    w('};\n')

    from transformers import AutoTokenizer
    w('\n/* tokenizer_config.json merges: AutoTokenizer.from_pretrained(dir)(text.strip()) (transformers). */\n')
    cfgs = {'CFG_A': CFG_A, 'CFG_B': CFG_B}
    for name, cfg in cfgs.items():
        w('#define %s %s\n' % (name, c_string(cfg.encode())))
    rows = []
    for name, text in MERGE_CASES:
        d = tempfile.mkdtemp()
        try:
            shutil.copyfile(os.path.join(MINILM, 'tokenizer.json'), os.path.join(d, 'tokenizer.json'))
            with open(os.path.join(d, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
                f.write(cfgs[name])
            tk = AutoTokenizer.from_pretrained(d)
            rows.append((name, text, tk(text.strip())['input_ids']))
        finally:
            shutil.rmtree(d)
    w('static const struct { const char *cfg, *text; int n; int32_t ids[32]; } merge_cases[] = {\n')
    for name, text, ids in rows:
        assert len(ids) <= 32
        w('    {%s, %s, %d, %s},\n' % (name, c_string(text.encode()), len(ids), c_ints(ids)))
    w('};\n')


def main():
    toks = {}
    for name, d in (('minilm', MINILM), ('mpnet', MPNET)):
        t = Tokenizer.from_file(os.path.join(d, 'tokenizer.json'))
        t.no_padding()
        toks[name] = t
    w = sys.stdout.write
    w('/* cases_expected.h — GENERATED by make_cases.py with HF tokenizers %s. */\n'
      % tokenizers.__version__)
    rows = []
    for model, text, max_len in CASES:
        t = toks[model]
        if max_len:
            t.enable_truncation(max_len)
        else:
            t.no_truncation()
        rows.append((model, text, max_len, t.encode(text.strip()).ids))
    w('#define TOK_CASE_MAX_IDS %d\n' % max(len(r[3]) for r in rows))
    w('typedef struct { const char *model; const char *text; size_t len; int max_len; int n; '
      'const int ids[TOK_CASE_MAX_IDS]; } tok_case;\n')
    w('static const tok_case tok_cases[] = {\n')
    for model, text, max_len, ids in rows:
        b = text.encode()
        w('    {"%s", %s, %d, %d, %d, {%s}},\n' % (model, c_string(b), len(b), max_len, len(ids),
                                               ', '.join(map(str, ids))))
    w('};\n\n')
    for name, h in fingerprints().items():
        w('#define FP_%s 0x%016xULL\n' % (name.upper(), h))
    write_facts(w, toks)


if __name__ == '__main__':
    main()
