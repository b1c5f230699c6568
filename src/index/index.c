/* index.c — the ss_index object: creation (option checks), the thread and
 * scratch pools, add / remove / compact, contains and stats. Searches are in
 * search.c, files in persist.c. See index_internal.h for the locking. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "index/index_internal.h"

#define SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* Publish the counters ss_index_get_stats reads (it takes no lock). Called by
 * the writer at the end of every change. */
void ss__publish_stats(ss_index *x) {
    const ss_store *d = &x->s;
    size_t per = d->code_size + 4 + 8 + 1 + (d->keep_raw ? (size_t)d->dim * 4 : 0);
    if (x->type == SS_INDEX_HNSW) per += 1 + sizeof(uint32_t *) + (size_t)(1 + x->g.m0) * 4;
    size_t mem = d->cap * per + d->hcap * 12 + d->freecap * 4;
    if (x->type == SS_INDEX_HNSW) mem += x->g.upper_words * 4;
    /* a seqlock (one writer: the caller holds the writer lock), as for the
     * HNSW link lists: stats reads all four from one publication */
    uint32_t seq = x->pub.seq;
    SET(x->pub.seq, seq + 1);
    __atomic_store_n(&x->pub.count, (int64_t)d->hcount, __ATOMIC_RELEASE);
    __atomic_store_n(&x->pub.deleted, (int64_t)d->n_deleted, __ATOMIC_RELEASE);
    __atomic_store_n(&x->pub.slots, (int64_t)d->n, __ATOMIC_RELEASE);
    __atomic_store_n(&x->pub.memory, mem, __ATOMIC_RELEASE);
    __atomic_store_n(&x->pub.seq, seq + 2, __ATOMIC_RELEASE);
}

const char *ss_metric_name(ss_metric m) {
    switch (m) {
    case SS_METRIC_COSINE: return "cosine";
    case SS_METRIC_DOT: return "dot";
    case SS_METRIC_L2: return "l2";
    }
    return "?";
}
const char *ss_quant_name(ss_quant q) {
    switch (q) {
    case SS_QUANT_NONE: return "none";
    case SS_QUANT_FP16: return "fp16";
    case SS_QUANT_INT8: return "int8";
    case SS_QUANT_BINARY: return "binary";
    }
    return "?";
}

/* ------------------------------------------------------------ pools */

scratch *ss__scratch_get(const ss_index *x) {
    idx_sync *y = x->sync;
    pthread_mutex_lock(&y->scratch_mu);
    scratch *sc = y->free_scratch;
    if (sc) y->free_scratch = sc->next;
    pthread_mutex_unlock(&y->scratch_mu);
    if (!sc) sc = calloc(1, sizeof *sc);
    if (sc) sc->fail_grow = x->dbg_fail_grow;
    return sc;
}

void ss__scratch_put(const ss_index *x, scratch *sc) {
    if (!sc) return;
    idx_sync *y = x->sync;
    pthread_mutex_lock(&y->scratch_mu);
    sc->next = y->free_scratch;
    y->free_scratch = sc;
    pthread_mutex_unlock(&y->scratch_mu);
}

ss_pool *ss__index_pool(const ss_index *x) {
    idx_sync *y = x->sync;
    if (x->n_threads <= 1) return NULL;
    pthread_mutex_lock(&y->pool_mu);
    if (!y->pool) {
        y->pool = ss_pool_new(x->n_threads); /* NULL (no memory / threads): work runs on the caller */
        y->own_pool = y->pool != NULL;
    }
    ss_pool *p = y->pool;
    pthread_mutex_unlock(&y->pool_mu);
    return p;
}

/* ------------------------------------------------------------ lifecycle */

void ss__index_threads(ss_index *x, const ss_index_options *o) {
    /* the injected pool's size, else n_threads (0 = all cores), clamped to
     * SS_INDEX_THREADS_PER_CORE x the online cores: more threads than that
     * only add contention (and a request of 1e9 must not try to start them) */
    int cores = ss_online_cpus(), cap = SS_INDEX_THREADS_PER_CORE * cores;
    int nth = o->pool ? ss_pool_threads(o->pool) : o->n_threads > 0 ? o->n_threads : cores;
    x->n_threads = nth > cap ? cap : nth;
    if (o->pool) x->sync->pool = o->pool;
}

