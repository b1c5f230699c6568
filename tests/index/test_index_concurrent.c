/* Concurrent searches while one writer inserts, upserts and removes (HNSW and
 * flat; HNSW also with m = 4, whose full link lists are rewritten all the
 * time). Run under ThreadSanitizer by tests/index/run-tsan.sh; in the normal
 * build it checks the invariants: a search only returns ids whose insertion
 * has begun, never an id removed before the search started, and results are
 * sorted; ss_index_contains and ss_index_get_stats, called beside the writer,
 * agree with what was added and removed. */
#include <pthread.h>
#include <time.h>

#include "idx_util.h"
#include "test.h"

#define D 32
#define N 6000
#define BATCH 100

typedef struct shared {
    ss_index *x;
    const float *base;
    int64_t inserted; /* atomic: ids < inserted were added (or are being added) */
    int64_t removed_upto; /* atomic: ids < removed_upto with id % 5 == 0 are removed */
    int done;             /* atomic */
    int bad_unknown, bad_removed, bad_order, searches;
    int readers; /* atomic: the first reader searches batches of 8 (the flat sgemm path) */
    int bad_contains, bad_stats, probes;
} shared;

/* contains / stats beside the writer: an id added (not a multiple of 5, so
 * never removed) is there; a removed one is not; counts are consistent */
static void *prober(void *arg) {
    shared *s = arg;
    rng r = {4242};
    while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
        int64_t rm = __atomic_load_n(&s->removed_upto, __ATOMIC_ACQUIRE);
        int64_t ins = __atomic_load_n(&s->inserted, __ATOMIC_ACQUIRE);
        int64_t id = (int64_t)(rng_next(&r) % (uint64_t)ins);
        int c = ss_index_contains(s->x, id);
        if (id % 5 != 0 && !c) __atomic_fetch_add(&s->bad_contains, 1, __ATOMIC_RELAXED);
        if (id % 5 == 0 && id < rm && c) __atomic_fetch_add(&s->bad_contains, 1, __ATOMIC_RELAXED);
        ss_index_stats st;
        ss_index_get_stats(s->x, &st);
        if (st.count < 0 || st.count > st.slots || st.deleted > st.slots || st.dim != D)
            __atomic_fetch_add(&s->bad_stats, 1, __ATOMIC_RELAXED);
        if ((__atomic_fetch_add(&s->probes, 1, __ATOMIC_RELAXED) & 63) == 63) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL); /* leave the writer some CPU */
        }
    }
    return NULL;
}

static void *reader(void *arg) {
    shared *s = arg;
    int who = __atomic_fetch_add(&s->readers, 1, __ATOMIC_RELAXED);
    size_t nq = who == 0 ? 8 : 1;
    rng r = {(uint64_t)who * 1000 + 77};
    int64_t all_ids[8 * 10];
    float all_sc[8 * 10];
    ss_error err;
    while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
        int64_t rm = __atomic_load_n(&s->removed_upto, __ATOMIC_ACQUIRE);
        const float *q = s->base + (rng_next(&r) % (N - nq + 1)) * D;
        if (ss_index_search(s->x, q, nq, 10, NULL, all_ids, all_sc, &err) != SS_OK) continue;
        int64_t hi = __atomic_load_n(&s->inserted, __ATOMIC_ACQUIRE) + BATCH;
        __atomic_fetch_add(&s->searches, 1, __ATOMIC_RELAXED);
        for (size_t qi = 0; qi < nq; qi++) {
            const int64_t *ids = all_ids + qi * 10;
            const float *sc = all_sc + qi * 10;
            for (int i = 0; i < 10; i++) {
                if (ids[i] < 0) continue;
                int64_t id = ids[i] >= 1000000 ? ids[i] - 1000000 : ids[i];
                if (id >= hi) __atomic_fetch_add(&s->bad_unknown, 1, __ATOMIC_RELAXED);
                if (ids[i] < rm && ids[i] % 5 == 0 && ids[i] < 1000000) __atomic_fetch_add(&s->bad_removed, 1, __ATOMIC_RELAXED);
                if (i && ids[i - 1] >= 0 && sc[i] > sc[i - 1]) __atomic_fetch_add(&s->bad_order, 1, __ATOMIC_RELAXED);
            }
        }
    }
    return NULL;
}

