/* unicode.h — character classes, per-char mappings and UTF-8 helpers with
 * exactly the semantics of HF tokenizers (Rust), which sentence-transformers
 * runs. See gen_unicode_tables.py for why the sets are tables of our own. */
#ifndef SS_TOKENIZER_UNICODE_H
#define SS_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Rust char::is_whitespace (Unicode White_Space). */
int ss_uc_is_whitespace(uint32_t cp);
/* Python str.isspace(): what sentence-transformers' str.strip() removes. */
int ss_uc_is_py_space(uint32_t cp);
/* BertNormalizer handle_chinese_chars ranges (Rust's, with the 2B920 quirk). */
int ss_uc_is_cjk(uint32_t cp);
/* BertNormalizer clean_text deletes this char. */
int ss_uc_is_clean_deleted(uint32_t cp);
/* Removed by BertNormalizer strip_accents after NFD (Rust's Mn set). */
int ss_uc_is_bert_mn(uint32_t cp);
/* Removed by the StripAccents normalizer (combining marks). */
int ss_uc_is_mark(uint32_t cp);
/* BertPreTokenizer punctuation (isolated as its own word). */
int ss_uc_is_punct(uint32_t cp);
/* Rust regex \w. */
int ss_uc_is_word(uint32_t cp);

/* Rust char::to_lowercase: writes 1 or 2 chars to out, returns the count. */
int ss_uc_lower(uint32_t cp, uint32_t out[2]);

/* Canonical (compat = 0) or compatibility (compat = 1) full decomposition of
 * one char as the reference's normalization crate does it; writes at most cap
 * chars and returns the count (which may exceed cap: call again). */
int ss_uc_decompose(uint32_t cp, int compat, uint32_t *out, int cap);
/* Canonical ordering: stable sort of every run of non-starters by combining
 * class, in time linear in n. 0, or -1 out of memory. */
int ss_uc_canonical_order(uint32_t *v, size_t n);
/* Canonical composition of a decomposed, ordered buffer in place; returns the new length. */
size_t ss_uc_compose(uint32_t *v, size_t n);

/* Offset of the first byte of the first invalid UTF-8 sequence (overlong
 * forms, surrogates and values above U+10FFFF are invalid), or len if valid. */
size_t ss_utf8_invalid_at(const char *s, size_t len);
/* Decode the char at s[*i] of valid UTF-8 and advance *i past it. */
static inline uint32_t ss_utf8_next(const char *s, size_t *i) {
    const unsigned char *p = (const unsigned char *)s + *i;
    uint32_t c = p[0];
    if (c < 0x80) { *i += 1; return c; }
    if (c < 0xE0) { *i += 2; return ((c & 0x1F) << 6) | (p[1] & 0x3F); }
    if (c < 0xF0) { *i += 3; return ((c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F); }
    *i += 4;
    return ((c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}
/* Encode cp (a valid scalar value) into out; returns 1..4. */
int ss_utf8_put(uint32_t cp, char out[4]);

#endif
