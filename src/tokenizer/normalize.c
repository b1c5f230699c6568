/* normalize.c — normalizer steps over code-point buffers, ASCII fast path. */
#include "tokenizer/normalize.h"
#include "tokenizer/unicode.h"

#include <string.h>

int ss_normalizer_add(ss_normalizer *nz, ss_norm_op op) {
    if (nz->n_ops >= SS_NORM_MAX_OPS) return -1;
    nz->ops[nz->n_ops++] = op;
    return 0;
}

void ss_norm_scratch_free(ss_norm_scratch *s) {
    free(s->a.v);
    free(s->b.v);
    memset(s, 0, sizeof *s);
}

#define PUSH(out, c) ((out)->v[(out)->n++] = (c))

static int decompose_all(const ss_cps *in, ss_cps *out, int compat) {
    uint32_t tmp[32]; /* the longest decomposition (U+FDFA, NFKD) has 18 chars */
    for (size_t i = 0; i < in->n; i++) {
        int k = ss_uc_decompose(in->v[i], compat, tmp, 32);
        if (k > 32) k = 32; /* cannot happen; keeps tmp in bounds regardless */
        if (ss_cps_reserve(out, (size_t)k)) return -1;
        memcpy(out->v + out->n, tmp, (size_t)k * sizeof *tmp);
        out->n += (size_t)k;
    }
    return ss_uc_canonical_order(out->v, out->n);
}

/* One step: in -> out (out is overwritten). */
static int apply(ss_norm_op op, const ss_cps *in, ss_cps *out) {
    out->n = 0;
    switch (op) {
    case SS_NORM_CLEAN:
        if (ss_cps_reserve(out, in->n)) return -1;
        for (size_t i = 0; i < in->n; i++) {
            uint32_t c = in->v[i];
            if (ss_uc_is_clean_deleted(c)) continue; /* filter runs before the map */
            PUSH(out, ss_uc_is_whitespace(c) ? ' ' : c);
        }
        return 0;
    case SS_NORM_CJK:
        if (ss_cps_reserve(out, 3 * in->n)) return -1;
        for (size_t i = 0; i < in->n; i++) {
            uint32_t c = in->v[i];
            if (ss_uc_is_cjk(c)) {
                PUSH(out, ' ');
                PUSH(out, c);
                PUSH(out, ' ');
            } else {
                PUSH(out, c);
            }
        }
        return 0;
    case SS_NORM_NFD:
    case SS_NORM_NFKD:
        return decompose_all(in, out, op == SS_NORM_NFKD);
    case SS_NORM_NFC:
    case SS_NORM_NFKC:
        if (decompose_all(in, out, op == SS_NORM_NFKC)) return -1;
        out->n = ss_uc_compose(out->v, out->n);
        return 0;
    case SS_NORM_STRIP_MN:
    case SS_NORM_STRIP_MARKS:
        if (ss_cps_reserve(out, in->n)) return -1;
        for (size_t i = 0; i < in->n; i++) {
            uint32_t c = in->v[i];
            if (op == SS_NORM_STRIP_MN ? ss_uc_is_bert_mn(c) : ss_uc_is_mark(c)) continue;
            PUSH(out, c);
        }
        return 0;
    case SS_NORM_LOWER:
        if (ss_cps_reserve(out, 2 * in->n)) return -1; /* U+0130 -> i + U+0307 */
        for (size_t i = 0; i < in->n; i++) {
            uint32_t l[2];
            int k = ss_uc_lower(in->v[i], l);
            PUSH(out, l[0]);
            if (k > 1) PUSH(out, l[1]);
        }
        return 0;
    }
    return 0;
}

/* General path: decode, run each step, result in the returned buffer. */
static ss_cps *run_steps(const ss_normalizer *nz, const char *s, size_t n, ss_norm_scratch *sc) {
    ss_cps *cur = &sc->a, *next = &sc->b;
    cur->n = 0;
    if (ss_cps_reserve(cur, n)) return NULL;
    for (size_t i = 0; i < n;) cur->v[cur->n++] = ss_utf8_next(s, &i);
    for (int k = 0; k < nz->n_ops; k++) {
        if (apply(nz->ops[k], cur, next)) return NULL;
        ss_cps *t = cur;
        cur = next;
        next = t;
    }
    return cur;
}

void ss_normalizer_finish(ss_normalizer *nz) {
    ss_norm_scratch sc = {0};
    nz->ascii_ok = 1;
    for (int c = 0; c < 128; c++) {
        char ch = (char)c;
        ss_cps *r = run_steps(nz, &ch, 1, &sc);
        if (!r || r->n > 1 || (r->n == 1 && r->v[0] >= 128)) {
            nz->ascii_ok = 0;
            break;
        }
        nz->ascii[c] = r->n ? (int8_t)r->v[0] : -1;
    }
    ss_norm_scratch_free(&sc);
}

int ss_normalize(const ss_normalizer *nz, const char *s, size_t n, ss_bytes *out,
                 ss_norm_scratch *scratch) {
    out->n = 0;
    size_t i = 0;
    if (nz->ascii_ok) {
        while (i < n && !(s[i] & 0x80)) i++;
        if (i == n) { /* pure ASCII */
            if (ss_bytes_reserve(out, n)) return -1;
            for (i = 0; i < n; i++) {
                int8_t m = nz->ascii[(unsigned char)s[i]];
                if (m >= 0) out->v[out->n++] = (char)m;
            }
            return 0;
        }
    }
    ss_cps *r = run_steps(nz, s, n, scratch);
    if (!r || ss_bytes_reserve(out, 4 * r->n)) return -1;
    for (size_t k = 0; k < r->n; k++) out->n += (size_t)ss_utf8_put(r->v[k], out->v + out->n);
    return 0;
}
