/* flat.c — the exact scan (see flat.h). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "index/flat.h"
#include "kernels/ops.h"

/* Batches of at least GEMM_MIN_Q fp32 queries score a block of GEMM_BLOCK
 * slots with one sgemm (queries x block^T, OpenBLAS): its packing and
 * register blocking run near the FMA peak, where the 4-query kernel is bound
 * by loads. Each vector is still read from memory once per batch. */
#define GEMM_MIN_Q 8
#define GEMM_BLOCK 1024
#define GEMM_SLACK 16
#define FLAT_MAX_THREADS 64

static int use_gemm(const ss_store *s, size_t nq) { return s->quant == SS_QUANT_NONE && nq >= GEMM_MIN_Q; }

/* Exact scan of slots [s0, s1) for nq queries into heaps[nq]. With the GEMM
 * path, qmat holds the nq prepared queries row-major and sbuf nq x GEMM_BLOCK
 * scores. */
static void scan_range(const ss_store *st, const qctx *ctx, size_t nq, size_t s0, size_t s1, topk *heaps,
                       const ss_filter *f, uint32_t *live, const float *qmat, float *sbuf, float *maxn2) {
    size_t block = 196608 / st->code_size;
    if (block < 16) block = 16;
    if (block > 4096) block = 4096;
    if (sbuf) block = GEMM_BLOCK;
    int dotpath = st->quant == SS_QUANT_NONE;
    size_t dim = (size_t)st->dim;
    for (size_t b0 = s0; b0 < s1; b0 += block) {
        size_t b1 = b0 + block < s1 ? b0 + block : s1, nl = 0;
        for (size_t s = b0; s < b1; s++)
            if (st_load(st, (uint32_t)s) == ST_LIVE && (!f || filt_allows(f, st->ids[s]))) live[nl++] = (uint32_t)s;
        if (!nl) continue;
        size_t qi = 0;
        if (sbuf) {
            size_t nb = b1 - b0;
            ss_linear_cols(qmat, (int)nq, (int)dim, (const float *)(st->codes + b0 * st->code_size), NULL, sbuf,
                           (int)nb, 0, (int)nb);
            for (size_t li = 0; li < nl; li++)
                if (st->aux[live[li]] > *maxn2) *maxn2 = st->aux[live[li]];
            for (; qi < nq; qi++) {
                const float *row = sbuf + qi * nb;
                topk *h = &heaps[qi];
                for (size_t li = 0; li < nl; li++) {
                    uint32_t s = live[li];
                    float dd = ss__dot_dist(st, &ctx[qi], row[s - b0], s);
                    if (dd <= topk_bound(h)) topk_push(st->ids, h, (cand){dd, s});
                }
            }
        }
        if (dotpath)
            for (; qi + 4 <= nq; qi += 4) {
                const float *qs[4] = {ctx[qi].q, ctx[qi + 1].q, ctx[qi + 2].q, ctx[qi + 3].q};
                float out[4];
                for (size_t li = 0; li < nl; li++) {
                    uint32_t s = live[li];
                    st->k->dot4_f32(qs, (const float *)(st->codes + (size_t)s * st->code_size), dim, out);
                    for (int t = 0; t < 4; t++) {
                        float dd = ss__dot_dist(st, &ctx[qi + t], out[t], s);
                        topk *h = &heaps[qi + t];
                        if (dd <= topk_bound(h)) topk_push(st->ids, h, (cand){dd, s});
                    }
                }
            }
        for (; qi < nq; qi++) {
            topk *h = &heaps[qi];
            for (size_t li = 0; li < nl; li++) {
                uint32_t s = live[li];
                float dd = ss__dist(st, &ctx[qi], s);
                if (dd <= topk_bound(h)) topk_push(st->ids, h, (cand){dd, s});
            }
        }
    }
}

void ss__flat_scan_one(const ss_store *s, const qctx *c, topk *h, const ss_filter *f, uint32_t *live) {
    float unused = 0;
    scan_range(s, c, 1, 0, __atomic_load_n(&s->n, __ATOMIC_ACQUIRE), h, f, live, NULL, NULL, &unused);
}

typedef struct scan_job {
    const ss_store *s;
    const qctx *ctx;
    const float *qmat; /* the nq prepared queries, row-major (ctx[i].q) */
    size_t nq, s0, s1;
    topk *heaps;
    const ss_filter *f;
    float maxn2; /* GEMM path: largest squared norm among the scanned vectors */
    int ok;
} scan_job;

static void scan_item(void *arg, size_t i, int thread) {
    (void)thread;
    scan_job *j = (scan_job *)arg + i;
    int gemm = use_gemm(j->s, j->nq);
    uint32_t *live = malloc(4096 * sizeof *live);
    float *sbuf = gemm ? malloc(j->nq * GEMM_BLOCK * sizeof *sbuf) : NULL;
    if (live && (!gemm || sbuf)) {
        scan_range(j->s, j->ctx, j->nq, j->s0, j->s1, j->heaps, j->f, live, j->qmat, sbuf, &j->maxn2);
        j->ok = 1;
    }
    free(live);
    free(sbuf);
}

