/* tokenizer.c — encoding text to ids: strip, added tokens, normalize,
 * pre-tokenize, WordPiece, template; plus the small accessors. */
#include "core/error.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

#include <limits.h>
#include <string.h>

typedef struct {
    const ss_tokenizer *tok;
    const char *text;
    int32_t *ids;
    long cap;           /* room in ids */
    long base;          /* ids written before sequence A (the template's prefix) */
    long n;             /* word pieces of sequence A so far */
    long limit;         /* keep at most this many pieces (truncation) */
    ss_bytes norm;      /* the normalized current piece */
    ss_norm_scratch scratch;
    int oom;
} enc_ctx;

static inline void emit(enc_ctx *c, int32_t id) {
    long k = c->n++;
    if (k < c->limit && c->base + k < c->cap) c->ids[c->base + k] = id;
}

/* Greedy longest-match-first WordPiece of one word; a word that is too long,
 * or that has a position no vocabulary entry matches, is one [UNK]. */
static void wordpiece(enc_ctx *c, const char *w, size_t len) {
    const ss_tokenizer *t = c->tok;
    size_t nchars = 0;
    for (size_t i = 0; i < len; i++) nchars += ((unsigned char)w[i] & 0xC0) != 0x80;
    if (nchars > (size_t)t->max_chars) {
        emit(c, t->unk_id);
        return;
    }
    long mark = c->n;
    size_t start = 0, maxlen = t->vocab.max_len;
    while (start < len) {
        size_t plen = start ? t->prefix_len : 0;
        /* Candidates longer than the longest vocabulary entry cannot match. */
        size_t room = maxlen > plen ? maxlen - plen : 0;
        size_t end = len - start > room ? start + room : len;
        while (end > start && end < len && ((unsigned char)w[end] & 0xC0) == 0x80) end--;
        int32_t id = -1;
        while (end > start) {
            id = ss_vocab_find2(&t->vocab, t->prefix, plen, w + start, end - start);
            if (id >= 0) break;
            do end--;
            while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80);
        }
        if (id < 0) {
            c->n = mark;
            emit(c, t->unk_id);
            return;
        }
        emit(c, id);
        start = end;
    }
}

static int char_class(const ss_tokenizer *t, uint32_t ch) {
    if (ch < 128) return t->ascii_class[ch];
    switch (t->pretok) {
    case SS_PRE_NONE: return SS_CC_WORD;
    case SS_PRE_BERT:
        return ss_uc_is_whitespace(ch) ? SS_CC_SPACE : ss_uc_is_punct(ch) ? SS_CC_ISOLATED : SS_CC_WORD;
    case SS_PRE_WHITESPACE:
        return ss_uc_is_whitespace(ch) ? SS_CC_SPACE : ss_uc_is_word(ch) ? SS_CC_WORD : SS_CC_OTHER;
    case SS_PRE_WHITESPACE_SPLIT: return ss_uc_is_whitespace(ch) ? SS_CC_SPACE : SS_CC_WORD;
    }
    return SS_CC_WORD;
}

/* Split normalized text into words and WordPiece each. Returns 1 once the
 * truncation limit is reached (nothing after it can change the result). */
static int pretokenize(enc_ctx *c, const char *s, size_t n) {
    const ss_tokenizer *t = c->tok;
    size_t ws = 0; /* start of the open word */
    int open = -1; /* class of the open word, -1 none */
    for (size_t i = 0; i < n;) {
        size_t at = i;
        uint32_t ch = ss_utf8_next(s, &i);
        int k = char_class(t, ch);
        if (open >= 0 && k != open) {
            wordpiece(c, s + ws, at - ws);
            open = -1;
            if (c->n >= c->limit) return 1;
        }
        if (k == SS_CC_ISOLATED) {
            wordpiece(c, s + at, i - at);
            if (c->n >= c->limit) return 1;
        } else if (k != SS_CC_SPACE && open < 0) {
            open = k;
            ws = at;
        }
    }
    if (open >= 0) wordpiece(c, s + ws, n - ws);
    return c->n >= c->limit;
}

static int norm_piece(void *ctx, int32_t id, size_t start, size_t end) {
    enc_ctx *c = ctx;
    if (id >= 0) {
        emit(c, id);
        return c->n >= c->limit;
    }
    return pretokenize(c, c->norm.v + start, end - start);
}

