/* Flat (exact) index vs the brute-force scalar reference: identical ids
 * (ties broken by id) on integer-valued data where every kernel is exact,
 * batched and single queries, fp32 and fp16, all metrics; plus removes,
 * upserts, filters and error messages. */
#include "idx_util.h"
#include "test.h"

static void exact_case(ss_metric metric, ss_quant quant, int d, size_t n, size_t nq, int k, int nth) {
    float *base = gen_int(n, d, 3, 100 + d), *qs = gen_int(nq, d, 3, 200 + d);
    int64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int64_t)(n - i) * 3; /* ids unrelated to row order */
    ss_index_options o = {.type = SS_INDEX_FLAT, .metric = metric, .quantize = quant, .n_threads = nth};
    ss_error err = {0};
    ss_index *x = ss_index_new(d, &o, &err);
    REQUIRE(x);
    /* add in two batches */
    CHECK(ss_index_add(x, ids, base, n / 3, &err) == SS_OK);
    CHECK(ss_index_add(x, ids + n / 3, base + (n / 3) * d, n - n / 3, &err) == SS_OK);
    int64_t *got = malloc(nq * k * sizeof *got), *want = malloc(nq * k * sizeof *want), one[64];
    float *sc = malloc(nq * k * sizeof *sc), onesc[64];
    double *wsc = malloc(nq * k * sizeof *wsc);
    /* fp32 batches: nq >= 8 take the sgemm path, 4 <= nq < 8 the 4-query kernel */
    CHECK(ss_index_search(x, qs, nq, k, NULL, got, sc, &err) == SS_OK);
    int bad = 0, badsc = 0, badone = 0;
    for (size_t q = 0; q < nq; q++) {
        ref_search(base, n, d, ids, NULL, metric, qs + q * d, k, want + q * k, wsc + q * k);
        for (int i = 0; i < k; i++) {
            if (got[q * k + i] != want[q * k + i]) bad++;
            double tol = metric == SS_METRIC_COSINE ? 1e-5 : 0;
            if (fabs(sc[q * k + i] - wsc[q * k + i]) > tol) badsc++;
        }
        if (metric != SS_METRIC_COSINE) { /* single-query path too */
            ss_index_search(x, qs + q * d, 1, k, NULL, one, onesc, &err);
            for (int i = 0; i < k; i++) badone += one[i] != want[q * k + i];
        }
    }
    if (metric == SS_METRIC_COSINE) {
        /* cosine normalises (rounding): allow swaps only among near-equal scores */
        int real = 0;
        for (size_t q = 0; q < nq; q++)
            for (int i = 0; i < k; i++)
                if (got[q * k + i] != want[q * k + i] && fabs(wsc[q * k + i] - sc[q * k + i]) > 1e-5) real++;
        bad = real;
    }
    CHECKF(bad == 0, "%s/%s d=%d: %d ids differ from the reference", ss_metric_name(metric), ss_quant_name(quant), d,
           bad);
    CHECKF(badsc == 0, "%s/%s d=%d: %d scores differ", ss_metric_name(metric), ss_quant_name(quant), d, badsc);
    CHECKF(badone == 0, "%s/%s d=%d: single-query path differs %d", ss_metric_name(metric), ss_quant_name(quant),
           d, badone);
    /* descending similarity / ascending distance */
    int order = 0;
    for (size_t q = 0; q < nq; q++)
        for (int i = 1; i < k; i++)
            if (metric == SS_METRIC_L2 ? sc[q * k + i] < sc[q * k + i - 1] : sc[q * k + i] > sc[q * k + i - 1]) order++;
    CHECK(order == 0);
    ss_index_free(x);
    free(base), free(qs), free(ids), free(got), free(want), free(sc), free(wsc);
}

static int allow_even(void *user, int64_t id) {
    (void)user;
    return id % 2 == 0;
}

/* Real-valued vectors stored twice (slots far apart, in different scan blocks
 * and thread ranges): both copies score bit-identically and the smaller id
 * comes first, in the batched (sgemm) and the single-query path. */
