/* store.c — slot storage, the quantisers, the id map and the free list (see
 * store.h). Everything here runs on one thread at a time (the writer) except
 * the read-only distance and query-preparation functions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/error.h"
#include "index/bigalloc.h"
#include "index/store.h"


ss_status ss__store_init(ss_store *s, int dim, ss_metric metric, ss_quant quant, int keep_raw) {
    memset(s, 0, sizeof *s);
    s->dim = dim;
    s->metric = metric;
    s->quant = quant;
    s->keep_raw = keep_raw;
    s->k = ss_kernels_best();
    switch (quant) {
    case SS_QUANT_NONE: s->code_size = (size_t)dim * 4; break;
    case SS_QUANT_FP16: s->code_size = (size_t)dim * 2; break;
    case SS_QUANT_INT8: s->code_size = (size_t)dim; break;
    case SS_QUANT_BINARY:
        s->nwords = ((size_t)dim + 63) / 64;
        s->code_size = s->nwords * 8;
        break;
    }
    s->trained = quant == SS_QUANT_NONE || quant == SS_QUANT_FP16;
    if (quant == SS_QUANT_INT8) {
        s->q_lo = calloc((size_t)dim, sizeof(float));
        s->q_scale = calloc((size_t)dim, sizeof(float));
        if (!s->q_lo || !s->q_scale) return SS_ERR_NOMEM;
    } else if (quant == SS_QUANT_BINARY) {
        s->q_mean = calloc((size_t)dim, sizeof(float));
        if (!s->q_mean) return SS_ERR_NOMEM;
    }
    return SS_OK;
}

int ss__store_in_map(const ss_store *s, const void *p) {
    return s->map && (const char *)p >= (const char *)s->map && (const char *)p < (const char *)s->map + s->map_size;
}

void ss__store_free(ss_store *s) {
    if (!s->arrays_mapped) {
        free(s->codes);
        free(s->raw);
        free(s->aux);
        free(s->ids);
        free(s->state);
    }
    free(s->freel);
    free(s->hkeys);
    free(s->hvals);
    if (!ss__store_in_map(s, s->q_lo)) free(s->q_lo);
    if (!ss__store_in_map(s, s->q_scale)) free(s->q_scale);
    if (!ss__store_in_map(s, s->q_mean)) free(s->q_mean);
    if (s->map) munmap(s->map, s->map_size);
    memset(s, 0, sizeof *s);
}

static void *grow_array(const void *old, size_t used_bytes, size_t new_bytes) {
    void *p = ss__alloc_big(new_bytes);
    if (!p) return NULL;
    if (used_bytes) memcpy(p, old, used_bytes);
    return p;
}

ss_status ss__store_grow(ss_store *s, size_t need, ss_error *err) {
    if (need <= s->cap) return SS_OK;
    size_t ncap = s->cap < 1024 ? 1024 : s->cap;
    while (ncap < need) ncap += ncap / 2;
    size_t n = s->n, dim = (size_t)s->dim;
    void *codes = grow_array(s->codes, n * s->code_size, ncap * s->code_size);
    void *raw = s->keep_raw ? grow_array(s->raw, n * dim * 4, ncap * dim * 4) : NULL;
    void *aux = grow_array(s->aux, n * 4, ncap * 4);
    void *ids = grow_array(s->ids, n * 8, ncap * 8);
    void *state = grow_array(s->state, n, ncap);
    if (!codes || (s->keep_raw && !raw) || !aux || !ids || !state) {
        free(codes), free(raw), free(aux), free(ids), free(state);
        return ss_fail(err, SS_ERR_NOMEM, "ss_index_add: out of memory growing the index to %zu vectors of %d dims",
                       ncap, s->dim);
    }
    if (!s->arrays_mapped) free(s->codes), free(s->raw), free(s->aux), free(s->ids), free(s->state);
    s->codes = codes, s->raw = raw, s->aux = aux, s->ids = ids, s->state = state;
    s->cap = ncap;
    s->arrays_mapped = 0;
    return SS_OK;
}

/* ------------------------------------------------------------ id map */

#define HK_EMPTY INT64_MIN
#define HK_TOMB (INT64_MIN + 1)

