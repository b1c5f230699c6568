/* idx_util.h — shared helpers for the index tests: deterministic data,
 * a brute-force scalar (double precision) reference, recall. */
#ifndef SS_TEST_IDX_UTIL_H
#define SS_TEST_IDX_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semsearch.h"

typedef struct rng {
    uint64_t s;
} rng;
static inline uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline double rng_unif(rng *r) { return (double)(rng_next(r) >> 11) / 9007199254740992.0; }
static inline double rng_gauss(rng *r) {
    double u = rng_unif(r) + 1e-300, v = rng_unif(r);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* n x d small integers in [-lim, lim] (exact in fp32 and fp16 arithmetic) */
static inline float *gen_int(size_t n, int d, int lim, uint64_t seed) {
    rng r = {seed};
    float *v = malloc(n * (size_t)d * sizeof *v);
    for (size_t i = 0; i < n * (size_t)d; i++) v[i] = (float)((int)(rng_next(&r) % (uint64_t)(2 * lim + 1)) - lim);
    return v;
}

/* n x d unit vectors around nc cluster centres (embedding-like). */
static inline float *gen_clustered(size_t n, int d, int nc, float spread, uint64_t seed) {
    rng r = {seed};
    float *c = malloc((size_t)nc * d * sizeof *c), *v = malloc(n * (size_t)d * sizeof *v);
    for (size_t i = 0; i < (size_t)nc * d; i++) c[i] = (float)rng_gauss(&r);
    for (size_t i = 0; i < n; i++) {
        int k = (int)(rng_next(&r) % (uint64_t)nc);
        double s = 0;
        for (int j = 0; j < d; j++) {
            float t = c[(size_t)k * d + j] + spread * (float)rng_gauss(&r);
            v[i * d + j] = t;
            s += (double)t * t;
        }
        for (int j = 0; j < d; j++) v[i * d + j] = (float)(v[i * d + j] / sqrt(s));
    }
    free(c);
    return v;
}

/* Brute-force reference in double precision; natural-order scores, ties by id.
 * ids[i] = id of row i (NULL = row number), alive[i] (NULL = all). */
typedef struct refhit {
    double dist;
    int64_t id;
} refhit;
static int refhit_cmp(const void *a, const void *b) {
    const refhit *x = a, *y = b;
    if (x->dist != y->dist) return x->dist < y->dist ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}
static inline void ref_search(const float *base, size_t n, int d, const int64_t *ids, const unsigned char *alive,
                              ss_metric metric, const float *q, int k, int64_t *oid, double *oscore) {
    refhit *h = malloc(n * sizeof *h);
    size_t m = 0;
    double qn = 0;
    for (int j = 0; j < d; j++) qn += (double)q[j] * q[j];
    qn = sqrt(qn);
    for (size_t i = 0; i < n; i++) {
        if (alive && !alive[i]) continue;
        const float *v = base + i * d;
        double dot = 0, l2 = 0, vn = 0;
        for (int j = 0; j < d; j++) {
            dot += (double)q[j] * v[j];
            l2 += ((double)q[j] - v[j]) * ((double)q[j] - v[j]);
            vn += (double)v[j] * v[j];
        }
        double dist = metric == SS_METRIC_L2 ? l2 : metric == SS_METRIC_DOT ? -dot : -dot / (qn * sqrt(vn));
        h[m++] = (refhit){dist, ids ? ids[i] : (int64_t)i};
    }
    qsort(h, m, sizeof *h, refhit_cmp);
    for (int i = 0; i < k; i++) {
        oid[i] = i < (int)m ? h[i].id : -1;
        if (oscore) oscore[i] = i < (int)m ? (metric == SS_METRIC_L2 ? h[i].dist : -h[i].dist) : NAN;
    }
    free(h);
}

/* mean |result ∩ truth| / k over nq rows */
static inline double recall_at(const int64_t *got, const int64_t *truth, size_t nq, int k) {
    size_t hit = 0;
    for (size_t q = 0; q < nq; q++)
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                if (got[q * k + i] == truth[q * k + j] && truth[q * k + j] >= 0) {
                    hit++;
                    break;
                }
    return (double)hit / (double)(nq * (size_t)k);
}

#endif