static void duplicate_ties(int nth) {
    int d = 384;
    size_t n = 4000, nq = 24;
    float *base = gen_clustered(n, d, 20, 0.5f, 77);
    for (size_t i = 0; i < nq; i++) memcpy(base + (3000 + i) * d, base + (i * 37) * d, (size_t)d * 4);
    int64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int64_t)(n - i); /* copy at 3000+i has the smaller id */
    float *qs = malloc(nq * (size_t)d * 4);
    for (size_t i = 0; i < nq; i++) memcpy(qs + i * d, base + (i * 37) * d, (size_t)d * 4);
    ss_index_options o = {.type = SS_INDEX_FLAT, .metric = SS_METRIC_DOT, .n_threads = nth};
    ss_error err = {0};
    ss_index *x = ss_index_new(d, &o, &err);
    REQUIRE(x);
    CHECK(ss_index_add(x, ids, base, n, &err) == SS_OK);
    int64_t got[24 * 2], one[2];
    float sc[24 * 2], onesc[2];
    CHECK(ss_index_search(x, qs, nq, 2, NULL, got, sc, &err) == SS_OK);
    int bad = 0;
    for (size_t q = 0; q < nq; q++) {
        int64_t lo = (int64_t)(n - (3000 + q)), hi = (int64_t)(n - q * 37);
        bad += got[2 * q] != lo || got[2 * q + 1] != hi || sc[2 * q] != sc[2 * q + 1];
        CHECK(ss_index_search(x, qs + q * d, 1, 2, NULL, one, onesc, &err) == SS_OK);
        bad += one[0] != lo || one[1] != hi || onesc[0] != onesc[1];
    }
    CHECKF(bad == 0, "%d duplicate pairs not tied or not ordered by id (%d threads)", bad, nth);
    /* k = 10: a batch gives bit-identical ids and scores to one query at a time */
    int64_t g10[24 * 10], o10[10];
    float s10[24 * 10], os10[10];
    CHECK(ss_index_search(x, qs, nq, 10, NULL, g10, s10, &err) == SS_OK);
    int differ = 0;
    for (size_t q = 0; q < nq; q++) {
        CHECK(ss_index_search(x, qs + q * d, 1, 10, NULL, o10, os10, &err) == SS_OK);
        differ += memcmp(o10, g10 + q * 10, sizeof o10) != 0 || memcmp(os10, s10 + q * 10, sizeof os10) != 0;
    }
    CHECKF(differ == 0, "%d queries differ between the batch and one at a time (%d threads)", differ, nth);
    ss_index_free(x);
    free(base), free(ids), free(qs);
}

/* 40 copies of one vector scattered over the index, a batch whose first
 * query is that vector, k = 10: more near-ties than the GEMM path's slack, so
 * it must fall back to the exact rescan and return the 10 smallest ids. */
static void many_duplicates(int nth) {
    int d = 384;
    size_t n = 5000, nq = 12, ncopy = 40;
    float *base = gen_clustered(n, d, 8, 0.5f, 91);
    int64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int64_t)((i * 7919) % n); /* a permutation of 0..n-1 */
    int64_t want[40];
    for (size_t c = 0; c < ncopy; c++) {
        size_t row = 17 + c * 123;
        memcpy(base + row * d, base + 5 * d, (size_t)d * 4);
        want[c] = ids[row];
    }
    for (size_t i = 1; i < ncopy; i++) /* insertion sort: the ids expected first */
        for (size_t j = i; j > 0 && want[j] < want[j - 1]; j--) {
            int64_t t = want[j];
            want[j] = want[j - 1], want[j - 1] = t;
        }
    float *qs = malloc(nq * (size_t)d * 4);
    for (size_t i = 0; i < nq; i++) memcpy(qs + i * d, base + (i == 0 ? 5 : 1000 + i) * d, (size_t)d * 4);
    for (int m = 0; m < 2; m++) {
        ss_index_options o = {.type = SS_INDEX_FLAT, .metric = m ? SS_METRIC_L2 : SS_METRIC_DOT, .n_threads = nth};
        ss_error err = {0};
        ss_index *x = ss_index_new(d, &o, &err);
        REQUIRE(x);
        CHECK(ss_index_add(x, ids, base, n, &err) == SS_OK);
        int64_t got[12 * 10];
        float sc[12 * 10];
        CHECK(ss_index_search(x, qs, nq, 10, NULL, got, sc, &err) == SS_OK);
        int bad = 0;
        for (int i = 0; i < 10; i++) bad += got[i] != want[i] || sc[i] != sc[0];
        CHECKF(bad == 0, "%s, %d threads: %d of the top 10 are not the smallest ids among 40 tied copies",
               m ? "l2" : "dot", nth, bad);
        ss_index_free(x);
    }
    free(base), free(ids), free(qs);
}

