/* topk.h — candidates (distance, slot) and the heaps both searches use: a
 * bounded top-k max-heap with ties broken by user id (the result order), and
 * plain min / max heaps on distance (the HNSW beam). Header-only: these sit in
 * the innermost loops. */
#ifndef SS_INDEX_TOPK_H
#define SS_INDEX_TOPK_H

#include <math.h>
#include <stdint.h>

typedef struct cand {
    float d;
    uint32_t s;
} cand;

/* "a is worse than b": larger distance, ties broken by larger user id. */
static inline int cand_worse(const int64_t *ids, cand a, cand b) {
    return a.d > b.d || (a.d == b.d && ids[a.s] > ids[b.s]);
}

typedef struct topk {
    cand *a;
    int n, k;
} topk;

static inline void topk_push(const int64_t *ids, topk *h, cand c) {
    if (h->n < h->k) {
        int i = h->n++;
        while (i > 0) {
            int p = (i - 1) / 2;
            if (!cand_worse(ids, c, h->a[p])) break;
            h->a[i] = h->a[p];
            i = p;
        }
        h->a[i] = c;
        return;
    }
    if (!cand_worse(ids, h->a[0], c)) return;
    int i = 0, n = h->n;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        cand wc = c;
        if (l < n && cand_worse(ids, h->a[l], wc)) w = l, wc = h->a[l];
        if (r < n && cand_worse(ids, h->a[r], wc)) w = r;
        if (w == i) break;
        h->a[i] = h->a[w];
        i = w;
    }
    h->a[i] = c;
}

/* worst distance currently kept (INFINITY while not full) */
static inline float topk_bound(const topk *h) { return h->n < h->k ? INFINITY : h->a[0].d; }

/* insertion sort by (distance, id): n is small (k or k * oversample) */
static inline void sort_cands(const int64_t *ids, cand *a, int n) {
    for (int i = 1; i < n; i++) {
        cand c = a[i];
        int j = i - 1;
        while (j >= 0 && cand_worse(ids, a[j], c)) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = c;
    }
}

/* insertion sort by distance only (graph construction) */
static inline void sort_asc(cand *a, int n) {
    for (int i = 1; i < n; i++) {
        cand c = a[i];
        int j = i - 1;
        while (j >= 0 && a[j].d > c.d) a[j + 1] = a[j], j--;
        a[j + 1] = c;
    }
}

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

#endif
