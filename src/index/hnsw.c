/* hnsw.c — the HNSW graph (Malkov & Yashunin): level generation, insertion
 * with the neighbour-selection heuristic, multi-threaded linking, and the
 * beam search used by queries (with allow-list and tombstone handling).
 *
 * Link lists are [count, id0, id1, ...]; every access goes through atomics so
 * a search may run while writers link new nodes: ids are stored first and the
 * count last (release), readers load the count with acquire. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_internal.h"

uint32_t *ss__links(const ss_index *x, uint32_t s, int level) {
    if (level == 0) return x->d.links0 + (size_t)s * (size_t)(1 + x->m0);
    return x->d.upper[s] + (size_t)(level - 1) * (size_t)(1 + x->m);
}

static inline uint32_t ld(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint32_t ld_acq(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void st_rel(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

int ss__hnsw_random_level(const ss_index *x, uint32_t slot) {
    uint64_t z = x->seed + 0x9E3779B97F4A7C15ull * ((uint64_t)slot + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double u = ((double)(z >> 11) + 1.0) / 9007199254740993.0; /* (0, 1] */
    int lv = (int)(-log(u) * x->level_mult);
    return lv > SS_MAX_LEVEL ? SS_MAX_LEVEL : lv;
}

/* ---------------------------------------------------------------- heaps */

static inline void minh_push(cand *h, int *n, cand c) {
    int i = (*n)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (h[p].d <= c.d) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}
static inline cand minh_pop(cand *h, int *n) {
    cand top = h[0], last = h[--(*n)];
    int i = 0, m = *n;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, b = i;
        float bd = last.d;
        if (l < m && h[l].d < bd) b = l, bd = h[l].d;
        if (r < m && h[r].d < bd) b = r;
        if (b == i) break;
        h[i] = h[b];
        i = b;
    }
    if (m) h[i] = last;
    return top;
}
static inline void maxh_push(cand *h, int *n, cand c) {
    int i = (*n)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (h[p].d >= c.d) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}
static inline cand maxh_pop(cand *h, int *n) {
    cand top = h[0], last = h[--(*n)];
    int i = 0, m = *n;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, b = i;
        float bd = last.d;
        if (l < m && h[l].d > bd) b = l, bd = h[l].d;
        if (r < m && h[r].d > bd) b = r;
        if (b == i) break;
        h[i] = h[b];
        i = b;
    }
    if (m) h[i] = last;
    return top;
}

/* ---------------------------------------------------------------- distances */

typedef struct dsrc {
    const ss_index *x;
    const qctx *c;
    const float *q;
    int exact;
    /* fast path: fp32 codes scored straight from the code array */
    float (*f32)(const float *, const float *, size_t);
    const uint8_t *codes;
    size_t cs, dim;
    float sign;
    int int8; /* fast path: int8 codes against the quantised query */
} dsrc;

static inline void dsrc_init(dsrc *ds, const ss_index *x, const qctx *c, const float *q, int exact) {
    memset(ds, 0, sizeof *ds);
    ds->x = x, ds->c = c, ds->q = q, ds->exact = exact;
    if (x->quant == SS_QUANT_NONE) {
        ds->f32 = x->metric == SS_METRIC_L2 ? x->k->l2_f32 : x->k->dot_f32;
        ds->sign = x->metric == SS_METRIC_L2 ? 1.0f : -1.0f;
        ds->codes = x->d.codes, ds->cs = x->code_size, ds->dim = (size_t)x->dim;
    } else {
        ds->int8 = x->quant == SS_QUANT_INT8 && !exact;
    }
}

static inline float dget(const dsrc *ds, uint32_t s) {
    if (ds->f32) return ds->sign * ds->f32(ds->q, (const float *)(ds->codes + (size_t)s * ds->cs), ds->dim);
    if (ds->int8) return ss__dist_int8(ds->x, ds->c, s);
    return ds->exact ? ss__dist_exact(ds->x, ds->q, s) : ss__dist(ds->x, ds->c, s);
}