static int raw_piece(void *ctx, int32_t id, size_t start, size_t end) {
    enc_ctx *c = ctx;
    if (id >= 0) {
        emit(c, id);
        return c->n >= c->limit;
    }
    if (ss_normalize(&c->tok->norm, c->text + start, end - start, &c->norm, &c->scratch)) {
        c->oom = 1;
        return 1;
    }
    if (c->tok->added_norm.n > 0)
        return ss_added_split(&c->tok->added_norm, c->norm.v, c->norm.n, norm_piece, c);
    return pretokenize(c, c->norm.v, c->norm.n);
}

int ss_tokenizer_encode(const ss_tokenizer *tok, const char *text, size_t len, int max_len,
                        int32_t *ids, int cap, ss_error *err) {
    if (!tok || (!text && len > 0)) {
        ss_fail(err, SS_ERR_INVALID, "ss_tokenizer_encode: NULL %s", tok ? "text" : "tokenizer");
        return -1;
    }
    if (!ids || cap < 0) cap = 0;
    if (!text) text = "";
    size_t bad = ss_utf8_invalid_at(text, len);
    if (bad < len) {
        ss_fail(err, SS_ERR_INVALID, "invalid UTF-8 at byte offset %zu (byte 0x%02X)", bad,
                (unsigned)(unsigned char)text[bad]);
        return -1;
    }
    int n_special = tok->n_pre + tok->n_post;
    if (max_len > 0 && max_len < n_special) {
        ss_fail(err, SS_ERR_INVALID, "max_len %d cannot hold the %d special tokens", max_len,
                n_special);
        return -1;
    }

    /* sentence-transformers calls str.strip() before tokenizing. */
    size_t b = 0, e = len, i;
    while (b < e) {
        i = b;
        if (!ss_uc_is_py_space(ss_utf8_next(text, &i))) break;
        b = i;
    }
    while (e > b) {
        size_t p = e - 1;
        while (p > b && ((unsigned char)text[p] & 0xC0) == 0x80) p--;
        i = p;
        if (!ss_uc_is_py_space(ss_utf8_next(text, &i))) break;
        e = p;
    }

    enc_ctx c = {.tok = tok, .text = text + b, .ids = ids, .cap = cap, .base = tok->n_pre,
                 .limit = max_len > 0 ? max_len - n_special : LONG_MAX};
    for (int k = 0; k < tok->n_pre && k < cap; k++) ids[k] = tok->pre[k];
    if (c.limit > 0) {
        if (tok->added_raw.n > 0)
            ss_added_split(&tok->added_raw, c.text, e - b, raw_piece, &c);
        else
            raw_piece(&c, -1, 0, e - b);
    }
    free(c.norm.v);
    ss_norm_scratch_free(&c.scratch);
    if (c.oom) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory tokenizing a text of %zu bytes", len);
        return -1;
    }
    long pieces = c.n < c.limit ? c.n : c.limit;
    if (pieces > (long)INT_MAX - n_special) {
        ss_fail(err, SS_ERR_INVALID, "text of %zu bytes has more than INT_MAX tokens", len);
        return -1;
    }
    long at = tok->n_pre + pieces;
    for (int k = 0; k < tok->n_post && at + k < cap; k++) ids[at + k] = tok->post[k];
    return (int)(at + tok->n_post);
}

/* Largest id + 1 over the model vocabulary and the added tokens. */
int ss_tokenizer_vocab_size(const ss_tokenizer *tok) {
    if (!tok) return 0;
    return tok->max_added_id >= tok->vocab.n_ids ? tok->max_added_id + 1 : tok->vocab.n_ids;
}

const char *ss_tokenizer_token(const ss_tokenizer *tok, int32_t id) {
    if (!tok || id < 0) return NULL;
    for (int k = 0; k < tok->added_all.n; k++) /* added tokens take precedence, as in HF */
        if (tok->added_all.v[k].id == id) return tok->added_all.v[k].content;
    return id < tok->vocab.n_ids ? tok->vocab.strs[id] : NULL;
}

int32_t ss_tokenizer_token_id(const ss_tokenizer *tok, const char *token) {
    if (!tok || !token) return -1;
    size_t n = strlen(token);
    for (int k = 0; k < tok->added_all.n; k++)
        if (tok->added_all.v[k].len == n && memcmp(tok->added_all.v[k].content, token, n) == 0)
            return tok->added_all.v[k].id;
    return ss_vocab_find(&tok->vocab, token, n);
}

int32_t ss_tokenizer_pad_id(const ss_tokenizer *tok) { return tok ? tok->pad_id : -1; }

void ss_tokenizer_free(ss_tokenizer *tok) {
    if (!tok) return;
    ss_vocab_free(&tok->vocab);
    ss_added_free(&tok->added_raw);
    ss_added_free(&tok->added_norm);
    ss_added_free(&tok->added_all);
    free(tok);
}
