/* unicode.c — character classes and mappings with HF tokenizers' semantics. */
#include "tokenizer/unicode.h"
#include "tokenizer/unicode_tables.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

static int in_ranges(const ss_uc_range *t, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < t[mid].lo) hi = mid;
        else if (cp > t[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

int ss_uc_is_whitespace(uint32_t c) {
    return (c >= 9 && c <= 13) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

int ss_uc_is_py_space(uint32_t c) {
    /* Python adds the bidi B/S controls U+001C..U+001F to White_Space. */
    return ss_uc_is_whitespace(c) || (c >= 0x1C && c <= 0x1F);
}

int ss_uc_is_cjk(uint32_t c) {
    /* tokenizers/src/normalizers/bert.rs is_chinese_char; note 0x2B920 where
     * Google's BERT has 0x2B820. */
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

int ss_uc_is_clean_deleted(uint32_t c) { return in_ranges(ss_uc_clean_deleted, ss_uc_clean_deleted_n, c); }
int ss_uc_is_bert_mn(uint32_t c) { return c >= 0x300 && in_ranges(ss_uc_bert_mn, ss_uc_bert_mn_n, c); }
int ss_uc_is_mark(uint32_t c) { return c >= 0x300 && in_ranges(ss_uc_mark, ss_uc_mark_n, c); }
int ss_uc_is_punct(uint32_t c) { return in_ranges(ss_uc_punct, ss_uc_punct_n, c); }
int ss_uc_is_word(uint32_t c) { return in_ranges(ss_uc_word, ss_uc_word_n, c); }

int ss_uc_lower(uint32_t c, uint32_t out[2]) {
    if (c < 0x80) {
        out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 1;
    }
    size_t lo = 0, hi = ss_uc_lowers_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t m = ss_uc_lowers[mid].cp;
        if (c < m) hi = mid;
        else if (c > m) lo = mid + 1;
        else {
            out[0] = ss_uc_lowers[mid].to[0];
            out[1] = ss_uc_lowers[mid].to[1];
            return out[1] ? 2 : 1;
        }
    }
    out[0] = c;
    return 1;
}

/* Chars utf8proc 2.8 (Unicode 15) decomposes but the reference's older
 * unicode-normalization tables do not (found by probing every code point). */
static int no_decomp_in_reference(uint32_t c, int compat) {
    if (c == 0x11938) return 1; /* DIVES AKURU VOWEL SIGN O (Unicode 13) */
    if (!compat) return 0;
    return c == 0x32FF || (c >= 0xA7F2 && c <= 0xA7F4) || c == 0xAB69 ||
           (c >= 0x10781 && c <= 0x107BA && c != 0x10786 && c != 0x107B1) ||
           (c >= 0x1E030 && c <= 0x1E06D) || c == 0x1F16C || (c >= 0x1FBF0 && c <= 0x1FBF9);
}

int ss_uc_decompose(uint32_t c, int compat, uint32_t *out, int cap) {
    if (c < 0xC0 && (!compat || c < 0xA0)) { /* fast path: nothing below decomposes */
        if (cap > 0) out[0] = c;
        return 1;
    }
    if (no_decomp_in_reference(c, compat)) {
        if (cap > 0) out[0] = c;
        return 1;
    }
    int boundclass = UTF8PROC_BOUNDCLASS_START;
    utf8proc_option_t opt = UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0);
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)c, (utf8proc_int32_t *)out,
                                                 cap, opt, &boundclass);
    if (n < 0) { /* cannot happen for a valid scalar value; keep the char */
        if (cap > 0) out[0] = c;
        return 1;
    }
    return (int)n;
}

/* Combining classes never change once assigned, but the reference's tables
 * predate some marks, which it treats as starters (class 0). */
static int ccc(uint32_t c) {
    if (c < 0x300 || !in_ranges(ss_uc_nonstarter, ss_uc_nonstarter_n, c)) return 0;
    return utf8proc_get_property((utf8proc_int32_t)c)->combining_class;
}

/* Canonical ordering, linear in the text: each run of non-starters is
 * stably sorted by combining class, as the reference's unicode-normalization
 * crate does (it buffers a run and sorts it by class, stably). Short runs —
 * nearly all, usually of length 1 — take an insertion sort; a long run (a
 * hostile 640 KB of alternating U+0301 / U+0316 made the old insertion sort
 * quadratic: 110 s) takes a stable counting sort over the 256 classes, so the
 * result is identical and the cost O(run + 256). Returns -1 out of memory. */
int ss_uc_canonical_order(uint32_t *v, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (ccc(v[i]) == 0) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && ccc(v[i]) != 0) i++;
        size_t len = i - s;
        if (len < 2) continue;
        if (len <= 32) {
            for (size_t k = s + 1; k < i; k++) {
                uint32_t x = v[k];
                int ck = ccc(x);
                size_t j = k;
                while (j > s && ccc(v[j - 1]) > ck) {
                    v[j] = v[j - 1];
                    j--;
                }
                v[j] = x;
            }
            continue;
        }
        uint32_t *tmp = malloc(len * sizeof *tmp);
        unsigned char *cls = malloc(len);
        if (!tmp || !cls) {
            free(tmp);
            free(cls);
            return -1;
        }
        size_t count[257] = {0};
        for (size_t k = 0; k < len; k++) {
            cls[k] = (unsigned char)ccc(v[s + k]);
            count[cls[k] + 1]++;
        }
        for (int c = 0; c < 256; c++) count[c + 1] += count[c];
        for (size_t k = 0; k < len; k++) tmp[count[cls[k]]++] = v[s + k];
        memcpy(v + s, tmp, len * sizeof *tmp);
        free(tmp);
        free(cls);
    }
    return 0;
}

size_t ss_uc_compose(uint32_t *v, size_t n) {
    if (n == 0) return 0;
    utf8proc_ssize_t r = utf8proc_normalize_utf32((utf8proc_int32_t *)v, (utf8proc_ssize_t)n,
                                                  UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    return r < 0 ? n : (size_t)r;
}

size_t ss_utf8_invalid_at(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t need;
        uint32_t min;
        if (c >= 0xC2 && c <= 0xDF) { need = 1; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; min = 0x10000; }
        else return i; /* stray continuation byte, C0/C1 overlong lead, F5..FF */
        if (len - i <= need) return i; /* truncated sequence */
        uint32_t cp = c & (0x3F >> need);
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += need + 1;
    }
    return len;
}

int ss_utf8_put(uint32_t c, char out[4]) {
    if (c < 0x80) { out[0] = (char)c; return 1; }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}