/* distance between two stored nodes (graph construction) */
static float nn_dist(const ss_index *x, uint32_t a, uint32_t b, scratch *sc) {
    if (x->quant == SS_QUANT_BINARY && !x->keep_raw)
        return (float)x->k->hamming((const uint64_t *)(x->d.codes + (size_t)a * x->code_size),
                                    (const uint64_t *)(x->d.codes + (size_t)b * x->code_size), x->nwords);
    const float *va = ss__vec_f32(x, a, sc->fbuf + 2 * (size_t)x->dim);
    const float *vb = ss__vec_f32(x, b, sc->fbuf + 3 * (size_t)x->dim);
    return x->metric == SS_METRIC_L2 ? x->k->l2_f32(va, vb, (size_t)x->dim)
                                     : -x->k->dot_f32(va, vb, (size_t)x->dim);
}

static inline void prefetch_code(const ss_index *x, uint32_t s) {
    const char *p = (const char *)x->d.codes + (size_t)s * x->code_size;
    __builtin_prefetch(p);
    if (x->code_size > 64) __builtin_prefetch(p + 64);
}

/* the whole vector (the next one to be scored) */
static inline void prefetch_full(const ss_index *x, uint32_t s) {
    const char *p = (const char *)x->d.codes + (size_t)s * x->code_size;
    for (size_t o = 128; o < x->code_size; o += 64) __builtin_prefetch(p + o);
}

static inline int visit(scratch *sc, uint32_t s) {
    if (s >= sc->tags_cap) return 0; /* appeared after this search started */
    if (sc->tags[s] == sc->epoch) return 0;
    sc->tags[s] = sc->epoch;
    return 1;
}

static void new_epoch(scratch *sc) {
    if (++sc->epoch == 0) {
        memset(sc->tags, 0, sc->tags_cap * sizeof *sc->tags);
        sc->epoch = 1;
    }
}

/* Greedy descent at one upper level. */
static uint32_t greedy(const ss_index *x, const dsrc *ds, uint32_t cur, float *curd, int level, size_t n) {
    int changed = 1;
    while (changed) {
        changed = 0;
        const uint32_t *l = ss__links(x, cur, level);
        uint32_t cnt = ld_acq(l);
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t nb = ld(l + 1 + i);
            if (nb >= n || st_load(x, nb) == ST_PENDING) continue; /* in flight: lists incomplete */
            float d = dget(ds, nb);
            if (d < *curd) {
                *curd = d;
                cur = nb;
                changed = 1;
            }
        }
    }
    return cur;
}

/* Beam search at one level. Returnable nodes (mode: 0 = every node but
 * `self`, for construction; 1 = live and allowed, for queries) fill the
 * result max-heap h2 of size ef; returns its size, or -1 when a filtered walk
 * ran over its budget. */
static int search_layer(const ss_index *x, const dsrc *ds, uint32_t ep, float epd, int ef, int level, scratch *sc,
                        int mode, uint32_t self, const ss_filter *f, size_t n) {
    cand *cands = sc->h1, *res = sc->h2;
    int nc = 0, nr = 0;
    new_epoch(sc);
    visit(sc, ep);
    minh_push(cands, &nc, (cand){epd, ep});
    const int64_t *ids = x->d.ids;
#define RETURNABLE(s)                                                                                        \
    (mode == 0 ? (s) != self : (st_load(x, (s)) == ST_LIVE && (!f || filt_allows(f, ids[(s)]))))
    if (RETURNABLE(ep)) maxh_push(res, &nr, (cand){epd, ep});
    float lower = nr >= ef ? res[0].d : INFINITY;
    size_t budget = f ? (n / 4 > (size_t)ef * 8 ? n / 4 : (size_t)ef * 8) : (size_t)-1, visits = 0;
    uint32_t nbuf[1024];
    int maxc = level == 0 ? x->m0 : x->m;
    while (nc) {
        cand c = minh_pop(cands, &nc);
        if (c.d > lower && nr >= ef) break;
        if (nc) __builtin_prefetch(ss__links(x, cands[0].s, level));
        /* a node still being linked (other than the start) is scored but not expanded */
        if (c.s != ep && st_load(x, c.s) == ST_PENDING) continue;
        const uint32_t *l = ss__links(x, c.s, level);
        uint32_t cnt = ld_acq(l);
        if (cnt > (uint32_t)maxc) cnt = (uint32_t)maxc;
        int nn = 0;
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t nb = ld(l + 1 + i);
            if (nb >= n || !visit(sc, nb)) continue;
            nbuf[nn++] = nb;
            prefetch_code(x, nb);
        }
        visits += (size_t)nn;
        for (int i = 0; i < nn; i++) {
            uint32_t nb = nbuf[i];
            if (i + 1 < nn) prefetch_full(x, nbuf[i + 1]);
            float d = dget(ds, nb);
            if (nr < ef || d < lower) {
                if ((size_t)nc >= sc->h1cap) {
                    cand *g = realloc(sc->h1, sc->h1cap * 2 * sizeof *g);
                    if (!g) continue;
                    sc->h1 = cands = g;
                    sc->h1cap *= 2;
                }
                minh_push(cands, &nc, (cand){d, nb});
                if (RETURNABLE(nb)) {
                    maxh_push(res, &nr, (cand){d, nb});
                    if (nr > ef) maxh_pop(res, &nr);
                    if (nr >= ef) lower = res[0].d;
                }
            }
        }
        if (visits > budget) return -1;
    }
