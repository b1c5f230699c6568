/* test_encode_dedupe.c — identical texts are embedded once (issue 13, item 13:
 * 1e6 empty lines took ~11 minutes, each a full [CLS][SEP] forward pass).
 * 200,000 texts of which only three are distinct must finish in seconds and
 * give every copy the vector its text gets alone. Before the fix this is
 * 400,000 tokens of transformer work: minutes on 2 cores, far more under
 * ASan, so the time bound below catches a regression without being a
 * benchmark (the bound is ~100x what the fixed code needs). */
#include <time.h>

#include "semsearch.h"
#include "test.h"

#define N 200000

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void) {
    ss_error err = {0};
    ss_model_options mo = {.n_threads = 2};
    ss_model *m = ss_model_load(SEMSEARCH_MODEL_DIR, &mo, &err);
    if (!m) {
        fprintf(stderr, "cannot load %s: %s\n", SEMSEARCH_MODEL_DIR, err.msg);
        return 1;
    }
    const int d = ss_model_dim(m);
    /* "  " tokenizes to the same [CLS][SEP] as "" (whitespace only), so it
     * must share the empty text's vector */
    const char *distinct[3] = {"", "hello world", "  "};
    float alone[3][384];
    REQUIRE(d == 384);
    for (int i = 0; i < 3; i++) CHECK(ss_encode(m, &distinct[i], 1, NULL, alone[i], &err) == SS_OK);
    CHECK(memcmp(alone[0], alone[2], sizeof alone[0]) == 0);

    const char **texts = malloc(N * sizeof *texts);
    float *out = malloc((size_t)N * d * sizeof *out);
    REQUIRE(texts && out);
    for (int i = 0; i < N; i++) texts[i] = distinct[i % 7 == 3 ? 1 : (i % 2 ? 2 : 0)];
    double t0 = now();
    CHECKF(ss_encode(m, texts, N, NULL, out, &err) == SS_OK, "%s", err.msg);
    double secs = now() - t0;
    printf("%d texts (3 distinct) in %.2f s\n", N, secs);
    CHECKF(secs < 60, "took %.1f s: identical texts are being re-encoded", secs);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        const float *want = alone[i % 7 == 3 ? 1 : (i % 2 ? 2 : 0)];
        float maxd = 0;
        for (int j = 0; j < d; j++) {
            float e = fabsf(out[(size_t)i * d + j] - want[j]);
            if (e > maxd) maxd = e;
        }
        bad += maxd > 1e-6f;
    }
    CHECKF(bad == 0, "%d of %d rows differ from their text encoded alone by > 1e-6", bad, N);
    free(texts);
    free(out);
    ss_model_free(m);
    return TEST_REPORT();
}