static inline size_t hslot(int64_t key, size_t cap) {
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

static int idmap_rehash(ss_store *s, size_t ncap) {
    int64_t *nk = malloc(ncap * sizeof *nk);
    uint32_t *nv = malloc(ncap * sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return -1;
    }
    for (size_t i = 0; i < ncap; i++) nk[i] = HK_EMPTY;
    for (size_t i = 0; i < s->hcap; i++) {
        if (s->hkeys[i] == HK_EMPTY || s->hkeys[i] == HK_TOMB) continue;
        size_t j = hslot(s->hkeys[i], ncap);
        while (nk[j] != HK_EMPTY) j = (j + 1) & (ncap - 1);
        nk[j] = s->hkeys[i];
        nv[j] = s->hvals[i];
    }
    free(s->hkeys);
    free(s->hvals);
    s->hkeys = nk;
    s->hvals = nv;
    s->hcap = ncap;
    s->htomb = 0;
    return 0;
}

long ss__idmap_get(const ss_store *s, int64_t key) {
    if (!s->hcap) return -1;
    size_t j = hslot(key, s->hcap);
    for (;;) {
        if (s->hkeys[j] == key) return s->hvals[j];
        if (s->hkeys[j] == HK_EMPTY) return -1;
        j = (j + 1) & (s->hcap - 1);
    }
}

int ss__idmap_put(ss_store *s, int64_t key, uint32_t val) {
    if ((s->hcount + s->htomb + 1) * 2 > s->hcap) {
        size_t ncap = 64;
        while (ncap < (s->hcount + 1) * 4) ncap *= 2;
        if (idmap_rehash(s, ncap)) return -1;
    }
    size_t j = hslot(key, s->hcap), tomb = (size_t)-1;
    for (;;) {
        if (s->hkeys[j] == key) {
            s->hvals[j] = val;
            return 0;
        }
        if (s->hkeys[j] == HK_TOMB && tomb == (size_t)-1) tomb = j;
        if (s->hkeys[j] == HK_EMPTY) break;
        j = (j + 1) & (s->hcap - 1);
    }
    if (tomb != (size_t)-1) {
        j = tomb;
        s->htomb--;
    }
    s->hkeys[j] = key;
    s->hvals[j] = val;
    s->hcount = s->hcount + 1;
    return 0;
}

void ss__idmap_del(ss_store *s, int64_t key) {
    if (!s->hcap) return;
    size_t j = hslot(key, s->hcap);
    for (;;) {
        if (s->hkeys[j] == key) {
            s->hkeys[j] = HK_TOMB;
            s->hcount = s->hcount - 1;
            s->htomb++;
            return;
        }
        if (s->hkeys[j] == HK_EMPTY) return;
        j = (j + 1) & (s->hcap - 1);
    }
}

int ss__freel_push(ss_store *s, uint32_t slot) {
    if (s->nfree == s->freecap) {
        size_t nc = s->freecap ? s->freecap * 2 : 256;
        uint32_t *f = realloc(s->freel, nc * sizeof *f);
        if (!f) return -1;
        s->freel = f;
        s->freecap = nc;
    }
    s->freel[s->nfree++] = slot;
    return 0;
}

/* ------------------------------------------------------------ distances */

static void dequant(const ss_store *s, const uint8_t *code, float *out) {
    int d = s->dim;
    switch (s->quant) {
    case SS_QUANT_NONE: memcpy(out, code, (size_t)d * 4); break;
    case SS_QUANT_FP16:
        for (int j = 0; j < d; j++) out[j] = ss_half_to_float(((const uint16_t *)code)[j]);
        break;
    case SS_QUANT_INT8:
        for (int j = 0; j < d; j++) out[j] = s->q_lo[j] + s->q_scale[j] * (float)code[j];
        break;
    case SS_QUANT_BINARY: {
        /* +-1 around the mean, scaled to unit length */
        float a = 1.0f / sqrtf((float)d);
        const uint64_t *b = (const uint64_t *)code;
        for (int j = 0; j < d; j++) out[j] = ((b[j >> 6] >> (j & 63)) & 1) ? a : -a;
        break;
    }
    }
}

const float *ss__vec_f32(const ss_store *s, uint32_t slot, float *buf) {
    if (s->quant == SS_QUANT_NONE) return (const float *)(s->codes + (size_t)slot * s->code_size);
    if (s->keep_raw) return s->raw + (size_t)slot * s->dim;
    dequant(s, s->codes + (size_t)slot * s->code_size, buf);
    return buf;
}

void ss__store_put(ss_store *s, uint32_t slot, const float *v) {
    int d = s->dim;
    uint8_t *code = s->codes + (size_t)slot * s->code_size;
    float nn = 0;
    switch (s->quant) {
    case SS_QUANT_NONE:
        memcpy(code, v, (size_t)d * 4);
        for (int j = 0; j < d; j++) nn += v[j] * v[j];
        break;
    case SS_QUANT_FP16:
        for (int j = 0; j < d; j++) {
            uint16_t h = ss_float_to_half(v[j]);
            ((uint16_t *)code)[j] = h;
            float f = ss_half_to_float(h);
            nn += f * f;
        }
        break;
    case SS_QUANT_INT8:
        for (int j = 0; j < d; j++) {
            float c = s->q_scale[j] > 0 ? (v[j] - s->q_lo[j]) / s->q_scale[j] : 0;
            c = c < 0 ? 0 : c > 255 ? 255 : c;
            code[j] = (uint8_t)lrintf(c);
            float f = s->q_lo[j] + s->q_scale[j] * (float)code[j];
            nn += f * f;
        }
        break;
    case SS_QUANT_BINARY: {
        uint64_t *b = (uint64_t *)code;
        memset(b, 0, s->code_size);
        for (int j = 0; j < d; j++)
            if (v[j] > s->q_mean[j]) b[j >> 6] |= 1ull << (j & 63);
        nn = 1;
        break;
    }
    }
    s->aux[slot] = nn;
    if (s->keep_raw) memcpy(s->raw + (size_t)slot * d, v, (size_t)d * 4);
}

void ss__store_train(ss_store *s, const float *vecs, size_t n) {
    int d = s->dim;
    if (s->quant == SS_QUANT_INT8) {
        for (int j = 0; j < d; j++) s->q_lo[j] = INFINITY, s->q_scale[j] = -INFINITY;
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++) {
                float v = vecs[i * (size_t)d + j];
                if (v < s->q_lo[j]) s->q_lo[j] = v;
                if (v > s->q_scale[j]) s->q_scale[j] = v; /* max for now */
            }
        if (n < 64) {
            /* too few vectors for per-dimension ranges: one symmetric range
             * 1.5x the largest magnitude seen, for every dimension */
            float mx = 1e-6f;
            for (size_t i = 0; i < n * (size_t)d; i++) mx = fabsf(vecs[i]) > mx ? fabsf(vecs[i]) : mx;
            for (int j = 0; j < d; j++) s->q_lo[j] = -1.5f * mx, s->q_scale[j] = 1.5f * mx;
        }
        for (int j = 0; j < d; j++) {
            float lo = s->q_lo[j], hi = s->q_scale[j];
            if (!(hi > lo)) hi = lo + 1e-6f;
            /* widen a little: later batches may step slightly outside */
            float pad = (hi - lo) * 0.02f;
            s->q_lo[j] = lo - pad;
            s->q_scale[j] = (hi - lo + 2 * pad) / 255.0f;
        }
    } else if (s->quant == SS_QUANT_BINARY) {
        for (int j = 0; j < d; j++) s->q_mean[j] = 0;
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++) s->q_mean[j] += vecs[i * (size_t)d + j];
        for (int j = 0; j < d; j++) s->q_mean[j] = n >= 64 ? s->q_mean[j] / (float)n : 0; /* few: sign bits */
    }
    s->trained = 1;
}