#undef RETURNABLE
    return nr;
}

/* Sort the max-heap h2 ascending in place (heap-sort by popping). */
static void drain_sorted(cand *res, int nr, cand *out) {
    int n = nr;
    while (n) {
        cand c = maxh_pop(res, &n);
        out[n] = c;
    }
}

/* hnswlib's getNeighborsByHeuristic2: cand sorted ascending by distance to the
 * base point; keep c unless an already kept node is closer to c than the base. */
static int select_heuristic(const ss_index *x, cand *cs, int n, int M, scratch *sc, cand *out) {
    if (n <= M) {
        memcpy(out, cs, (size_t)n * sizeof *cs);
        return n;
    }
    int k = 0;
    for (int i = 0; i < n && k < M; i++) {
        int good = 1;
        for (int j = 0; j < k; j++)
            if (nn_dist(x, cs[i].s, out[j].s, sc) < cs[i].d) {
                good = 0;
                break;
            }
        if (good) out[k++] = cs[i];
    }
    return k;
}

static void sort_asc(cand *a, int n) {
    for (int i = 1; i < n; i++) {
        cand c = a[i];
        int j = i - 1;
        while (j >= 0 && a[j].d > c.d) a[j + 1] = a[j], j--;
        a[j + 1] = c;
    }
}

/* Add `slot` to nb's list at `level`, pruning with the heuristic when full. */
static void link_back(ss_index *x, uint32_t nb, uint32_t slot, float d, int level, scratch *sc) {
    int maxc = level == 0 ? x->m0 : x->m;
    pthread_mutex_t *mu = &x->stripes[nb % SS_NSTRIPES];
    pthread_mutex_lock(mu);
    uint32_t *l = ss__links(x, nb, level);
    uint32_t cnt = ld(l);
    for (uint32_t i = 0; i < cnt; i++)
        if (ld(l + 1 + i) == slot) {
            pthread_mutex_unlock(mu);
            return;
        }
    if (cnt < (uint32_t)maxc) {
        __atomic_store_n(l + 1 + cnt, slot, __ATOMIC_RELAXED);
        st_rel(l, cnt + 1);
    } else {
        cand cs[1025], out[1025];
        int n = 0;
        cs[n++] = (cand){d, slot};
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t o = ld(l + 1 + i);
            cs[n++] = (cand){nn_dist(x, nb, o, sc), o};
        }
        sort_asc(cs, n);
        int k = select_heuristic(x, cs, n, maxc, sc, out);
        for (int i = 0; i < k; i++) __atomic_store_n(l + 1 + i, out[i].s, __ATOMIC_RELEASE);
        st_rel(l, (uint32_t)k);
    }
    pthread_mutex_unlock(mu);
}

