/* index_internal.h — the ss_index structure shared by index.c (storage, flat
 * search, add/remove), hnsw.c (graph) and persist.c (file format).
 *
 * Concurrency model
 *  - wmu serialises writers (add / remove / compact / save).
 *  - rw protects the array pointers and vector payloads: readers (search) hold
 *    it shared; a writer takes it exclusively only to grow arrays and to write
 *    vector payloads / ids of the slots it is about to insert; linking new
 *    HNSW nodes then happens under the shared lock, with link lists read and
 *    written through atomics (count stored with release after the ids), so a
 *    search running at the same time sees either the old or the new list.
 *  - state[slot] is LIVE only once a node is fully linked: a search never
 *    returns a PENDING (half-inserted) or DELETED slot.
 */
#ifndef SS_INDEX_INTERNAL_H
#define SS_INDEX_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "index/kernels.h"
#include "semsearch.h"

enum { ST_LIVE = 0, ST_DELETED = 1, ST_PENDING = 2 };
#define SS_NSTRIPES 1024
#define SS_MAX_LEVEL 30

typedef struct cand {
    float d;
    uint32_t s;
} cand;

/* Per-search scratch: visited tags with an epoch, heaps. Pooled per index. */
typedef struct scratch {
    uint16_t *tags;
    size_t tags_cap;
    uint16_t epoch;
    cand *h1, *h2;
    size_t hcap, h1cap;
    float *fbuf; /* 5 * dim floats */
    struct scratch *next;
} scratch;

/* Everything that compact() rebuilds and swaps. */
typedef struct idx_data {
    size_t cap, n;     /* slots allocated / in use (n read atomically)       */
    uint8_t *codes;    /* cap * code_size                                    */
    float *raw;        /* cap * dim, when keep_raw (quantised)               */
    float *aux;        /* per slot: ||x||^2 of the stored (dequantised) vector */
    int64_t *ids;      /* slot -> user id                                    */
    uint8_t *state;    /* ST_*                                              */
    uint8_t *levels;   /* HNSW level of each slot                            */
    uint32_t *links0;  /* cap * (1 + m0): count, ids                        */
    uint32_t **upper;  /* per slot: level * (1 + m) or NULL                  */
    uint64_t ep;       /* entry | (max_level + 1) << 32; 0 = empty graph     */
    uint32_t *freel;   /* free (deleted) slots to reuse                      */
    size_t nfree, freecap;
    int64_t *hkeys;    /* id -> slot open-addressing map (writer-only)       */
    uint32_t *hvals;
    size_t hcap, hcount, htomb;
    size_t n_live, n_deleted;
    int64_t next_id;
    int arrays_mapped; /* arrays point into map (not owned)                  */
} idx_data;

struct ss_index {
    int dim;
    ss_metric metric;
    ss_index_type type;
    ss_quant quant;
    int m, m0, ef_c, ef_s, keep_raw, n_threads;
    float oversample;
    uint64_t seed;
    double level_mult;
    const ss_kernels *k;
    size_t code_size, nwords;
    /* quantiser (trained on the first batch) */
    int trained;
    float *q_lo, *q_scale, *q_mean;
    idx_data d;
    /* file mapping when loaded */
    void *map;
    size_t map_size;
    /* locks */
    pthread_rwlock_t rw;
    pthread_mutex_t wmu, entry_mu, pool_mu;
    pthread_mutex_t stripes[SS_NSTRIPES];
    scratch *pool;
};

/* A prepared query. */
typedef struct qctx {
    const float *q; /* fp32, normalised for cosine */
    float qq;       /* ||q||^2 */
    int8_t *qi8;    /* int8: quantised q * scale */
    float t, bias;
    uint64_t *qb; /* binary code */
    int asym;     /* binary: rank by q . (2b - 1) (fp32 kept, dot / cosine) */
    float qsum;   /* binary: sum_j q_j */
    const float *lut; /* binary asym: byte table of q (ss_bits_lut_build), or NULL */
} qctx;

/* filter helper */
typedef struct filt {
    const ss_filter *f;
} filt;

static inline int filt_allows(const ss_filter *f, int64_t id) {
    if (!f) return 1;
    if (f->bits) {
        if (id < 0 || id >= f->nbits) return 0;
        if (!((f->bits[id >> 6] >> (id & 63)) & 1)) return 0;
    }
    if (f->allow && !f->allow(f->user, id)) return 0;
    return 1;
}

static inline uint8_t st_load(const ss_index *x, uint32_t s) {
    return __atomic_load_n(&x->d.state[s], __ATOMIC_ACQUIRE);
}

/* A distance from a dot product q.v: l2 is |q|^2 - 2 q.v + |v|^2 (aux holds
 * |v|^2 of the stored vector), dot / cosine are -q.v (smaller is closer). */
static inline float ss__dot_dist(const ss_index *x, const qctx *c, float dot, uint32_t s) {
    return x->metric == SS_METRIC_L2 ? c->qq - 2 * dot + x->d.aux[s] : -dot;
}

/* int8 codes against the quantised query: q.v = bias + t * sum_j code_j q8_j */
static inline float ss__dist_int8(const ss_index *x, const qctx *c, uint32_t s) {
    const uint8_t *code = x->d.codes + (size_t)s * x->code_size;
    return ss__dot_dist(x, c, c->bias + c->t * (float)x->k->dot_u8s8(code, c->qi8, (size_t)x->dim), s);
}

/* index.c */
float ss__dist(const ss_index *x, const qctx *c, uint32_t s);      /* search distance */
float ss__dist_exact(const ss_index *x, const float *q, uint32_t s); /* fp32 (raw) distance */
int ss__has_f32(const ss_index *x);
const float *ss__vec_f32(const ss_index *x, uint32_t s, float *buf); /* raw, codes, or dequantised */
void ss__prep_query(const ss_index *x, const float *q, qctx *c, int8_t *qi8, uint64_t *qb);
scratch *ss__scratch_get(ss_index *x);
void ss__scratch_put(ss_index *x, scratch *sc);
int ss__scratch_reserve(scratch *sc, size_t n_slots, size_t heap, int dim);
ss_status ss__alloc_quant(ss_index *x);
void ss__data_free(ss_index *x, idx_data *d);
int ss__idmap_put(idx_data *d, int64_t key, uint32_t val);
ss_index *ss__index_alloc(int dim, const ss_index_options *o, ss_error *err);

/* hnsw.c */
uint32_t *ss__links(const ss_index *x, uint32_t s, int level);
int ss__hnsw_random_level(const ss_index *x, uint32_t slot);
void ss__hnsw_insert(ss_index *x, uint32_t slot, scratch *sc);
/* Search: fills out (sorted ascending by distance) with up to `want` live,
 * allowed slots; returns count, or -1 when the walk gave up (filter too
 * selective) and the caller should scan exactly. */
int ss__hnsw_search(const ss_index *x, const qctx *c, int ef, int want, const ss_filter *f,
                    scratch *sc, cand *out);

/* persist.c */
uint32_t ss__crc32c(uint32_t crc, const void *buf, size_t len);

#endif
