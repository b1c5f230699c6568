/* Index defects of issues 8 and 13, each a regression test:
 *  - ss_index_add with more than 256 threads (wrote past pthread_t th[256]);
 *    n_threads far above the cores is clamped, a negative one refused;
 *  - a failed grow of the HNSW candidate heap is an error, not a dropped
 *    candidate (simulated through the index's test hook);
 *  - contains and stats do not wait for a writer;
 *  - non-finite vectors, and vectors whose squared norm overflows, are refused
 *    with the row; a tiny cosine vector normalises to its direction, not inf;
 *  - an injected ss_pool gives the same results as the index's own. */
#include <pthread.h>
#include <time.h>

#include "core/threadpool.h"
#include "idx_util.h"
#include "index/index_internal.h"
#include "test.h"

static int64_t recall_hits(ss_index *x, const float *base, size_t n, int d, int nq, int k) {
    int64_t hits = 0, got[10], want[10];
    float sc[10];
    ss_error err;
    for (int q = 0; q < nq; q++) {
        const float *qv = base + (size_t)(q * 37 % (int)n) * d;
        CHECK(ss_index_search(x, qv, 1, k, NULL, got, sc, &err) == SS_OK);
        ref_search(base, n, d, NULL, NULL, SS_METRIC_COSINE, qv, k, want, NULL);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                if (got[i] == want[j]) {
                    hits++;
                    break;
                }
    }
    return hits;
}

static void test_many_threads(void) {
    /* linking used min(n_threads, n / 64 + 1) threads: 17,000 vectors and
     * n_threads 300 asked for 266 pthread_t in an array of 256 */
    const size_t n = 17000;
    const int d = 8;
    float *base = gen_clustered(n, d, 30, 0.3f, 11);
    ss_error err;
    ss_index_options o = {.type = SS_INDEX_HNSW, .m = 4, .ef_construction = 16, .n_threads = 300};
    ss_index *x = ss_index_new(d, &o, &err);
    REQUIRE(x);
    CHECKF(x->n_threads <= SS_INDEX_THREADS_PER_CORE * ss_online_cpus(), "n_threads %d not clamped", x->n_threads);
    CHECK(ss_index_add(x, NULL, base, n, &err) == SS_OK);
    ss_index_stats st;
    ss_index_get_stats(x, &st);
    CHECK(st.count == (int64_t)n);
    int64_t hits = recall_hits(x, base, n, d, 50, 10);
    printf("n_threads 300 (clamped to %d): recall@10 %.3f\n", x->n_threads, hits / 500.0);
    CHECK(hits >= 400);
    ss_index_free(x);

    ss_index_options huge = {.n_threads = 1000000000};
    x = ss_index_new(d, &huge, &err);
    REQUIRE(x);
    CHECK(x->n_threads == SS_INDEX_THREADS_PER_CORE * ss_online_cpus());
    ss_index_free(x);
    ss_index_options neg = {.n_threads = -3};
    CHECK(ss_index_new(d, &neg, &err) == NULL);
    CHECK_CONTAINS(err.msg, "n_threads=-3");
    free(base);
}

static void test_heap_grow_failure(void) {
    const size_t n = 3000;
    const int d = 16;
    float *base = gen_clustered(n, d, 10, 0.4f, 5);
    ss_error err;
    ss_index_options o = {.type = SS_INDEX_HNSW, .n_threads = 1};
    ss_index *x = ss_index_new(d, &o, &err);
    REQUIRE(x);
    CHECK(ss_index_add(x, NULL, base, n, &err) == SS_OK);
    int64_t ids[10];
    float sc[10];
    ss_search_params p = {.ef_search = 200};
    CHECK(ss_index_search(x, base, 1, 10, &p, ids, sc, &err) == SS_OK);
    /* from now on every walk runs with a 4-entry candidate heap that cannot
     * grow: before the fix the walk dropped candidates and returned SS_OK */
    x->dbg_fail_grow = 1;
    while (x->sync->free_scratch) { /* pooled scratch was sized before the hook */
        scratch *s = x->sync->free_scratch;
        x->sync->free_scratch = s->next;
        ss__scratch_free(s);
    }
    ss_status st = ss_index_search(x, base, 1, 10, &p, ids, sc, &err);
    CHECK(st == SS_ERR_NOMEM);
    CHECK_CONTAINS(err.msg, "candidate heap");
    /* and an insert that cannot grow it fails instead of linking a node half-way */
    st = ss_index_add(x, NULL, base, 50, &err);
    CHECK(st == SS_ERR_NOMEM);
    x->dbg_fail_grow = 0;
    ss_index_free(x);
    free(base);
}