ss_index *ss__index_alloc(int dim, const ss_index_options *o, ss_error *err) {
    ss_index_options def = {0};
    if (!o) o = &def;
    if (dim <= 0 || dim > 65536) {
        ss_fail(err, SS_ERR_INVALID, "ss_index_new: dimension %d out of range 1..65536", dim);
        return NULL;
    }
    if ((unsigned)o->metric > SS_METRIC_L2 || (unsigned)o->type > SS_INDEX_HNSW ||
        (unsigned)o->quantize > SS_QUANT_BINARY) {
        ss_fail(err, SS_ERR_INVALID, "ss_index_new: unknown metric (%d), type (%d) or quantisation (%d)",
                (int)o->metric, (int)o->type, (int)o->quantize);
        return NULL;
    }
    if (o->m < 0 || o->m == 1 || o->m > SS_HNSW_MAX_M || o->ef_construction < 0 ||
        o->ef_construction > SS_HNSW_MAX_EFC || o->ef_search < 0) {
        ss_fail(err, SS_ERR_INVALID, "ss_index_new: m=%d must be 2..%d, ef_construction=%d 1..%d, ef_search >= 0",
                o->m, SS_HNSW_MAX_M, o->ef_construction, SS_HNSW_MAX_EFC);
        return NULL;
    }
    if (o->n_threads < 0) {
        ss_fail(err, SS_ERR_INVALID, "ss_index_new: n_threads=%d must be >= 0 (0 = all cores)", o->n_threads);
        return NULL;
    }
    ss_index *x = calloc(1, sizeof *x);
    idx_sync *y = calloc(1, sizeof *y);
    if (!x || !y) {
        free(x), free(y);
        ss_fail(err, SS_ERR_NOMEM, "ss_index_new: out of memory");
        return NULL;
    }
    x->sync = y;
    x->type = o->type;
    x->ef_s = o->ef_search ? o->ef_search : 64;
    x->oversample = o->oversample > 0 ? o->oversample : o->quantize == SS_QUANT_BINARY ? 8.0f : 3.0f;
    ss__index_threads(x, o);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&y->rw, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_rwlock_init(&y->idmap, NULL);
    pthread_mutex_init(&y->wmu, NULL);
    pthread_mutex_init(&y->scratch_mu, NULL);
    pthread_mutex_init(&y->pool_mu, NULL);
    ss__hnsw_init(&x->g, o->m ? o->m : 16, o->ef_construction ? o->ef_construction : 100, o->seed ? o->seed : 42);
    /* int8 / binary keep fp32 unless told not to; fp16 only when asked (keep_fp32 = 1):
     * the walk then reads the half-size fp16 codes and the best k * oversample
     * are rescored in fp32 */
    int keep_raw = ((o->quantize == SS_QUANT_INT8 || o->quantize == SS_QUANT_BINARY) && o->keep_fp32 >= 0) ||
                   (o->quantize == SS_QUANT_FP16 && o->keep_fp32 > 0);
    if (ss__store_init(&x->s, dim, o->metric, o->quantize, keep_raw) != SS_OK) {
        ss_index_free(x);
        ss_fail(err, SS_ERR_NOMEM, "ss_index_new: out of memory");
        return NULL;
    }
    x->info.dim = dim, x->info.metric = o->metric, x->info.quant = o->quantize, x->info.isa = x->s.k->name;
    return x;
}

ss_index *ss_index_new(int dim, const ss_index_options *opts, ss_error *err) {
    return ss__index_alloc(dim, opts, err);
}

void ss_index_free(ss_index *x) {
    if (!x) return;
    idx_sync *y = x->sync;
    ss__ilog_close(x->log);
    ss__hnsw_free(&x->g, &x->s); /* before the store: lists may lie in its mapping */
    ss__store_free(&x->s);
    while (y->free_scratch) {
        scratch *n = y->free_scratch->next;
        ss__scratch_free(y->free_scratch);
        y->free_scratch = n;
    }
    if (y->own_pool) ss_pool_free(y->pool);
    pthread_rwlock_destroy(&y->rw);
    pthread_rwlock_destroy(&y->idmap);
    pthread_mutex_destroy(&y->wmu);
    pthread_mutex_destroy(&y->scratch_mu);
    pthread_mutex_destroy(&y->pool_mu);
    free(y);
    free(x);
}

/* ------------------------------------------------------------ add */

ss_status ss__check_vectors(const char *fn, const float *v, size_t n, int dim, ss_error *err) {
    for (size_t i = 0; i < n; i++) {
        const float *r = v + i * (size_t)dim;
        double ss = 0;
        for (int j = 0; j < dim; j++) {
            if (!isfinite(r[j]))
                return ss_fail(err, SS_ERR_INVALID, "%s: vector %zu (row %zu) has a non-finite value (%g) at dimension %d",
                               fn, i, i, (double)r[j], j);
            ss += (double)r[j] * r[j];
        }
        /* |v|^2 beyond FLT_MAX turns l2 / dot scores into inf - inf = NaN */
        if (!isfinite((float)ss))
            return ss_fail(err, SS_ERR_INVALID, "%s: vector %zu (row %zu): its squared norm %g overflows a float", fn, i,
                           i, ss);
    }
    return SS_OK;
}

