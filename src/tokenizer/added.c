/* added.c — matching added tokens in text (HF added_vocabulary.rs find_matches). */
#include "tokenizer/added.h"
#include "tokenizer/unicode.h"

#include <stdlib.h>
#include <string.h>

int ss_added_add(ss_added_set *set, const char *content, size_t len, int32_t id, ss_added_flags f) {
    if (len == 0) return 0; /* HF ignores empty tokens */
    if (set->n == set->cap) {
        int cap = set->cap ? set->cap * 2 : 8;
        ss_added_token *v = realloc(set->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        set->v = v;
        set->cap = cap;
    }
    char *c = malloc(len + 1);
    if (!c) return -1;
    memcpy(c, content, len);
    c[len] = '\0';
    set->v[set->n++] = (ss_added_token){c, len, id, f, 0};
    unsigned char b = (unsigned char)content[0];
    set->first[b >> 3] |= (uint8_t)(1u << (b & 7));
    return 0;
}

void ss_added_free(ss_added_set *set) {
    for (int i = 0; i < set->n; i++) free(set->v[i].content);
    free(set->v);
    memset(set, 0, sizeof *set);
}

int ss_added_find(const ss_added_set *set, const char *content, size_t len) {
    for (int k = 0; k < set->n; k++)
        if (set->v[k].len == len && memcmp(set->v[k].content, content, len) == 0) return k;
    return -1;
}

/* Leftmost-longest match at or after `from`: the longest token starting at
 * the first position where any token starts. Returns the token index or -1. */
static int next_match(const ss_added_set *set, const char *s, size_t n, size_t from, size_t *at) {
    for (size_t i = from; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (!(set->first[b >> 3] & (1u << (b & 7)))) continue;
        int best = -1;
        for (int k = 0; k < set->n; k++) {
            const ss_added_token *t = &set->v[k];
            if (t->len <= n - i && memcmp(s + i, t->content, t->len) == 0 &&
                (best < 0 || t->len > set->v[best].len))
                best = k;
        }
        if (best >= 0) {
            *at = i;
            return best;
        }
    }
    return -1;
}

/* Last char before byte offset `end` (valid UTF-8). */
static uint32_t char_before(const char *s, size_t end, size_t *start) {
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    *start = i;
    size_t j = i;
    return ss_utf8_next(s, &j);
}

int ss_added_split(const ss_added_set *set, const char *s, size_t n, ss_added_piece_fn piece,
                   void *ctx) {
    size_t done = 0;  /* end of the last emitted piece */
    size_t from = 0;  /* where the matcher resumes: after the raw match */
    size_t at;
    int k, r;
    while (set->n > 0 && (k = next_match(set, s, n, from, &at)) >= 0) {
        const ss_added_token *t = &set->v[k];
        size_t start = at, stop = at + t->len, p;
        from = stop;
        if (t->f.single_word) {
            /* Rust regex \w$ before and ^\w after reject the match. */
            if (start > 0 && ss_uc_is_word(char_before(s, start, &p))) continue;
            size_t q = stop;
            if (stop < n && ss_uc_is_word(ss_utf8_next(s, &q))) continue;
        }
        if (t->f.lstrip) { /* take the whitespace before, unless a match owns it */
            size_t ns = start;
            while (ns > done && ss_uc_is_whitespace(char_before(s, ns, &p))) ns = p;
            start = ns;
        }
        if (t->f.rstrip) {
            size_t q = stop, q2 = stop;
            while (q < n && ss_uc_is_whitespace(ss_utf8_next(s, &q2))) q = q2;
            stop = q;
        }
        if (done < start && (r = piece(ctx, -1, done, start))) return r;
        if ((r = piece(ctx, t->id, start, stop))) return r;
        done = stop;
    }
    if (done < n && (r = piece(ctx, -1, done, n))) return r;
    return 0;
}
