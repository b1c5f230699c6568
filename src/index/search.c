/* search.c — ss_index_search: prepares the queries (normalised for cosine,
 * quantised forms), picks the exact scan (flat.c) or the graph walk (hnsw.c),
 * rescores quantised candidates with the fp32 vectors, and writes the rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "index/flat.h"
#include "index/index_internal.h"

typedef struct qprep {
    qctx *ctx;   /* nq prepared queries */
    float *qn;   /* nq * dim (normalised copies for cosine) */
    int8_t *qi8; /* nq * dim */
    uint64_t *qb;
} qprep;

static void qprep_free(qprep *p) {
    free(p->ctx);
    free(p->qn);
    free(p->qi8);
    free(p->qb);
}

static ss_status qprep_make(const ss_store *s, const float *q, size_t nq, qprep *p, ss_error *err) {
    size_t dim = (size_t)s->dim;
    memset(p, 0, sizeof *p);
    p->ctx = malloc(nq * sizeof *p->ctx);
    p->qn = malloc(nq * dim * sizeof(float));
    if (s->quant == SS_QUANT_INT8) p->qi8 = malloc(nq * dim);
    if (s->quant == SS_QUANT_BINARY) p->qb = malloc(nq * s->nwords * 8);
    if (!p->ctx || !p->qn || (s->quant == SS_QUANT_INT8 && !p->qi8) || (s->quant == SS_QUANT_BINARY && !p->qb)) {
        qprep_free(p);
        return ss_fail(err, SS_ERR_NOMEM, "ss_index_search: out of memory for %zu queries", nq);
    }
    for (size_t i = 0; i < nq; i++) {
        float *qi = p->qn + i * dim;
        if (s->metric == SS_METRIC_COSINE) {
            /* a zero query has no direction: it scores 0 against everything */
            if (ss__normalise_into(q + i * dim, qi, s->dim)) memset(qi, 0, dim * 4);
        } else {
            memcpy(qi, q + i * dim, dim * 4);
        }
        ss__prep_query(s, qi, &p->ctx[i], p->qi8 ? p->qi8 + i * dim : NULL, p->qb ? p->qb + i * s->nwords : NULL);
    }
    return SS_OK;
}

static float to_score(const ss_store *s, float dist, int exact) {
    if (s->quant == SS_QUANT_BINARY && !exact) {
        float c = cosf((float)M_PI * dist / (float)s->dim);
        return s->metric == SS_METRIC_L2 ? 2 - 2 * c : c;
    }
    return s->metric == SS_METRIC_L2 ? dist : -dist;
}

/* Rescore (when quantised with fp32 kept), cut to k, write one result row. */
static void finish_row(const ss_store *s, const float *qn, cand *c, int cnt, int k, int64_t *oid, float *osc) {
    int exact = s->quant == SS_QUANT_NONE || (s->quant == SS_QUANT_FP16 && !s->keep_raw);
    if (!exact && s->keep_raw) {
        for (int i = 0; i < cnt; i++) c[i].d = ss__dist_exact(s, qn, c[i].s);
        exact = 1;
    }
    sort_cands(s->ids, c, cnt);
    int i = 0;
    for (; i < cnt && i < k; i++) {
        oid[i] = s->ids[c[i].s];
        osc[i] = to_score(s, c[i].d, exact);
    }
    for (; i < k; i++) {
        oid[i] = -1;
        osc[i] = s->metric == SS_METRIC_L2 ? INFINITY : -INFINITY;
    }
}

typedef struct hjob {
    const ss_index *x;
    const qprep *p;
    size_t nq;
    int k, kk, ef;
    const ss_filter *f;
    int64_t *oid;
    float *osc;
    size_t next;
    int fail; /* 1: no memory for scratch, 2: no memory inside a walk */
} hjob;

/* one pool item: answers queries taken from the shared counter */
static void hnsw_item(void *arg, size_t item, int thread) {
    (void)item, (void)thread;
    hjob *j = arg;
    const ss_index *x = j->x;
    const ss_store *s = &x->s;
    scratch *sc = ss__scratch_get(x);
    int want = j->kk > j->ef ? j->kk : j->ef;
    cand *out = malloc((size_t)want * sizeof *out);
    uint32_t *live = malloc(4096 * sizeof *live);
    /* binary asym ranking: a graph walk scores thousands of codes per query, so
     * a per-query byte table (d / 8 x 256 floats) beats masking bits per code */
    size_t nbytes = ((size_t)s->dim + 7) / 8;
    int use_lut = ss__binary_asym(s) && s->dim <= 4096;
    float *lut = use_lut ? malloc(nbytes * 256 * sizeof *lut) : NULL;
    if (!sc || !out || !live || (use_lut && !lut) ||
        ss__scratch_reserve(sc, s->n, (size_t)want + (size_t)x->g.m0 + 2, s->dim)) {
        __atomic_store_n(&j->fail, 1, __ATOMIC_RELAXED);
        goto done;
    }
    for (;;) {
        size_t q = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (q >= j->nq) break;
        qctx cq = j->p->ctx[q];
        const qctx *c = &cq;
        if (lut) {
            ss_bits_lut_build(cq.q, (size_t)s->dim, lut);
            cq.lut = lut;
        }
        /* binary codes are coarse: rescore the whole beam */
        int take = s->quant == SS_QUANT_BINARY && s->keep_raw ? want : j->kk;
        int cnt = ss__hnsw_search(&x->g, s, c, want, take, j->f, sc, out);
        if (cnt == -2) {
            __atomic_store_n(&j->fail, 2, __ATOMIC_RELAXED);
            break;
        }
        if (cnt < 0 || (j->f && cnt < j->kk)) {
            /* filter too selective for the graph walk: exact scan of the allowed set */
            topk h = {out, 0, j->kk};
            ss__flat_scan_one(s, c, &h, j->f, live);
            sort_cands(s->ids, h.a, h.n);
            cnt = h.n;
        }
        finish_row(s, c->q, out, cnt, j->k, j->oid + q * (size_t)j->k, j->osc + q * (size_t)j->k);
    }
done:
    free(out);
    free(live);
    free(lut);
    ss__scratch_put(x, sc);
}