void ss__prep_query(const ss_store *s, const float *q, qctx *c, int8_t *qi8, uint64_t *qb) {
    int d = s->dim;
    c->q = q;
    float qq = 0;
    for (int j = 0; j < d; j++) qq += q[j] * q[j];
    c->qq = qq;
    c->qi8 = NULL;
    c->qb = NULL;
    c->asym = 0;
    c->lut = NULL;
    if (s->quant == SS_QUANT_INT8) {
        float mx = 0, bias = 0;
        for (int j = 0; j < d; j++) {
            float w = fabsf(q[j] * s->q_scale[j]);
            if (w > mx) mx = w;
            bias += q[j] * s->q_lo[j];
        }
        float t = mx > 0 ? mx / 127.0f : 1.0f;
        for (int j = 0; j < d; j++) qi8[j] = (int8_t)lrintf(q[j] * s->q_scale[j] / t);
        c->t = t;
        c->bias = bias;
        c->qi8 = qi8;
    } else if (s->quant == SS_QUANT_BINARY) {
        memset(qb, 0, s->nwords * 8);
        for (int j = 0; j < d; j++)
            if (q[j] > s->q_mean[j]) qb[j >> 6] |= 1ull << (j & 63);
        c->qb = qb;
        c->asym = ss__binary_asym(s);
        float qs = 0;
        for (int j = 0; j < d; j++) qs += q[j];
        c->qsum = qs;
    }
}

int ss__normalise_into(const float *v, float *out, int d) {
    double ss = 0;
    for (int j = 0; j < d; j++) ss += (double)v[j] * v[j];
    if (ss == 0) return -1;
    double norm = sqrt(ss);
    float inv = (float)(1.0 / norm);
    if (isfinite(inv)) {
        for (int j = 0; j < d; j++) out[j] = v[j] * inv;
    } else {
        for (int j = 0; j < d; j++) out[j] = (float)((double)v[j] / norm);
    }
    return 0;
}
