/* HNSW: recall vs the exact reference (synthetic clustered vectors and a
 * committed sample of real all-MiniLM-L6-v2 ArguAna embeddings), int8 and
 * binary+rescore, filters (never a disallowed id; exact fallback when very
 * selective), deletes (never returned; slots reused; compact), upserts,
 * save/load round trips (identical results), corrupt / truncated files. */
#include <unistd.h>

#include "index/kernels.h"
#include "idx_util.h"
#include "test.h"

static double recall_of(ss_index *x, const float *base, size_t n, const float *qs, size_t nq, int d, int k, int ef,
                        ss_metric metric) {
    int64_t *truth = malloc(nq * k * sizeof *truth), *got = malloc(nq * k * sizeof *got);
    float *sc = malloc(nq * k * sizeof *sc);
    for (size_t q = 0; q < nq; q++) ref_search(base, n, d, NULL, NULL, metric, qs + q * d, k, truth + q * k, NULL);
    ss_search_params p = {.ef_search = ef};
    ss_error err;
    CHECK(ss_index_search(x, qs, nq, k, &p, got, sc, &err) == SS_OK);
    double r = recall_at(got, truth, nq, k);
    free(truth), free(got), free(sc);
    return r;
}

/* committed real-embedding sample: "SSF16" header, n, d, then n*d halves */
static float *load_sample(const char *path, size_t *n, int *d) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char magic[8];
    uint32_t hdr[2];
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "SSF16\0\0\0", 8) || fread(hdr, 4, 2, f) != 2) {
        fclose(f);
        return NULL;
    }
    *n = hdr[0], *d = (int)hdr[1];
    size_t m = *n * (size_t)*d;
    uint16_t *h = malloc(m * 2);
    float *v = malloc(m * 4);
    if (fread(h, 2, m, f) != m) {
        fclose(f);
        free(h), free(v);
        return NULL;
    }
    fclose(f);
    for (size_t i = 0; i < m; i++) v[i] = ss_half_to_float(h[i]);
    free(h);
    return v;
}

static int allow_mod7(void *user, int64_t id) {
    (void)user;
    return id % 7 == 3;
}

static void check_same_results(ss_index *a, ss_index *b, const float *qs, size_t nq, int k, const char *what) {
    int64_t *ia = malloc(nq * k * 8), *ib = malloc(nq * k * 8);
    float *sa = malloc(nq * k * 4), *sb = malloc(nq * k * 4);
    ss_error err;
    CHECK(ss_index_search(a, qs, nq, k, NULL, ia, sa, &err) == SS_OK);
    CHECK(ss_index_search(b, qs, nq, k, NULL, ib, sb, &err) == SS_OK);
    CHECKF(memcmp(ia, ib, nq * k * 8) == 0 && memcmp(sa, sb, nq * k * 4) == 0, "%s: results differ after reload",
           what);
    free(ia), free(ib), free(sa), free(sb);
}