int main(void) {
    many_duplicates(1);
    many_duplicates(2);
    duplicate_ties(1);
    duplicate_ties(2);
    /* The sgemm path runs one slot range per pool thread when OpenBLAS is
     * single-threaded (the CLI's setting), else one range on OpenBLAS's own
     * threads: both give the exact answer. Default setting first. */
    for (int blas = 0; blas < 2; blas++) {
        if (blas) ss_blas_set_single_threaded();
        for (int nth = 1; nth <= 2; nth++) {
            exact_case(SS_METRIC_L2, SS_QUANT_NONE, 40, 2600, 300, 5, nth);
            exact_case(SS_METRIC_COSINE, SS_QUANT_NONE, 48, 2000, 13, 10, nth);
        }
    }
    for (int nth = 1; nth <= 2; nth++) {
        exact_case(SS_METRIC_DOT, SS_QUANT_NONE, 37, 3001, 41, 10, nth);
        exact_case(SS_METRIC_DOT, SS_QUANT_NONE, 37, 3001, 6, 10, nth); /* 4-query kernel + 2 single */
        exact_case(SS_METRIC_L2, SS_QUANT_NONE, 40, 2600, 300, 5, nth);  /* sgemm, several query chunks */
        exact_case(SS_METRIC_L2, SS_QUANT_NONE, 64, 2500, 9, 7, nth);
        exact_case(SS_METRIC_COSINE, SS_QUANT_NONE, 48, 2000, 13, 10, nth);
    }
    exact_case(SS_METRIC_DOT, SS_QUANT_FP16, 33, 1500, 17, 10, 2);
    exact_case(SS_METRIC_L2, SS_QUANT_FP16, 16, 1500, 5, 10, 1);

    /* removes, upserts, filters on a small random set */
    int d = 24;
    size_t n = 500;
    float *base = gen_clustered(n, d, 10, 0.3f, 5);
    ss_error err = {0};
    ss_index_options o = {.metric = SS_METRIC_DOT};
    ss_index *x = ss_index_new(d, &o, &err);
    REQUIRE(x);
    CHECK(ss_index_add(x, NULL, base, n, &err) == SS_OK); /* ids 0..n-1 */
    int64_t rm[250];
    for (int i = 0; i < 250; i++) rm[i] = 2 * i + 1; /* remove odd ids */
    size_t removed = 0;
    CHECK(ss_index_remove(x, rm, 250, &removed, &err) == SS_OK);
    CHECK(removed == 250);
    CHECK(!ss_index_contains(x, 1) && ss_index_contains(x, 2));
    int64_t got[50];
    float sc[50];
    int leaked = 0;
    for (size_t q = 0; q < 20; q++) {
        CHECK(ss_index_search(x, base + q * d, 1, 50, NULL, got, sc, &err) == SS_OK);
        for (int i = 0; i < 50; i++) leaked += got[i] % 2 != 0;
    }
    CHECKF(leaked == 0, "%d removed ids returned", leaked);
    ss_index_stats st;
    ss_index_get_stats(x, &st);
    CHECK(st.count == 250 && st.deleted == 250);
    /* re-add 100 new ids: slots are reused */
    int64_t nid[100];
    for (int i = 0; i < 100; i++) nid[i] = 10000 + i;
    CHECK(ss_index_add(x, nid, base, 100, &err) == SS_OK);
    ss_index_get_stats(x, &st);
    CHECKF(st.slots == (int64_t)n && st.count == 350 && st.deleted == 150, "slots %lld count %lld deleted %lld",
           (long long)st.slots, (long long)st.count, (long long)st.deleted);
    /* upsert id 0 with the vector of row 499: searching row 499 finds 0 and 499 tied */
    CHECK(ss_index_add(x, (int64_t[]){0}, base + 498 * d, 1, &err) == SS_OK);
    CHECK(ss_index_search(x, base + 498 * d, 1, 2, NULL, got, sc, &err) == SS_OK);
    CHECK(got[0] == 0 && got[1] == 498 && sc[0] == sc[1]);
    /* filters: bitset and callback */
    uint64_t bits[8] = {0};
    for (int i = 0; i < 500; i += 20) bits[i / 64] |= 1ull << (i % 64);
    ss_filter f = {bits, 500, NULL, NULL};
    ss_search_params p = {.filter = &f};
    int disallowed = 0;
    for (size_t q = 0; q < 10; q++) {
        CHECK(ss_index_search(x, base + q * d, 1, 50, &p, got, sc, &err) == SS_OK);
        int valid = 0;
        for (int i = 0; i < 50; i++) {
            if (got[i] < 0) continue;
            valid++;
            disallowed += got[i] % 20 != 0;
        }
        CHECK(valid == 25);               /* ids 0,20,...,480 live and allowed */
        CHECK(got[49] == -1 && isinf(sc[49]));
    }
    ss_filter fc = {NULL, 0, allow_even, NULL};
    p.filter = &fc;
    CHECK(ss_index_search(x, base, 3, 10, &p, got, sc, &err) == SS_OK);
    for (int i = 0; i < 30; i++) disallowed += got[i] < 0 || got[i] % 2 != 0;
    CHECKF(disallowed == 0, "%d disallowed ids returned", disallowed);
    /* compact keeps results */
    int64_t before[30], after[30];
    CHECK(ss_index_search(x, base, 3, 10, NULL, before, sc, &err) == SS_OK);
    CHECK(ss_index_compact(x, &err) == SS_OK);
    ss_index_get_stats(x, &st);
    CHECK(st.deleted == 0 && st.slots == 350);
    CHECK(ss_index_search(x, base, 3, 10, NULL, after, sc, &err) == SS_OK);
    CHECK(memcmp(before, after, sizeof before) == 0);
    /* errors */
    float bad[24] = {0};
    bad[3] = NAN;
    CHECK(ss_index_add(x, NULL, bad, 1, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "dimension 3");
    CHECK(ss_index_search(x, base, 1, 0, NULL, got, sc, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "k=0");
    CHECK(ss_index_new(0, NULL, &err) == NULL);
    CHECK_CONTAINS(err.msg, "dimension 0");
    ss_index_free(x);
    ss_index *c = ss_index_new(4, NULL, &err);
    float zero[4] = {0};
    CHECK(ss_index_add(c, NULL, zero, 1, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "all zeros");
    ss_index_free(c);
    /* quantised flat: int8 / binary with fp32 rescoring, quantiser trained on a
     * tiny first batch; results still match the exact reference closely */
    {
        ss_quant qz[] = {SS_QUANT_INT8, SS_QUANT_BINARY};
        for (int t = 0; t < 2; t++) {
            ss_index_options oq = {.metric = SS_METRIC_COSINE, .quantize = qz[t]};
            ss_index *y = ss_index_new(d, &oq, &err);
            CHECK(ss_index_add(y, NULL, base, 1, &err) == SS_OK);
            CHECK(ss_index_add(y, NULL, base + d, n - 1, &err) == SS_OK);
            int64_t want[10];
            double wsc[10];
            size_t hit = 0;
            for (size_t q = 0; q < 30; q++) {
                CHECK(ss_index_search(y, base + q * 7 * d, 1, 10, NULL, got, sc, &err) == SS_OK);
                ref_search(base, n, d, NULL, NULL, SS_METRIC_COSINE, base + q * 7 * d, 10, want, wsc);
                for (int i = 0; i < 10; i++)
                    for (int j = 0; j < 10; j++) hit += got[i] == want[j];
            }
            printf("flat %s+rescore, tiny training batch: recall@10 = %.3f\n", ss_quant_name(qz[t]), hit / 300.0);
            CHECK(hit >= (t == 0 ? 290u : 250u));
            ss_index_free(y);
        }
    }
    free(base);
    return TEST_REPORT();
}