static int64_t bits_count(const ss_filter *f) {
    int64_t c = 0, nw = f->nbits / 64;
    for (int64_t i = 0; i < nw; i++) c += __builtin_popcountll(f->bits[i]);
    if (f->nbits & 63) c += __builtin_popcountll(f->bits[nw] & ((1ull << (f->nbits & 63)) - 1));
    return c;
}

ss_status ss_index_search(const ss_index *x, const float *queries, size_t nq, int k, const ss_search_params *p,
                          int64_t *out_ids, float *out_scores, ss_error *err) {
    if (!x || (nq && (!queries || !out_ids || !out_scores)))
        return ss_fail(err, SS_ERR_INVALID, "ss_index_search: NULL index, queries or output arrays");
    if (k <= 0 || k > 100000) return ss_fail(err, SS_ERR_INVALID, "ss_index_search: k=%d must be 1..100000", k);
    if (nq == 0) return SS_OK;
    ss_status st = ss__check_vectors("ss_index_search", queries, nq, x->info.dim, err);
    if (st) return st;
    ss_search_params def = {0};
    if (!p) p = &def;
    if (p->n_threads < 0)
        return ss_fail(err, SS_ERR_INVALID, "ss_index_search: n_threads=%d must be >= 0 (0 = the index's)", p->n_threads);
    int ef = p->ef_search > 0 ? p->ef_search : x->ef_s;
    if (!(p->oversample >= 0 && p->oversample <= 1000)) /* NaN too: it sizes the candidate buffers */
        return ss_fail(err, SS_ERR_INVALID, "ss_index_search: oversample=%g must be 0..1000 (0 = the index's)",
                       (double)p->oversample);
    float os = p->oversample > 0 ? p->oversample : x->oversample;
    /* threads: at most the index's pool (requests above it are clamped) */
    int nth = p->n_threads > 0 && p->n_threads < x->n_threads ? p->n_threads : x->n_threads;
    const ss_filter *f = p->filter;
    if (f && !f->bits && !f->allow) f = NULL;

    pthread_rwlock_rdlock(&x->sync->rw);
    const ss_store *s = &x->s;
    int quant_rescore = s->quant != SS_QUANT_NONE && s->keep_raw; /* int8, binary, fp16 + fp32 */
    int kk = quant_rescore ? (int)ceilf((float)k * os) : k;
    if (kk < k) kk = k;
    qprep qp;
    st = qprep_make(s, queries, nq, &qp, err);
    if (st) {
        pthread_rwlock_unlock(&x->sync->rw);
        return st;
    }
    size_t n = __atomic_load_n(&s->n, __ATOMIC_ACQUIRE);
    /* never more candidates than slots (a k=100000 query on 40 vectors once
     * asked for 614 MB), never fewer than the k rows the caller receives */
    if ((size_t)kk > n) kk = (size_t)k > n ? k : (int)n;
    uint64_t ep = __atomic_load_n(&x->g.ep, __ATOMIC_ACQUIRE);
    int exact = x->type == SS_INDEX_FLAT || ep == 0;
    if (!exact && f && f->bits) {
        int64_t allowed = bits_count(f);
        int need = ef > kk ? ef : kk;
        if (allowed <= (int64_t)need * 4 || (double)allowed < 0.02 * (double)n) exact = 1;
    }
    if (exact) {
        /* exact scan: quantised codes give kk candidates, fp32 rescoring picks k */
        size_t chunk = nq < 256 ? nq : 256;
        cand *res = malloc(chunk * (size_t)kk * sizeof(cand));
        int *cnt = malloc(chunk * sizeof(int));
        if (!res || !cnt) st = ss_fail(err, SS_ERR_NOMEM, "ss_index_search: out of memory");
        ss_pool *pool = nth > 1 ? ss__index_pool(x) : NULL;
        for (size_t q0 = 0; st == SS_OK && q0 < nq; q0 += chunk) {
            size_t m = nq - q0 < chunk ? nq - q0 : chunk;
            st = ss__flat_search(s, qp.ctx + q0, qp.qn + q0 * (size_t)s->dim, m, kk, f, nth, pool, res, cnt, err);
            for (size_t q = 0; st == SS_OK && q < m; q++)
                finish_row(s, qp.ctx[q0 + q].q, res + q * (size_t)kk, cnt[q], k, out_ids + (q0 + q) * (size_t)k,
                           out_scores + (q0 + q) * (size_t)k);
        }
        free(res);
        free(cnt);
    } else {
        hjob job = {x, &qp, nq, k, kk, ef, f, out_ids, out_scores, 0, 0};
        if ((size_t)nth > nq) nth = (int)nq;
        ss_pool_for(nth > 1 ? ss__index_pool(x) : NULL, (size_t)nth, hnsw_item, &job);
        if (job.fail == 2)
            st = ss_fail(err, SS_ERR_NOMEM, "ss_index_search: out of memory growing the HNSW candidate heap");
        else if (job.fail && job.next < nq)
            st = ss_fail(err, SS_ERR_NOMEM, "ss_index_search: out of memory for search scratch");
    }
    pthread_rwlock_unlock(&x->sync->rw);
    qprep_free(&qp);
    return st;
}