typedef struct link_job {
    ss_index *x;
    const uint32_t *slots;
    size_t n;
    size_t next; /* atomic */
} link_job;

/* one pool item: links nodes taken from the shared counter until none are left */
static void link_item(void *arg, size_t item, int thread) {
    (void)item, (void)thread;
    link_job *j = arg;
    ss_index *x = j->x;
    scratch *sc = ss__scratch_get(x);
    if (!sc || ss__scratch_reserve(sc, x->s.n, (size_t)x->g.ef_c + (size_t)x->g.m0 + 2, x->s.dim)) {
        /* out of memory: leave remaining nodes to other workers (and the caller's retry) */
        ss__scratch_put(x, sc);
        return;
    }
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n) break;
        if (ss__hnsw_insert(&x->g, &x->s, j->slots[i], sc) == 0)
            __atomic_store_n(&x->s.state[j->slots[i]], ST_LIVE, __ATOMIC_RELEASE);
    }
    ss__scratch_put(x, sc);
}

ss_status ss__add_locked(ss_index *x, const int64_t *ids, const float *vecs, size_t n, ss_error *err) {
    ss_store *d = &x->s;
    idx_sync *y = x->sync;
    int dim = d->dim, hnsw = x->type == SS_INDEX_HNSW;
    ss_status st = SS_OK;
    float *norm = NULL;
    uint32_t *slots = NULL, *todo = NULL;
    uint8_t *seen = NULL;
    const float *src = vecs;
    if (d->metric == SS_METRIC_COSINE) {
        norm = malloc(n * (size_t)dim * sizeof(float));
        if (!norm) return ss_fail(err, SS_ERR_NOMEM, "ss_index_add: out of memory for %zu vectors", n);
        for (size_t i = 0; i < n; i++)
            if (ss__normalise_into(vecs + i * dim, norm + i * dim, dim)) {
                free(norm);
                return ss_fail(err, SS_ERR_INVALID,
                               "ss_index_add: vector %zu is all zeros: cosine similarity is undefined", i);
            }
        src = norm;
    }
    if (!d->trained) ss__store_train(d, src, n);
    slots = malloc(n * sizeof *slots);
    todo = malloc(n * sizeof *todo);
    if (!slots || !todo) {
        st = ss_fail(err, SS_ERR_NOMEM, "ss_index_add: out of memory for %zu vectors", n);
        goto out;
    }
    /* assign slots: existing id -> same slot (upsert); else a freed slot; else a new one */
    size_t n_new = 0, ntodo = 0, base = d->n;
    size_t nfree_used = 0;
    const int64_t id0 = d->next_id;
    pthread_rwlock_wrlock(&y->idmap);
    for (size_t i = 0; i < n; i++) {
        int64_t id = ids ? ids[i] : id0 + (int64_t)i;
        long s = ss__idmap_get(d, id);
        if (s < 0) {
            if (nfree_used < d->nfree) s = d->freel[d->nfree - 1 - nfree_used++];
            else s = (long)(base + n_new++);
            if (ss__idmap_put(d, id, (uint32_t)s)) {
                st = ss_fail(err, SS_ERR_NOMEM, "ss_index_add: out of memory in the id map");
                break;
            }
        }
        slots[i] = (uint32_t)s;
    }
    pthread_rwlock_unlock(&y->idmap);
    if (st != SS_OK) goto out;
    if (base + n_new > UINT32_MAX - 1) {
        st = ss_fail(err, SS_ERR_INVALID, "ss_index_add: more than 4294967294 vectors are not supported");
        goto out;
    }
    seen = calloc(base + n_new, 1);
    if (!seen) {
        st = ss_fail(err, SS_ERR_NOMEM, "ss_index_add: out of memory");
        goto out;
    }
    pthread_rwlock_wrlock(&y->rw);
    st = ss__store_grow(d, base + n_new, err);
    if (st == SS_OK && hnsw) st = ss__hnsw_grow(&x->g, base, d->cap, err);
    if (st == SS_OK) {
        for (size_t i = 0; i < n; i++) {
            uint32_t s = slots[i];
            int64_t id = ids ? ids[i] : id0 + (int64_t)i;
            ss__store_put(d, s, src + i * (size_t)dim);
            d->ids[s] = id;
            if (id >= d->next_id) d->next_id = id + 1;
            if (seen[s]) continue;
            seen[s] = 1;
            todo[ntodo++] = s;
            if (s >= base) {
                d->state[s] = ST_DELETED; /* becomes PENDING below */
                if (hnsw) ss__hnsw_node_new(&x->g, s); /* no memory: a level-0 node */
            } else if (d->state[s] == ST_DELETED) {
                d->n_deleted = d->n_deleted - 1;
            }
            d->state[s] = hnsw ? ST_PENDING : ST_LIVE;
        }
        d->nfree -= nfree_used;
        __atomic_store_n(&d->n, base + n_new, __ATOMIC_RELEASE);
    }
    pthread_rwlock_unlock(&y->rw);
    if (st != SS_OK) goto out;

    if (hnsw && ntodo) {
        pthread_rwlock_rdlock(&y->rw);
        link_job job = {x, todo, ntodo, 0};
        size_t nth = (size_t)x->n_threads;
        if (nth > ntodo / 64 + 1) nth = ntodo / 64 + 1;
        ss_pool_for(nth > 1 ? ss__index_pool(x) : NULL, nth, link_item, &job);
        /* anything a worker could not do (allocation failure) is done here */
        for (size_t i = 0; i < ntodo && st == SS_OK; i++)
            if (__atomic_load_n(&d->state[todo[i]], __ATOMIC_ACQUIRE) == ST_PENDING) {
                scratch *sc = ss__scratch_get(x);
                if (!sc || ss__scratch_reserve(sc, d->n, (size_t)x->g.ef_c + (size_t)x->g.m0 + 2, dim) ||
                    ss__hnsw_insert(&x->g, d, todo[i], sc))
                    st = ss_fail(err, SS_ERR_NOMEM, "ss_index_add: out of memory linking vector %zu", i);
                else
                    __atomic_store_n(&d->state[todo[i]], ST_LIVE, __ATOMIC_RELEASE);
                ss__scratch_put(x, sc);
            }
        pthread_rwlock_unlock(&y->rw);
    }
    d->n_live = d->hcount;
    ss__publish_stats(x);
out:
    free(norm);
    free(slots);
    free(todo);
    free(seen);
    return st;
}

