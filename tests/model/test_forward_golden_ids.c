/* The transformer + pooling alone, fed the reference's own token ids
 * (tests/golden/minilm_tokens.jsonl): isolates the forward pass from the
 * tokenizer. The first 256 STSb sentences and every hard case (the last
 * rows: long, empty, CJK...) must match sentence-transformers' embedding with
 * cosine >= 0.99999, in batches of 32 packed sequences. */
#include <stdint.h>

#include "core/threadpool.h"
#include "kernels/ops.h"
#include "model/config.h"
#include "model/pooling.h"
#include "model/transformer.h"
#include "test.h"
#include "test_util.h"

int main(void) {
    ss_error err;
    ss_tf_config cfg;
    ss_st_config st;
    ss_transformer tf;
    REQUIRE(ss_tf_config_load(&cfg, SEMSEARCH_MODEL_DIR, &err) == SS_OK);
    REQUIRE(ss_st_config_load(&st, SEMSEARCH_MODEL_DIR, &cfg, &err) == SS_OK);
    CHECK(st.pooling.mean && !st.pooling.cls && st.normalize && st.max_seq_length == 256);
    ss_status s = ss_transformer_load(&tf, &cfg, SEMSEARCH_MODEL_DIR, &err);
    if (s != SS_OK) fprintf(stderr, "%s\n", err.msg);
    REQUIRE(s == SS_OK);

    /* token ids of every golden text */
    FILE *f = fopen(SEMSEARCH_TESTS_DIR "/golden/minilm_tokens.jsonl", "rb");
    REQUIRE(f != NULL);
    size_t cap = 0, n = 0, nids = 0;
    int32_t *ids = malloc(1 << 22);
    int *offs = malloc(8192 * sizeof *offs);
    char *line = NULL;
    offs[0] = 0;
    while (getline(&line, &cap, f) >= 0 && n < 8000) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *a = cJSON_GetObjectItem(j, "input_ids"), *v;
        cJSON_ArrayForEach(v, a) ids[nids++] = v->valueint;
        offs[++n] = (int)nids;
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    size_t nf;
    float *ref = tu_read_f32(SEMSEARCH_TESTS_DIR "/golden/minilm_embeddings.f32", &nf);
    const int H = cfg.hidden;
    REQUIRE(ref && nf == n * (size_t)H);

    ss_pool *pool = ss_pool_new(2);
    ss_tf_work w = {0};
    float *pooled = malloc((size_t)H * sizeof(float));
    /* Keep rows [0, 256) and the hard cases after the 2,758 STSb sentences. */
    size_t keep = 0;
    int *koffs = malloc((n + 1) * sizeof *koffs);
    int32_t *kids = malloc((size_t)offs[n] * sizeof *kids);
    float *kref = malloc(n * (size_t)H * sizeof(float));
    koffs[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= 256 && i < 2758) continue;
        int L = offs[i + 1] - offs[i];
        memcpy(kids + koffs[keep], ids + offs[i], (size_t)L * sizeof *kids);
        memcpy(kref + keep * H, ref + i * H, (size_t)H * sizeof(float));
        koffs[keep + 1] = koffs[keep] + L;
        keep++;
    }
    free(ids);
    free(offs);
    free(ref);
    ids = kids;
    offs = koffs;
    ref = kref;
    n = keep;
    double min_cos = 1;
    size_t worst = 0;
    for (size_t b0 = 0; b0 < n; b0 += 32) {
        size_t nb = n - b0 < 32 ? n - b0 : 32;
        int boff[33];
        for (size_t j = 0; j <= nb; j++) boff[j] = offs[b0 + j] - offs[b0];
        s = ss_transformer_forward(&tf, pool, &w, ids + offs[b0], boff, (int)nb, &err);
        REQUIRE(s == SS_OK);
        for (size_t j = 0; j < nb; j++) {
            ss_pool_sequence(&st.pooling, w.x + (size_t)boff[j] * H, boff[j + 1] - boff[j], H, 0, pooled);
            ss_l2_normalize(pooled, H);
            double c = tu_cos(pooled, ref + (b0 + j) * H, H);
            if (c < min_cos) {
                min_cos = c;
                worst = b0 + j;
            }
        }
    }
    printf("forward from reference ids: %zu texts, min cosine %.9f (text %zu)\n", n, min_cos, worst);
    CHECKF(min_cos >= 0.99999, "min cosine %.9f at text %zu", min_cos, worst);
    free(pooled);
    ss_tf_work_free(&w);
    ss_pool_free(pool);
    free(ref);
    free(ids);
    free(offs);
    ss_transformer_free(&tf);
    ss_st_config_free(&st);
    return TEST_REPORT();
}