typedef struct probe {
    ss_index *x;
    int done; /* atomic */
    int contains;
    int64_t count;
} probe;

static void *probe_main(void *arg) {
    probe *p = arg;
    p->contains = ss_index_contains(p->x, 7);
    ss_index_stats st;
    ss_index_get_stats(p->x, &st);
    p->count = st.count;
    __atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_readers_do_not_wait(void) {
    const int d = 8;
    float *base = gen_clustered(100, d, 4, 0.3f, 2);
    ss_error err;
    ss_index_options o = {.type = SS_INDEX_HNSW, .n_threads = 1};
    ss_index *x = ss_index_new(d, &o, &err);
    REQUIRE(x);
    CHECK(ss_index_add(x, NULL, base, 100, &err) == SS_OK);
    /* what a bulk add holds while it links: the writer lock and the shared
     * array lock. Before the fix contains and stats took the writer lock. */
    pthread_mutex_lock(&x->sync->wmu);
    pthread_rwlock_rdlock(&x->sync->rw);
    probe p = {x, 0, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, probe_main, &p);
    for (int i = 0; i < 500 && !__atomic_load_n(&p.done, __ATOMIC_ACQUIRE); i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    int done = __atomic_load_n(&p.done, __ATOMIC_ACQUIRE);
    CHECKF(done, "contains / stats still waiting for the writer after 5 s");
    pthread_rwlock_unlock(&x->sync->rw);
    pthread_mutex_unlock(&x->sync->wmu);
    pthread_join(th, NULL);
    CHECK(p.contains == 1);
    CHECK(p.count == 100);
    ss_index_free(x);
    free(base);
}

static void test_non_finite(void) {
    const int d = 4;
    ss_error err;
    for (int t = 0; t < 2; t++) {
        ss_index_options o = {.type = t ? SS_INDEX_HNSW : SS_INDEX_FLAT, .metric = SS_METRIC_L2};
        ss_index *x = ss_index_new(d, &o, &err);
        REQUIRE(x);
        float v[4 * 4] = {1, 2, 3, 4, 1, 1, 1, 1, 0, 0, 1, 0, 2, 2, 2, 2};
        v[3 * 4 + 2] = NAN;
        CHECK(ss_index_add(x, NULL, v, 4, &err) == SS_ERR_INVALID);
        CHECK_CONTAINS(err.msg, "vector 3");
        CHECK_CONTAINS(err.msg, "dimension 2");
        v[3 * 4 + 2] = INFINITY;
        CHECK(ss_index_add(x, NULL, v, 4, &err) == SS_ERR_INVALID);
        CHECK_CONTAINS(err.msg, "non-finite");
        float big[4] = {3e38f, 3e38f, 0, 0}; /* finite, but |v|^2 is not */
        CHECK(ss_index_add(x, NULL, big, 1, &err) == SS_ERR_INVALID);
        CHECK_CONTAINS(err.msg, "overflows");
        v[3 * 4 + 2] = 2;
        CHECK(ss_index_add(x, NULL, v, 4, &err) == SS_OK);
        float q[4] = {1, NAN, 0, 0};
        int64_t ids[2];
        float sc[2];
        CHECK(ss_index_search(x, q, 1, 2, NULL, ids, sc, &err) == SS_ERR_INVALID);
        CHECK_CONTAINS(err.msg, "vector 0");
        ss_index_free(x);
    }
    /* a tiny finite vector: 1 / |v| overflows a float. Before the fix it
     * normalised to [inf, nan, ...] and queries returned nothing. */
    for (int t = 0; t < 2; t++) {
        ss_index_options o = {.type = t ? SS_INDEX_HNSW : SS_INDEX_FLAT, .metric = SS_METRIC_COSINE};
        ss_index *x = ss_index_new(d, &o, &err);
        REQUIRE(x);
        float v[3 * 4] = {1e-40f, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
        CHECK(ss_index_add(x, NULL, v, 3, &err) == SS_OK);
        int64_t ids[3];
        float sc[3];
        CHECK(ss_index_search(x, v, 1, 3, NULL, ids, sc, &err) == SS_OK);
        CHECK(ids[0] == 0);
        CHECKF(fabsf(sc[0] - 1) < 1e-6f, "tiny vector scores %g against itself", (double)sc[0]);
        for (int i = 0; i < 3; i++) CHECK(isfinite(sc[i]));
        float q[4] = {2, 0, 0, 0};
        CHECK(ss_index_search(x, q, 1, 1, NULL, ids, sc, &err) == SS_OK);
        CHECK(ids[0] == 0 && fabsf(sc[0] - 1) < 1e-6f);
        float zero[4] = {0};
        CHECK(ss_index_add(x, NULL, zero, 1, &err) == SS_ERR_INVALID);
        CHECK_CONTAINS(err.msg, "all zeros");
        ss_index_free(x);
    }
}

static void test_injected_pool(void) {
    const size_t n = 6000, nq = 40;
    const int d = 24;
    float *base = gen_clustered(n, d, 12, 0.4f, 9);
    ss_error err;
    ss_pool *pool = ss_pool_new(3);
    REQUIRE(pool);
    for (int t = 0; t < 2; t++) {
        ss_index_options oa = {.type = t ? SS_INDEX_HNSW : SS_INDEX_FLAT, .n_threads = 1};
        ss_index_options ob = oa;
        ob.pool = pool;
        ss_index *a = ss_index_new(d, &oa, &err), *b = ss_index_new(d, &ob, &err);
        REQUIRE(a && b);
        CHECK(b->n_threads == ss_pool_threads(pool));
        CHECK(ss_index_add(a, NULL, base, n, &err) == SS_OK);
        CHECK(ss_index_add(b, NULL, base, n, &err) == SS_OK);
        int64_t ia[nq * 10], ib[nq * 10];
        float sa[nq * 10], sb[nq * 10];
        CHECK(ss_index_search(a, base, nq, 10, NULL, ia, sa, &err) == SS_OK);
        CHECK(ss_index_search(b, base, nq, 10, NULL, ib, sb, &err) == SS_OK);
        if (!t) {
            /* exact: identical whatever the threads */
            CHECK(memcmp(ia, ib, sizeof ia) == 0 && memcmp(sa, sb, sizeof sa) == 0);
        } else {
            /* HNSW built on 3 threads: another graph, same quality */
            int64_t want[nq * 10];
            for (size_t q = 0; q < nq; q++)
                ref_search(base, n, d, NULL, NULL, SS_METRIC_COSINE, base + q * d, 10, want + q * 10, NULL);
            double ra = recall_at(ia, want, nq, 10), rb = recall_at(ib, want, nq, 10);
            printf("HNSW recall@10: own pool (1 thread) %.3f, injected pool (3) %.3f\n", ra, rb);
            CHECK(rb >= 0.95 && ra >= 0.95);
        }
        ss_index_free(a);
        ss_index_free(b);
    }
    ss_pool_free(pool);
    free(base);
}

/* fuzz finding index-3: candidate buffers were sized 256 x k x oversample
 * whatever the query count and index size (k=100000 on 40 int8 vectors asked
 * for 614 MB), and a caller's oversample was not bounded at all */
static void test_candidate_bounds(void) {
    const int d = 8, n = 40, k = 100000;
    float v[40 * 8];
    for (int i = 0; i < n * d; i++) v[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
    ss_error err = {0};
    ss_index_options o = {.quantize = SS_QUANT_INT8};
    ss_index *x = ss_index_new(d, &o, &err);
    REQUIRE(x);
    CHECK(ss_index_add(x, NULL, v, n, &err) == SS_OK);
    int64_t *ids = malloc(sizeof(int64_t) * k);
    float *sc = malloc(sizeof(float) * k);
    REQUIRE(ids && sc);
    CHECKF(ss_index_search(x, v, 1, k, NULL, ids, sc, &err) == SS_OK, "%s", err.msg);
    CHECK(ids[0] >= 0 && ids[n - 1] >= 0 && ids[n] == -1); /* n hits, then padding */
    ss_search_params p = {.oversample = 1e30f};
    CHECK(ss_index_search(x, v, 1, 10, &p, ids, sc, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "oversample");
    p.oversample = NAN;
    CHECK(ss_index_search(x, v, 1, 10, &p, ids, sc, &err) == SS_ERR_INVALID);
    free(ids);
    free(sc);
    ss_index_free(x);
}

int main(void) {
    test_candidate_bounds();
    test_many_threads();
    test_heap_grow_failure();
    test_readers_do_not_wait();
    test_non_finite();
    test_injected_pool();
    return TEST_REPORT();
}