ss_status ss_index_add(ss_index *x, const int64_t *ids, const float *vecs, size_t n, ss_error *err) {
    if (!x || (n && !vecs)) return ss_fail(err, SS_ERR_INVALID, "ss_index_add: NULL index or vectors");
    if (n == 0) return SS_OK;
    if (ids)
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0)
                return ss_fail(err, SS_ERR_INVALID, "ss_index_add: id %lld of vector %zu is negative",
                               (long long)ids[i], i);
    ss_status st = ss__check_vectors("ss_index_add", vecs, n, x->s.dim, err);
    if (st) return st;
    pthread_mutex_lock(&x->sync->wmu);
    const int64_t id0 = x->s.next_id;
    st = ss__add_locked(x, ids, vecs, n, err);
    if (st == SS_OK && x->log) st = ss__ilog_add(x->log, ids, id0, vecs, n, err);
    pthread_mutex_unlock(&x->sync->wmu);
    return st;
}

ss_status ss__remove_locked(ss_index *x, const int64_t *ids, size_t n, size_t *removed, ss_error *err) {
    ss_store *d = &x->s;
    size_t hits = 0;
    ss_status st = SS_OK;
    pthread_rwlock_wrlock(&x->sync->idmap);
    for (size_t i = 0; i < n; i++) {
        long s = ss__idmap_get(d, ids[i]);
        if (s < 0) continue;
        if (ss__freel_push(d, (uint32_t)s)) {
            st = ss_fail(err, SS_ERR_NOMEM, "ss_index_remove: out of memory");
            break;
        }
        __atomic_store_n(&d->state[s], ST_DELETED, __ATOMIC_RELEASE);
        ss__idmap_del(d, ids[i]);
        d->n_deleted = d->n_deleted + 1;
        hits++;
    }
    pthread_rwlock_unlock(&x->sync->idmap);
    d->n_live = d->hcount;
    ss__publish_stats(x);
    if (removed) *removed = hits;
    return st;
}

ss_status ss_index_remove(ss_index *x, const int64_t *ids, size_t n, size_t *removed, ss_error *err) {
    if (removed) *removed = 0;
    if (!x || (n && !ids)) return ss_fail(err, SS_ERR_INVALID, "ss_index_remove: NULL index or ids");
    pthread_mutex_lock(&x->sync->wmu);
    ss_status st = ss__remove_locked(x, ids, n, removed, err);
    /* logged even when some ids were unknown: a replay removes the same set */
    if (st == SS_OK && x->log && n) st = ss__ilog_remove(x->log, ids, n, err);
    pthread_mutex_unlock(&x->sync->wmu);
    return st;
}