/* sgemm scores vary in their last bits with a vector's position inside the
 * block, so two copies of one vector need not tie. The GEMM path therefore
 * keeps GEMM_SLACK extra candidates and rescores them with the
 * position-independent kernel of the single-query path: scores are then the
 * same alone or in a batch, and exact ties are ordered by id. If a vector left
 * out could still reach the top kk within the two computations' rounding
 * (|difference| <= d * eps * |q| |v|), the query is rescanned exactly. h holds
 * the candidates sorted by sgemm distance. */
static void gemm_finish(const ss_store *s, const qctx *c, topk *h, int kk, int kc, const scan_job *jobs, int nth,
                        size_t n, const ss_filter *f, uint32_t *live) {
    float bound = h->n == kc ? h->a[kc - 1].d : INFINITY;
    for (int i = 0; i < h->n; i++) h->a[i].d = ss__dist(s, c, h->a[i].s);
    sort_cands(s->ids, h->a, h->n);
    if (h->n < kc) return; /* every candidate was kept */
    float maxn2 = 0;
    for (int t = 0; t < nth; t++)
        if (jobs[t].maxn2 > maxn2) maxn2 = jobs[t].maxn2;
    float qn = sqrtf(c->qq), vn = sqrtf(maxn2), e = (float)s->dim * FLT_EPSILON;
    float tol = s->metric == SS_METRIC_L2 ? 2 * e * (qn + vn) * (qn + vn) : e * qn * vn;
    if (h->a[kk - 1].d + 2 * tol < bound) return;
    h->n = 0;
    h->k = kk;
    float unused = 0;
    scan_range(s, c, 1, 0, n, h, f, live, NULL, NULL, &unused);
    sort_cands(s->ids, h->a, h->n);
}

ss_status ss__flat_search(const ss_store *s, const qctx *ctx, const float *qmat, size_t nq, int kk,
                          const ss_filter *f, int nth, ss_pool *pool, cand *results, int *counts, ss_error *err) {
    size_t n = __atomic_load_n(&s->n, __ATOMIC_ACQUIRE);
    if ((size_t)nth * 2048 > n) nth = (int)(n / 2048) + 1;
    if (nth > FLAT_MAX_THREADS) nth = FLAT_MAX_THREADS;
    if (nth < 1) nth = 1;
    int gemm = use_gemm(s, nq), kc = gemm ? kk + GEMM_SLACK : kk;
    cand *buf = malloc((size_t)nth * nq * (size_t)kc * sizeof(cand));
    topk *heaps = malloc((size_t)nth * nq * sizeof(topk));
    scan_job *jobs = calloc((size_t)nth, sizeof *jobs);
    uint32_t *live = gemm ? malloc(4096 * sizeof *live) : NULL;
    ss_status st = SS_OK;
    if (!buf || !heaps || !jobs || (gemm && !live)) {
        st = ss_fail(err, SS_ERR_NOMEM, "ss_index_search: out of memory for %zu queries x k=%d", nq, kk);
        goto out;
    }
    for (size_t i = 0; i < (size_t)nth * nq; i++) heaps[i] = (topk){buf + i * (size_t)kc, 0, kc};
    /* the GEMM path parallelises over slot ranges itself (n_threads), so one
     * BLAS thread per call, as in the encoder (see ss_blas_single_threaded) */
    if (gemm) ss_blas_single_threaded();
    for (int t = 0; t < nth; t++)
        jobs[t] = (scan_job){s, ctx, qmat, nq, n * (size_t)t / (size_t)nth, n * (size_t)(t + 1) / (size_t)nth,
                             heaps + (size_t)t * nq, f, 0, 0};
    ss_pool_for(nth > 1 ? pool : NULL, (size_t)nth, scan_item, jobs);
    for (int t = 0; t < nth; t++)
        if (!jobs[t].ok) {
            st = ss_fail(err, SS_ERR_NOMEM, "ss_index_search: out of memory in the exact scan");
            goto out;
        }
    for (size_t q = 0; q < nq; q++) {
        topk h = heaps[q];
        for (int t = 1; t < nth; t++) {
            topk *o = &heaps[(size_t)t * nq + q];
            for (int i = 0; i < o->n; i++) topk_push(s->ids, &h, o->a[i]);
        }
        sort_cands(s->ids, h.a, h.n);
        if (gemm) gemm_finish(s, &ctx[q], &h, kk, kc, jobs, nth, n, f, live);
        if (h.n > kk) h.n = kk;
        memcpy(results + q * (size_t)kk, h.a, (size_t)h.n * sizeof(cand));
        counts[q] = h.n;
    }
out:
    free(buf);
    free(heaps);
    free(jobs);
    free(live);
    return st;
}
