/* es_knn.c — kNN over a dense_vector field through its index (es_store.h).
 *
 * As Elasticsearch: the filter is applied during the graph walk, not after
 * it — here as an allow-list bitset over rowids (one scan of the documents'
 * views evaluating the filter queries), handed to ss_index_search; the walk
 * gathers num_candidates (its beam, ef) and the k best are kept. The
 * candidates are scored again from their stored fp32 vectors with
 * Elasticsearch's formulas (es_vec_score), so quantised fields (int8_hnsw /
 * int8_flat) report exact scores and the similarity threshold applies to the
 * exact raw similarity. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/es_store.h"

typedef struct allow_ctx {
    es_index *x;
    es_query *const *f;
    int n;
    uint64_t *bits;
    int64_t nbits;
} allow_ctx;

static int allow_one(void *user, const es_doc *d) {
    allow_ctx *a = user;
    double s;
    for (int i = 0; i < a->n; i++)
        if (!es_query_eval(a->f[i], a->x, d, &s)) return 0;
    if (d->rowid >= 0 && d->rowid < a->nbits) a->bits[d->rowid / 64] |= 1ULL << (d->rowid % 64);
    return 0;
}

static int by_score(const void *a, const void *b) {
    const es_hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

long es_knn(es_index *x, const es_field *f, const float *q, int k, int nc, es_query *const *filters, int nf,
            const double *min_sim, es_hit **out, ss_http_resp *resp) {
    *out = NULL;
    if (!f->stored || f->dims <= 0) return 0; /* no document has a vector yet */
    if (nc < k) nc = k;
    allow_ctx a = {x, filters, nf, NULL, 0};
    ss_filter flt = {0};
    if (nf > 0) {
        int need = 0;
        for (int i = 0; i < nf; i++) need |= es_query_needs_src(filters[i]); /* prepared by the caller */
        int64_t max = ss_collection_max_rowid(x->coll);
        if (max < 0) return es_error(resp, 500, "exception", x->name, "reading the index failed"), -1;
        a.nbits = max + 1;
        if (!(a.bits = calloc((size_t)(a.nbits + 63) / 64 + 1, sizeof *a.bits)))
            return es_error(resp, 500, "exception", x->name, "out of memory"), -1;
        if (es_scan(x, need, allow_one, &a) != 0) {
            free(a.bits);
            return es_error(resp, 500, "exception", x->name, "reading the index failed"), -1;
        }
        flt.bits = a.bits;
        flt.nbits = a.nbits;
    }
    int64_t *ids = malloc((size_t)nc * sizeof *ids);
    float *sc = malloc((size_t)nc * sizeof *sc), *v = malloc((size_t)f->dims * sizeof *v);
    es_hit *hits = malloc((size_t)nc * sizeof *hits);
    ss_error e = {0};
    long m = 0;
    if (!ids || !sc || !v || !hits) {
        es_error(resp, 500, "exception", x->name, "out of memory");
        m = -1;
    } else if (ss_collection_knn(x->coll, f->name, q, nc, nc, nf > 0 ? &flt : NULL, ids, sc, &e) != SS_OK) {
        es_error(resp, 500, "exception", x->name, "knn on [%s]: %s", f->name, e.msg);
        m = -1;
    }
    for (int i = 0; m >= 0 && i < nc; i++) {
        if (ids[i] < 0) break;
        if (ss_collection_vector(x->coll, f->name, ids[i], v, NULL) != SS_OK) continue;
        double raw, s = es_vec_score(f->sim, q, v, f->dims, &raw);
        if (min_sim && (f->sim == ES_SIM_L2 ? raw > *min_sim : raw < *min_sim)) continue;
        hits[m].rowid = ids[i];
        hits[m++].score = s;
    }
    free(ids);
    free(sc);
    free(v);
    free(a.bits);
    if (m < 0) {
        free(hits);
        return -1;
    }
    qsort(hits, (size_t)m, sizeof *hits, by_score);
    if (m > k) m = k;
    *out = hits;
    return m;
}