int ss_index_contains(const ss_index *x, int64_t id) {
    if (!x) return 0;
    pthread_rwlock_rdlock(&x->sync->idmap);
    int r = ss__idmap_get(&x->s, id) >= 0;
    pthread_rwlock_unlock(&x->sync->idmap);
    return r;
}

ss_status ss_index_compact(ss_index *x, ss_error *err) {
    if (!x) return ss_fail(err, SS_ERR_INVALID, "ss_index_compact: NULL index");
    pthread_mutex_lock(&x->sync->wmu);
    ss_store *d = &x->s;
    ss_status st = SS_OK;
    ss_index_options o = {.type = x->type, .metric = d->metric, .quantize = d->quant, .m = x->g.m,
                          .ef_construction = x->g.ef_c, .ef_search = x->ef_s, .keep_fp32 = d->keep_raw ? 1 : -1,
                          .oversample = x->oversample, .n_threads = x->n_threads, .seed = x->g.seed,
                          .pool = ss__index_pool(x)};
    ss_index *y = ss__index_alloc(d->dim, &o, err);
    size_t nl = d->hcount, dim = (size_t)d->dim;
    int64_t *ids = malloc((nl ? nl : 1) * sizeof *ids);
    float *vecs = malloc((nl ? nl : 1) * dim * sizeof *vecs);
    if (!y || !ids || !vecs) {
        st = y ? ss_fail(err, SS_ERR_NOMEM, "ss_index_compact: out of memory") : err ? err->code : SS_ERR_NOMEM;
        goto out;
    }
    if (d->quant == SS_QUANT_INT8) {
        memcpy(y->s.q_lo, d->q_lo, dim * 4);
        memcpy(y->s.q_scale, d->q_scale, dim * 4);
    } else if (d->quant == SS_QUANT_BINARY) {
        memcpy(y->s.q_mean, d->q_mean, dim * 4);
    }
    y->s.trained = d->trained;
    size_t j = 0;
    for (size_t s = 0; s < d->n && j < nl; s++) {
        if (d->state[s] != ST_LIVE) continue;
        ids[j] = d->ids[s];
        const float *v = ss__vec_f32(d, (uint32_t)s, vecs + j * dim);
        if (v != vecs + j * dim) memcpy(vecs + j * dim, v, dim * 4);
        j++;
    }
    st = ss__add_locked(y, ids, vecs, j, err);
    if (st == SS_OK) {
        y->s.next_id = d->next_id;
        pthread_rwlock_wrlock(&x->sync->rw);
        pthread_rwlock_wrlock(&x->sync->idmap);
        /* x takes y's store and graph; y takes x's old ones (and their file
         * mapping) and frees them below */
        ss_store t = x->s;
        x->s = y->s;
        y->s = t;
        ss__hnsw_swap(&x->g, &y->g);
        ss__publish_stats(x);
        pthread_rwlock_unlock(&x->sync->idmap);
        pthread_rwlock_unlock(&x->sync->rw);
    }
out:
    ss_index_free(y);
    free(ids);
    free(vecs);
    pthread_mutex_unlock(&x->sync->wmu);
    return st;
}

/* ------------------------------------------------------------ stats */

void ss_index_get_stats(const ss_index *x, ss_index_stats *o) {
    memset(o, 0, sizeof *o);
    if (!x) return;
    /* immutable fields and the last published counters: no lock, never waits
     * for a writer (its publication is four stores) */
    o->dim = x->info.dim;
    o->metric = x->info.metric;
    o->type = x->type;
    o->quantize = x->info.quant;
    for (;;) {
        uint32_t s1 = __atomic_load_n(&x->pub.seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) continue; /* a writer is publishing */
        o->count = __atomic_load_n(&x->pub.count, __ATOMIC_ACQUIRE);
        o->deleted = __atomic_load_n(&x->pub.deleted, __ATOMIC_ACQUIRE);
        o->slots = __atomic_load_n(&x->pub.slots, __ATOMIC_ACQUIRE);
        o->memory_bytes = __atomic_load_n(&x->pub.memory, __ATOMIC_ACQUIRE);
        if (GET(x->pub.seq) == s1) break;
    }
    uint64_t ep = __atomic_load_n(&x->g.ep, __ATOMIC_ACQUIRE);
    o->max_level = x->type == SS_INDEX_HNSW && ep ? (int)(ep >> 32) - 1 : -1;
    o->bytes_per_vector = o->slots ? (double)o->memory_bytes / (double)o->slots : 0;
    o->isa = x->info.isa;
}