static void run(ss_index_type type, int m) {
    float *base = gen_clustered(N, D, 20, 0.4f, 3);
    ss_error err;
    ss_index_options o = {.type = type, .metric = SS_METRIC_COSINE, .n_threads = 2, .ef_construction = 40, .m = m};
    shared s = {0};
    s.x = ss_index_new(D, &o, &err);
    s.base = base;
    REQUIRE(s.x);
    CHECK(ss_index_add(s.x, NULL, base, BATCH, &err) == SS_OK);
    s.inserted = BATCH;
    pthread_t th[3];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, reader, &s);
    pthread_create(&th[2], NULL, prober, &s);
    int64_t ids[BATCH];
    for (int64_t b = BATCH; b < N; b += BATCH) {
        for (int i = 0; i < BATCH; i++) ids[i] = b + i;
        CHECK(ss_index_add(s.x, ids, base + b * D, BATCH, &err) == SS_OK);
        __atomic_store_n(&s.inserted, b + BATCH, __ATOMIC_RELEASE);
        /* remove every 5th id of the previous batch */
        int64_t rm[BATCH / 5];
        for (int i = 0; i < BATCH / 5; i++) rm[i] = b - BATCH + 5 * i;
        CHECK(ss_index_remove(s.x, rm, BATCH / 5, NULL, &err) == SS_OK);
        __atomic_store_n(&s.removed_upto, b, __ATOMIC_RELEASE);
        /* upsert a few old ones under new ids (reuses the freed slots) */
        int64_t up[3] = {1000000 + b, 1000001 + b, 1000002 + b};
        CHECK(ss_index_add(s.x, up, base + (b - BATCH) * D, 3, &err) == SS_OK);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL); /* let the readers run between batches */
    }
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    printf("%s m=%d: %d searches, %d contains/stats probes during inserts\n", type == SS_INDEX_HNSW ? "hnsw" : "flat",
           m, s.searches, s.probes);
    CHECK(s.searches > 0);
    CHECK(s.probes > 0);
    CHECKF(s.bad_contains == 0, "%d wrong ss_index_contains answers", s.bad_contains);
    CHECKF(s.bad_stats == 0, "%d inconsistent stats", s.bad_stats);
    CHECKF(s.bad_unknown == 0, "%d ids returned before their insertion began", s.bad_unknown);
    CHECKF(s.bad_removed == 0, "%d removed ids returned", s.bad_removed);
    CHECKF(s.bad_order == 0, "%d unsorted rows", s.bad_order);
    /* the final index still answers well */
    if (type == SS_INDEX_HNSW) {
        int64_t got[10], want[10];
        float sc[10];
        int hit = 0;
        unsigned char *alive = malloc(N);
        for (int i = 0; i < N; i++) alive[i] = !(i % 5 == 0 && i < N - BATCH);
        for (int q = 0; q < 50; q++) {
            const float *qv = base + (size_t)(q * 97 % N) * D;
            ss_index_search(s.x, qv, 1, 10, NULL, got, sc, &err);
            ref_search(base, N, D, NULL, alive, SS_METRIC_COSINE, qv, 10, want, NULL);
            for (int i = 0; i < 10; i++)
                for (int j = 0; j < 10; j++) {
                    int64_t g = got[i] >= 1000000 ? -2 : got[i];
                    if (g == want[j]) {
                        hit++;
                        break;
                    }
                }
        }
        printf("recall@10 after concurrent build (upserted copies excluded): %.3f\n", hit / 500.0);
        CHECK(hit >= (m == 4 ? 350 : 400));
        free(alive);
    }
    ss_index_free(s.x);
    free(base);
}

int main(void) {
    run(SS_INDEX_HNSW, 0);
    run(SS_INDEX_HNSW, 4);
    run(SS_INDEX_FLAT, 0);
    return TEST_REPORT();
}