void ss__hnsw_insert(ss_index *x, uint32_t slot, scratch *sc) {
    idx_data *d = &x->d;
    size_t n = __atomic_load_n(&d->n, __ATOMIC_ACQUIRE);
    int level = d->levels[slot];
    qctx c;
    dsrc ds;
    if (ss__has_f32(x)) {
        dsrc_init(&ds, x, &c, ss__vec_f32(x, slot, NULL), 1);
    } else {
        float *q = sc->fbuf;
        memcpy(q, ss__vec_f32(x, slot, sc->fbuf + 2 * (size_t)x->dim), (size_t)x->dim * 4);
        ss__prep_query(x, q, &c, (int8_t *)(sc->fbuf + x->dim), (uint64_t *)(sc->fbuf + x->dim));
        dsrc_init(&ds, x, &c, q, 0);
    }
    uint64_t ep = __atomic_load_n(&d->ep, __ATOMIC_ACQUIRE);
    int locked = 0;
    if (ep == 0 || level > (int)(ep >> 32) - 1) {
        pthread_mutex_lock(&x->entry_mu);
        locked = 1;
        ep = __atomic_load_n(&d->ep, __ATOMIC_ACQUIRE);
        if (ep == 0) {
            __atomic_store_n(&d->ep, (uint64_t)slot | ((uint64_t)(level + 1) << 32), __ATOMIC_RELEASE);
            pthread_mutex_unlock(&x->entry_mu);
            return;
        }
        if (level <= (int)(ep >> 32) - 1) {
            pthread_mutex_unlock(&x->entry_mu);
            locked = 0;
        }
    }
    uint32_t cur = (uint32_t)ep;
    int top = (int)(ep >> 32) - 1;
    float curd = dget(&ds, cur);
    for (int l = top; l > level; l--) cur = greedy(x, &ds, cur, &curd, l, n);
    cand sel[1025], sorted[2048];
    for (int l = level < top ? level : top; l >= 0; l--) {
        int nr = search_layer(x, &ds, cur, curd, x->ef_c, l, sc, 0, slot, NULL, n);
        if (nr <= 0) continue;
        drain_sorted(sc->h2, nr, sorted);
        int k = select_heuristic(x, sorted, nr, x->m, sc, sel);
        /* own list first (a search reaching this node sees a complete list) */
        pthread_mutex_t *mu = &x->stripes[slot % SS_NSTRIPES];
        pthread_mutex_lock(mu);
        uint32_t *own = ss__links(x, slot, l);
        /* keep links other inserters added to this node meanwhile (for a
         * reused slot: its old links compete, scored against the new vector) */
        uint32_t have = ld(own), maxc = l == 0 ? (uint32_t)x->m0 : (uint32_t)x->m;
        if (have > 0) {
            cand all[1025 + 1025];
            int na = 0;
            for (int i = 0; i < k; i++) all[na++] = sel[i];
            for (uint32_t i = 0; i < have && i < maxc; i++) {
                uint32_t o = ld(own + 1 + i);
                int dup = 0;
                for (int j = 0; j < k; j++) dup |= sel[j].s == o;
                if (!dup && o != slot) all[na++] = (cand){nn_dist(x, slot, o, sc), o};
            }
            sort_asc(all, na);
            if ((uint32_t)na > maxc) na = select_heuristic(x, all, na, (int)maxc, sc, sel);
            else memcpy(sel, all, (size_t)na * sizeof *all);
            for (int i = 0; i < na; i++) __atomic_store_n(own + 1 + i, sel[i].s, __ATOMIC_RELEASE);
            st_rel(own, (uint32_t)na);
            k = na;
        } else {
            for (int i = 0; i < k; i++) __atomic_store_n(own + 1 + i, sel[i].s, __ATOMIC_RELEASE);
            st_rel(own, (uint32_t)k);
        }
        pthread_mutex_unlock(mu);
        for (int i = 0; i < k; i++) link_back(x, sel[i].s, slot, sel[i].d, l, sc);
        cur = sorted[0].s;
        curd = sorted[0].d;
    }
    if (locked) {
        if (level > (int)(__atomic_load_n(&d->ep, __ATOMIC_ACQUIRE) >> 32) - 1)
            __atomic_store_n(&d->ep, (uint64_t)slot | ((uint64_t)(level + 1) << 32), __ATOMIC_RELEASE);
        pthread_mutex_unlock(&x->entry_mu);
    }
}

int ss__hnsw_search(const ss_index *x, const qctx *c, int ef, int want, const ss_filter *f, scratch *sc,
                    cand *out) {
    size_t n = __atomic_load_n(&x->d.n, __ATOMIC_ACQUIRE);
    uint64_t ep = __atomic_load_n(&x->d.ep, __ATOMIC_ACQUIRE);
    if (!ep) return 0;
    dsrc ds;
    dsrc_init(&ds, x, c, c->q, 0);
    uint32_t cur = (uint32_t)ep;
    int top = (int)(ep >> 32) - 1;
    float curd = dget(&ds, cur);
    for (int l = top; l > 0; l--) cur = greedy(x, &ds, cur, &curd, l, n);
    int nr = search_layer(x, &ds, cur, curd, ef, 0, sc, 1, UINT32_MAX, f, n);
    if (nr < 0) return -1;
    /* out holds at least max(ef, want) entries */
    drain_sorted(sc->h2, nr, out);
    return nr < want ? nr : want;
}