int main(void) {
    ss_error err = {0};
    const int k = 10;
    /* ---------------- synthetic clustered vectors, all quantisations */
    {
        int d = 64;
        size_t n = 5000, nq = 150;
        float *base = gen_clustered(n, d, 50, 0.25f, 11), *qs = malloc(nq * d * sizeof *qs);
        rng rq = {12}; /* queries: noisy copies of base rows */
        for (size_t q = 0; q < nq; q++)
            for (int j = 0; j < d; j++) qs[q * d + j] = base[(q * 37 % n) * d + j] + 0.03f * (float)rng_gauss(&rq);
        ss_quant qz[] = {SS_QUANT_NONE, SS_QUANT_FP16, SS_QUANT_INT8, SS_QUANT_BINARY};
        double need[] = {0.95, 0.95, 0.93, 0.85};
        for (int i = 0; i < 4; i++) {
            ss_index_options o = {.type = SS_INDEX_HNSW, .metric = SS_METRIC_COSINE, .quantize = qz[i], .n_threads = 2};
            ss_index *x = ss_index_new(d, &o, &err);
            REQUIRE(x);
            CHECK(ss_index_add(x, NULL, base, n, &err) == SS_OK);
            double r = recall_of(x, base, n, qs, nq, d, k, qz[i] == SS_QUANT_BINARY ? 200 : 64, SS_METRIC_COSINE);
            printf("synthetic 5000x64 cosine %s: recall@10 = %.4f\n", ss_quant_name(qz[i]), r);
            CHECKF(r >= need[i], "%s recall %.4f < %.2f", ss_quant_name(qz[i]), r, need[i]);
            ss_index_free(x);
        }
        /* l2 and dot metrics */
        ss_metric ms[] = {SS_METRIC_L2, SS_METRIC_DOT};
        for (int i = 0; i < 2; i++) {
            ss_index_options o = {.type = SS_INDEX_HNSW, .metric = ms[i], .n_threads = 1};
            ss_index *x = ss_index_new(d, &o, &err);
            CHECK(ss_index_add(x, NULL, base, n, &err) == SS_OK);
            double r = recall_of(x, base, n, qs, nq, d, k, 64, ms[i]);
            printf("synthetic %s: recall@10 = %.4f\n", ss_metric_name(ms[i]), r);
            CHECK(r >= 0.95);
            ss_index_free(x);
        }
        free(base), free(qs);
    }

    /* ---------------- real embeddings: ArguAna sample (committed) */
    size_t n = 0;
    int d = 0;
    float *all = load_sample(SEMSEARCH_TESTS_DIR "/index/data/arguana_minilm_3000.f16", &n, &d);
    REQUIRE(all && n > 1000 && d == 384);
    size_t nq = 300, nb = n - nq; /* the last 300 rows are ArguAna query embeddings */
    const float *base = all, *qs = all + nb * d;
    ss_index_options o = {.type = SS_INDEX_HNSW, .metric = SS_METRIC_COSINE, .n_threads = 2};
    ss_index *x = ss_index_new(d, &o, &err);
    REQUIRE(x);
    CHECK(ss_index_add(x, NULL, base, nb, &err) == SS_OK);
    double r = recall_of(x, base, nb, qs, nq, d, k, 64, SS_METRIC_COSINE);
    printf("ArguAna %zu docs, %zu queries, fp32 HNSW ef=64: recall@10 = %.4f\n", nb, nq, r);
    CHECKF(r >= 0.95, "real-embedding recall %.4f < 0.95", r);
    {
        ss_index_options oq = {.type = SS_INDEX_HNSW, .metric = SS_METRIC_COSINE, .quantize = SS_QUANT_INT8};
        ss_index *y = ss_index_new(d, &oq, &err);
        CHECK(ss_index_add(y, NULL, base, nb, &err) == SS_OK);
        double ri = recall_of(y, base, nb, qs, nq, d, k, 64, SS_METRIC_COSINE);
        printf("ArguAna int8+rescore HNSW ef=64: recall@10 = %.4f\n", ri);
        CHECK(ri >= 0.95);
        ss_index_free(y);
        oq.quantize = SS_QUANT_BINARY;
        y = ss_index_new(d, &oq, &err);
        CHECK(ss_index_add(y, NULL, base, nb, &err) == SS_OK);
        double rb = recall_of(y, base, nb, qs, nq, d, k, 128, SS_METRIC_COSINE);
        printf("ArguAna binary+rescore HNSW ef=128: recall@10 = %.4f\n", rb);
        CHECK(rb >= 0.90);
        ss_index_free(y);
    }
    {
        /* fp16 walk + fp32 rescore (keep_fp32 = 1): the graph is built from the
         * fp32 copy, the walk reads fp16 codes, returned scores are the fp32
         * cosines (checked against a double-precision dot of the normalised
         * vectors: fp16 scores would be off by ~1e-3), and it survives save/load */
        ss_index_options oh = {.type = SS_INDEX_HNSW, .metric = SS_METRIC_COSINE, .quantize = SS_QUANT_FP16,
                               .keep_fp32 = 1, .n_threads = 1};
        ss_index *y = ss_index_new(d, &oh, &err);
        REQUIRE(y);
        CHECK(ss_index_add(y, NULL, base, nb, &err) == SS_OK);
        double rh = recall_of(y, base, nb, qs, nq, d, k, 64, SS_METRIC_COSINE);
        printf("ArguAna fp16+fp32 rescore HNSW ef=64: recall@10 = %.4f\n", rh);
        CHECK(rh >= 0.95);
        int64_t *hi = malloc(nq * k * 8);
        float *hs = malloc(nq * k * 4);
        ss_search_params hp = {.ef_search = 64};
        CHECK(ss_index_search(y, qs, nq, k, &hp, hi, hs, &err) == SS_OK);
        double worst = 0;
        for (size_t q = 0; q < nq; q++)
            for (int j = 0; j < k; j++) {
                const float *a = qs + q * d, *b = base + (size_t)hi[q * k + j] * d;
                double ab = 0, aa = 0, bb = 0;
                for (int t = 0; t < d; t++) ab += (double)a[t] * b[t], aa += (double)a[t] * a[t], bb += (double)b[t] * b[t];
                double e = fabs(ab / sqrt(aa * bb) - (double)hs[q * k + j]);
                if (e > worst) worst = e;
                if (j) CHECK(hs[q * k + j] <= hs[q * k + j - 1]);
            }
        printf("fp16+fp32 rescore: largest score error vs double %.2e\n", worst);
        CHECKF(worst < 1e-5, "fp16+fp32 scores are not the fp32 cosines (error %.2e)", worst);
        char path[] = "/tmp/ss_hnsw_f16raw_XXXXXX";
        int fd = mkstemp(path);
        REQUIRE(fd >= 0);
        close(fd);
        CHECK(ss_index_save(y, path, &err) == SS_OK);
        ss_index *z = ss_index_load(path, &err);
        REQUIRE(z);
        check_same_results(y, z, qs, nq, k, "fp16+fp32");
        ss_index_free(z);
        unlink(path);
        free(hi), free(hs);
        ss_index_free(y);
    }

    /* ---------------- filters */
    int64_t *got = malloc(nq * k * 8);
    float *sc = malloc(nq * k * 4);
    size_t words = (nb + 63) / 64;
    uint64_t *bits = calloc(words, 8);
    int pct[] = {30, 5, 1};
    for (int t = 0; t < 3; t++) {
        memset(bits, 0, words * 8);
        rng rr = {(uint64_t)t + 1};
        size_t allowed = 0;
        for (size_t i = 0; i < nb; i++)
            if ((int)(rng_next(&rr) % 100) < pct[t]) bits[i / 64] |= 1ull << (i % 64), allowed++;
        ss_filter f = {bits, (int64_t)nb, NULL, NULL};
        ss_search_params p = {.ef_search = 64, .filter = &f};
        CHECK(ss_index_search(x, qs, nq, k, &p, got, sc, &err) == SS_OK);
        int bad = 0, missing = 0;
        for (size_t i = 0; i < nq * k; i++) {
            if (got[i] < 0) {
                missing++;
                continue;
            }
            if (!((bits[got[i] / 64] >> (got[i] % 64)) & 1)) bad++;
        }
        /* recall against the filtered exact answer */
        unsigned char *alive = malloc(nb);
        for (size_t i = 0; i < nb; i++) alive[i] = (bits[i / 64] >> (i % 64)) & 1;
        int64_t *truth = malloc(nq * k * 8);
        for (size_t q = 0; q < nq; q++)
            ref_search(base, nb, d, NULL, alive, SS_METRIC_COSINE, qs + q * d, k, truth + q * k, NULL);
        double rf = recall_at(got, truth, nq, k);
        printf("filter %d%% allowed (%zu ids): recall@10 = %.4f, disallowed returned = %d\n", pct[t], allowed, rf, bad);
        CHECKF(bad == 0, "%d disallowed ids returned with a %d%% filter", bad, pct[t]);
        CHECK(missing == 0);
        CHECK(rf >= 0.9);
        free(alive), free(truth);
    }
    ss_filter fc = {NULL, 0, allow_mod7, NULL};
    ss_search_params pc = {.filter = &fc};
    CHECK(ss_index_search(x, qs, nq, k, &pc, got, sc, &err) == SS_OK);
    int badc = 0;
    for (size_t i = 0; i < nq * k; i++) badc += got[i] < 0 || got[i] % 7 != 3;
    CHECKF(badc == 0, "callback filter: %d bad ids", badc);

    /* ---------------- save / load round trip, corrupt files */
    char path[256], path2[256];
    snprintf(path, sizeof path, "/tmp/ss_index_test_%d.idx", (int)getpid());
    snprintf(path2, sizeof path2, "/tmp/ss_index_test_%d.bad", (int)getpid());
    CHECK(ss_index_save(x, path, &err) == SS_OK);
    ss_index *y = ss_index_load(path, &err);
    REQUIRE(y);
    check_same_results(x, y, qs, nq, k, "hnsw fp32");
    {
        size_t len;
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        len = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        unsigned char *buf = malloc(len);
        CHECK(fread(buf, 1, len, f) == len);
        fclose(f);
        /* truncated */
        f = fopen(path2, "wb");
        fwrite(buf, 1, len - 1000, f);
        fclose(f);
        CHECK(ss_index_load(path2, &err) == NULL && err.code == SS_ERR_FORMAT);
        CHECK_CONTAINS(err.msg, "truncated");
        /* one flipped byte in the middle of the vectors */
        buf[len / 3] ^= 0x10;
        f = fopen(path2, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        CHECK(ss_index_load(path2, &err) == NULL && err.code == SS_ERR_FORMAT);
        CHECK_CONTAINS(err.msg, "checksum");
        buf[len / 3] ^= 0x10;
        buf[20] ^= 1; /* header */
        f = fopen(path2, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        CHECK(ss_index_load(path2, &err) == NULL);
        CHECK_CONTAINS(err.msg, "header checksum");
        f = fopen(path2, "wb");
        fwrite("hello", 1, 5, f);
        fclose(f);
        CHECK(ss_index_load(path2, &err) == NULL);
        CHECK_CONTAINS(err.msg, "truncated");
        CHECK(ss_index_load("/nonexistent/x.idx", &err) == NULL && err.code == SS_ERR_NOT_FOUND);
        free(buf);
        unlink(path2);
    }

    /* ---------------- deletes on the loaded (mmapped) copy */
    int64_t *rm = malloc(nb * 8);
    size_t nrm = 0;
    for (size_t i = 0; i < nb; i++)
        if (i % 3 == 0) rm[nrm++] = (int64_t)i;
    size_t removed;
    CHECK(ss_index_remove(y, rm, nrm, &removed, &err) == SS_OK && removed == nrm);
    CHECK(ss_index_search(y, qs, nq, k, NULL, got, sc, &err) == SS_OK);
    int leaked = 0;
    for (size_t i = 0; i < nq * k; i++) leaked += got[i] < 0 || got[i] % 3 == 0;
    CHECKF(leaked == 0, "%d deleted ids returned", leaked);
    unsigned char *alive = malloc(nb);
    for (size_t i = 0; i < nb; i++) alive[i] = i % 3 != 0;
    int64_t *truth = malloc(nq * k * 8);
    for (size_t q = 0; q < nq; q++) ref_search(base, nb, d, NULL, alive, SS_METRIC_COSINE, qs + q * d, k, truth + q * k, NULL);
    double rd = recall_at(got, truth, nq, k);
    printf("after deleting 1/3: recall@10 = %.4f\n", rd);
    CHECK(rd >= 0.93);
    /* the original file is untouched by changes to the mapped copy */
    ss_index *z = ss_index_load(path, &err);
    REQUIRE(z);
    check_same_results(x, z, qs, nq, k, "file unchanged");
    ss_index_free(z);
    /* re-add the deleted ones under new ids: slots are reused */
    int64_t *nid = malloc(nrm * 8);
    float *vv = malloc(nrm * d * 4);
    for (size_t i = 0; i < nrm; i++) nid[i] = 100000 + rm[i], memcpy(vv + i * d, base + rm[i] * d, d * 4);
    CHECK(ss_index_add(y, nid, vv, nrm, &err) == SS_OK);
    ss_index_stats st;
    ss_index_get_stats(y, &st);
    CHECKF(st.slots == (int64_t)nb && st.count == (int64_t)nb && st.deleted == 0, "slots %lld count %lld",
           (long long)st.slots, (long long)st.count);
    CHECK(ss_index_search(y, qs, nq, k, NULL, got, sc, &err) == SS_OK);
    for (size_t i = 0; i < nq * k; i++) got[i] = got[i] >= 100000 ? got[i] - 100000 : got[i];
    for (size_t q = 0; q < nq; q++) ref_search(base, nb, d, NULL, NULL, SS_METRIC_COSINE, qs + q * d, k, truth + q * k, NULL);
    double rr = recall_at(got, truth, nq, k);
    printf("after re-adding into reused slots: recall@10 = %.4f\n", rr);
    CHECK(rr >= 0.93);
    /* upsert: move id 5 onto query 0's exact position */
    CHECK(ss_index_add(y, (int64_t[]){5}, qs, 1, &err) == SS_OK);
    CHECK(ss_index_search(y, qs, 1, 1, NULL, got, sc, &err) == SS_OK);
    CHECK(got[0] == 5 && fabsf(sc[0] - 1.0f) < 1e-5);
    /* compact: no tombstones, same answers for most queries */
    CHECK(ss_index_remove(y, rm, nrm / 2, &removed, &err) == SS_OK);
    CHECK(ss_index_compact(y, &err) == SS_OK);
    ss_index_get_stats(y, &st);
    CHECK(st.deleted == 0 && st.count == st.slots);
    CHECK(ss_index_save(y, path, &err) == SS_OK);
    z = ss_index_load(path, &err);
    REQUIRE(z);
    check_same_results(y, z, qs, nq, k, "after compact");
    ss_index_free(z);
    /* flat + int8 round trip */
    {
        ss_index_options of = {.type = SS_INDEX_FLAT, .metric = SS_METRIC_L2, .quantize = SS_QUANT_INT8};
        ss_index *a = ss_index_new(d, &of, &err);
        CHECK(ss_index_add(a, NULL, base, 1000, &err) == SS_OK);
        CHECK(ss_index_save(a, path, &err) == SS_OK);
        ss_index *b = ss_index_load(path, &err);
        REQUIRE(b);
        check_same_results(a, b, qs, 20, k, "flat int8");
        ss_index_free(a), ss_index_free(b);
    }
    unlink(path);
    ss_index_free(x), ss_index_free(y);
    free(all), free(got), free(sc), free(bits), free(rm), free(alive), free(truth), free(nid), free(vv);
    return TEST_REPORT();
}
