/* distance.h — the distance computer: how the HNSW graph reaches vectors
 * (FAISS's DistanceComputer over an IndexHNSW's storage). The graph code
 * sees slots only through this: the distance from the current query to a
 * slot, between two stored slots, whether a slot may be returned / expanded,
 * and prefetch hints. It reads the store; it never writes it.
 *
 * Header-only and inline on purpose: a graph walk calls dc_query thousands
 * of times per query, and the fp32 / int8 fast paths must stay one call to a
 * kernel. */
#ifndef SS_INDEX_DISTANCE_H
#define SS_INDEX_DISTANCE_H

#include <string.h>

#include "index/store.h"

typedef struct ss_dc {
    const ss_store *s;
    const qctx *c;
    const float *q;
    int exact; /* score q (fp32) exactly against raw / fp32 codes */
    /* fast paths, one kernel call: fp32 vectors (the codes, or the raw fp32
     * copy when exact) and fp16 codes, scored straight from vbase */
    float (*f32)(const float *, const float *, size_t);
    float (*f16)(const float *, const uint16_t *, size_t);
    /* fp32 dot metrics: four vectors against the query in one pass (the
     * kernel table's 4-query kernel with the roles swapped: dot is
     * symmetric), so four vectors' cache misses are in flight at once */
    void (*dot4)(const float *const q[4], const float *b, size_t d, float out[4]);
    const uint8_t *vbase; /* the array dc_query reads (prefetch target)      */
    size_t vstride, dim;  /* bytes per slot in vbase; dimensions            */
    float sign;
    int int8;   /* fast path: int8 codes against the quantised query */
    float *buf; /* 2 * dim floats: dequantisation space for dc_pair */
} ss_dc;

/* A computer for query c (q = c->q, prepared by ss__prep_query) or, with
 * exact, for an fp32 vector q scored against fp32 / raw vectors. buf: 2 * dim
 * floats of scratch for dc_pair. */
static inline void dc_init(ss_dc *dc, const ss_store *s, const qctx *c, const float *q, int exact, float *buf) {
    memset(dc, 0, sizeof *dc);
    dc->s = s, dc->c = c, dc->q = q, dc->exact = exact, dc->buf = buf;
    int l2 = s->metric == SS_METRIC_L2;
    dc->sign = l2 ? 1.0f : -1.0f;
    dc->dim = (size_t)s->dim;
    /* by default the walk reads the codes; exact scoring of a quantised store
     * reads the fp32 copy instead (prefetches must follow it: they once
     * fetched the fp16 codes while construction scored the copy) */
    dc->vbase = s->codes, dc->vstride = s->code_size;
    if (s->quant == SS_QUANT_NONE || (exact && s->keep_raw)) {
        dc->f32 = l2 ? s->k->l2_f32 : s->k->dot_f32;
        if (!l2) dc->dot4 = s->k->dot4_f32;
        if (s->quant != SS_QUANT_NONE) dc->vbase = (const uint8_t *)s->raw, dc->vstride = (size_t)s->dim * sizeof(float);
    } else if (s->quant == SS_QUANT_FP16 && !exact) {
        dc->f16 = l2 ? s->k->l2_f16 : s->k->dot_f16;
    } else {
        dc->int8 = s->quant == SS_QUANT_INT8 && !exact;
    }
}

/* A computer whose query is the stored vector of slot (graph construction):
 * scored exactly when fp32 is at hand, else as a prepared query of its
 * dequantised vector. fbuf: 5 * dim floats (query, its int8 / binary form,
 * dc_pair's space). */
static inline void dc_init_slot(ss_dc *dc, qctx *c, const ss_store *s, uint32_t slot, float *fbuf) {
    size_t dim = (size_t)s->dim;
    if (ss__has_f32(s)) {
        dc_init(dc, s, c, ss__vec_f32(s, slot, NULL), 1, fbuf + 2 * dim);
    } else {
        float *q = fbuf;
        memcpy(q, ss__vec_f32(s, slot, fbuf + 2 * dim), dim * 4);
        ss__prep_query(s, q, c, (int8_t *)(fbuf + dim), (uint64_t *)(fbuf + dim));
        dc_init(dc, s, c, q, 0, fbuf + 2 * dim);
    }
}

/* distance from the query to slot (smaller is closer) */
static inline float dc_query(const ss_dc *dc, uint32_t slot) {
    const uint8_t *v = dc->vbase + (size_t)slot * dc->vstride;
    if (dc->f32) return dc->sign * dc->f32(dc->q, (const float *)v, dc->dim);
    if (dc->f16) return dc->sign * dc->f16(dc->q, (const uint16_t *)v, dc->dim);
    if (dc->int8) return ss__dist_int8(dc->s, dc->c, slot);
    return dc->exact ? ss__dist_exact(dc->s, dc->q, slot) : ss__dist(dc->s, dc->c, slot);
}

/* distances from the query to four slots (dc->dot4 set) */
static inline void dc_query4(const ss_dc *dc, const uint32_t *slot, float out[4]) {
    const float *v[4];
    for (int i = 0; i < 4; i++) v[i] = (const float *)(dc->vbase + (size_t)slot[i] * dc->vstride);
    dc->dot4(v, dc->q, dc->dim, out);
    for (int i = 0; i < 4; i++) out[i] = -out[i];
}

/* distance between two stored slots (graph construction) */
static inline float dc_pair(const ss_dc *dc, uint32_t a, uint32_t b) {
    const ss_store *s = dc->s;
    if (s->quant == SS_QUANT_BINARY && !s->keep_raw)
        return (float)s->k->hamming((const uint64_t *)(s->codes + (size_t)a * s->code_size),
                                    (const uint64_t *)(s->codes + (size_t)b * s->code_size), s->nwords);
    const float *va = ss__vec_f32(s, a, dc->buf);
    const float *vb = ss__vec_f32(s, b, dc->buf + s->dim);
    return s->metric == SS_METRIC_L2 ? s->k->l2_f32(va, vb, (size_t)s->dim) : -s->k->dot_f32(va, vb, (size_t)s->dim);
}

/* slot state: a PENDING slot is still being linked (not expanded, not returned) */
static inline int dc_pending(const ss_dc *dc, uint32_t slot) { return st_load(dc->s, slot) == ST_PENDING; }

/* may slot be returned to a query with filter f (live and allowed) */
static inline int dc_returnable(const ss_dc *dc, uint32_t slot, const ss_filter *f) {
    return st_load(dc->s, slot) == ST_LIVE && (!f || filt_allows(f, dc->s->ids[slot]));
}

static inline void dc_prefetch(const ss_dc *dc, uint32_t slot) {
    const char *p = (const char *)dc->vbase + (size_t)slot * dc->vstride;
    __builtin_prefetch(p);
    if (dc->vstride > 64) __builtin_prefetch(p + 64);
}

/* the whole vector (the next one to be scored) */
static inline void dc_prefetch_full(const ss_dc *dc, uint32_t slot) {
    const char *p = (const char *)dc->vbase + (size_t)slot * dc->vstride;
    for (size_t o = 128; o < dc->vstride; o += 64) __builtin_prefetch(p + o);
}

#endif
