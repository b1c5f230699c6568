/* store.h — the index's storage (FAISS's "storage" of an IndexHNSW): one
 * slot per vector holding its code (fp32 / fp16 / int8 / binary), an optional
 * fp32 copy for rescoring, the squared norm of the stored vector, the user id
 * and a state (LIVE / DELETED / PENDING); the quantiser's parameters; the
 * id -> slot map; and the free list of tombstoned slots.
 *
 * The store knows nothing of graphs or searches: the flat scan and the
 * distance computer (distance.h) read it, the dispatcher (index.c) writes it.
 *
 * Concurrency: the caller (index.c) serialises writers; slot arrays are
 * replaced only by ss__store_grow, which the caller runs under its exclusive
 * lock. n is published with a release store (searches load it with
 * acquire); ss_index_get_stats reads a copy of the counters that the index
 * publishes after each write, never these fields. */
#ifndef SS_INDEX_STORE_H
#define SS_INDEX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "index/kernels.h"
#include "semsearch.h"

enum { ST_LIVE = 0, ST_DELETED = 1, ST_PENDING = 2 };

typedef struct ss_store {
    /* layout, fixed at creation */
    int dim;
    ss_metric metric;
    ss_quant quant;
    int keep_raw; /* quantised: an fp32 copy per slot for rescoring */
    const ss_kernels *k;
    size_t code_size, nwords;
    /* quantiser (trained on the first batch added) */
    int trained;
    float *q_lo, *q_scale, *q_mean;
    /* slots */
    size_t cap, n;    /* allocated / in use (n published with release)     */
    uint8_t *codes;   /* cap * code_size                                    */
    float *raw;       /* cap * dim, when keep_raw                           */
    float *aux;       /* per slot: ||x||^2 of the stored (dequantised) vector */
    int64_t *ids;     /* slot -> user id                                    */
    uint8_t *state;   /* ST_*                                               */
    uint32_t *freel;  /* tombstoned slots to reuse                          */
    size_t nfree, freecap;
    int64_t *hkeys;   /* id -> slot open-addressing map                     */
    uint32_t *hvals;
    size_t hcap, hcount, htomb;
    size_t n_live, n_deleted;
    int64_t next_id;
    int arrays_mapped; /* slot arrays point into map (not owned)            */
    void *map;         /* the loaded file, when loaded (MAP_PRIVATE)        */
    size_t map_size;
} ss_store;

/* Fill the layout fields and allocate the quantiser; arrays stay empty. */
ss_status ss__store_init(ss_store *s, int dim, ss_metric metric, ss_quant quant, int keep_raw);
/* Free everything the store owns, and its file mapping. */
void ss__store_free(ss_store *s);
/* 1 if p lies inside the store's file mapping (then it is not freed). */
int ss__store_in_map(const ss_store *s, const void *p);
/* Make room for `need` slots (arrays replaced: caller holds readers off). */
ss_status ss__store_grow(ss_store *s, size_t need, ss_error *err);

/* id map */
long ss__idmap_get(const ss_store *s, int64_t key);
int ss__idmap_put(ss_store *s, int64_t key, uint32_t val);
void ss__idmap_del(ss_store *s, int64_t key);
/* Push a slot on the free list (-1: out of memory). */
int ss__freel_push(ss_store *s, uint32_t slot);

/* quantiser */
void ss__store_train(ss_store *s, const float *vecs, size_t n);
/* Encode one (already normalised) vector into slot; sets aux. */
void ss__store_put(ss_store *s, uint32_t slot, const float *v);
/* fp32 view of a slot: raw, the code itself (fp32), or dequantised into buf. */
const float *ss__vec_f32(const ss_store *s, uint32_t slot, float *buf);
static inline int ss__has_f32(const ss_store *s) { return s->quant == SS_QUANT_NONE || s->keep_raw; }
/* Binary codes are ranked by the fp32 query against the code when fp32 is
 * kept for rescoring and the metric is dot / cosine (see ss__dist). */
static inline int ss__binary_asym(const ss_store *s) {
    return s->quant == SS_QUANT_BINARY && s->keep_raw && s->metric != SS_METRIC_L2;
}

/* Unit-normalise v into out (the sum of squares in double). Returns -1 for
 * a zero vector. A tiny finite vector such as [1e-40, 0, ...], whose 1/|v|
 * overflows a float, is divided by |v| in double instead, so it normalises to
 * its direction ([1, 0, ...]) rather than to inf. */
int ss__normalise_into(const float *v, float *out, int d);

/* ---------------------------------------------------------------- queries */

/* A prepared query. */
typedef struct qctx {
    const float *q; /* fp32, normalised for cosine */
    float qq;       /* ||q||^2 */
    int8_t *qi8;    /* int8: quantised q * scale */
    float t, bias;
    uint64_t *qb;     /* binary code */
    int asym;         /* binary: rank by q . (2b - 1) (fp32 kept, dot / cosine) */
    float qsum;       /* binary: sum_j q_j */
    const float *lut; /* binary asym: byte table of q (ss_bits_lut_build), or NULL */
} qctx;

/* Prepare a query: q must be normalised already for cosine. qi8 (dim bytes)
 * and qb (nwords words) are buffers for the int8 / binary forms. */
void ss__prep_query(const ss_store *s, const float *q, qctx *c, int8_t *qi8, uint64_t *qb);

static inline uint8_t st_load(const ss_store *s, uint32_t slot) {
    return __atomic_load_n(&s->state[slot], __ATOMIC_ACQUIRE);
}

/* A distance from a dot product q.v: l2 is |q|^2 - 2 q.v + |v|^2 (aux holds
 * |v|^2 of the stored vector), dot / cosine are -q.v (smaller is closer). */
static inline float ss__dot_dist(const ss_store *s, const qctx *c, float dot, uint32_t slot) {
    return s->metric == SS_METRIC_L2 ? c->qq - 2 * dot + s->aux[slot] : -dot;
}

/* int8 codes against the quantised query: q.v = bias + t * sum_j code_j q8_j */
static inline float ss__dist_int8(const ss_store *s, const qctx *c, uint32_t slot) {
    const uint8_t *code = s->codes + (size_t)slot * s->code_size;
    return ss__dot_dist(s, c, c->bias + c->t * (float)s->k->dot_u8s8(code, c->qi8, (size_t)s->dim), slot);
}

float ss__dist(const ss_store *s, const qctx *c, uint32_t slot);        /* search distance (codes) */
float ss__dist_exact(const ss_store *s, const float *q, uint32_t slot); /* fp32 (raw) distance */

/* Allow-list test of one id. */
static inline int filt_allows(const ss_filter *f, int64_t id) {
    if (!f) return 1;
    if (f->bits) {
        if (id < 0 || id >= f->nbits) return 0;
        if (!((f->bits[id >> 6] >> (id & 63)) & 1)) return 0;
    }
    if (f->allow && !f->allow(f->user, id)) return 0;
    return 1;
}

#endif
