/* Real all-MiniLM-L6-v2 vs sentence-transformers: every golden text (2,758
 * STSb test sentences + hard cases) must embed with cosine >= 0.99999 to the
 * reference; token embeddings must match too; a sentence embedded alone must
 * equal the same sentence inside a batch to <= 1e-6; and the paper-table
 * figure — Spearman x100 of cosine vs gold score over the 1,379 STSb test
 * pairs (rows 2k, 2k+1 of the goldens) — must equal the reference pipeline's
 * (tests/golden/minilm_stsb.json) to +-0.01. */
#include "semsearch.h"
#include "test.h"
#include "test_util.h"

#define GOLD SEMSEARCH_TESTS_DIR "/golden/"

/* Spearman x100 over the STSb test pairs with our embeddings. */
static void check_stsb_spearman(const float *emb, int d) {
    size_t np;
    double *gold = tu_stsb_gold(SEMSEARCH_DATA_DIR "/stsbenchmark/sts-test.csv", &np);
    CHECK(np == 1379);
    double rho = tu_stsb_spearman(emb, d, gold, (int)np);
    double ref = tu_read_json_number(GOLD "minilm_stsb.json", "spearman_x100");
    printf("STSb test Spearman x100: semsearch %.4f, reference %.4f (MTEB publishes 82.03), diff %.4f\n", rho, ref,
           rho - ref);
    CHECKF(fabs(rho - ref) <= 0.01, "semsearch %.4f vs reference %.4f", rho, ref);
    free(gold);
}

static void check_sentence_embeddings(ss_model *m) {
    size_t n, nf;
    char **texts = tu_read_jsonl_strings(GOLD "minilm_texts.jsonl", NULL, &n);
    float *ref = tu_read_f32(GOLD "minilm_embeddings.f32", &nf);
    REQUIRE(texts && ref && n >= 2758);
    int d = ss_model_dim(m);
    REQUIRE(d == 384 && nf == n * (size_t)d);
    float *emb = malloc(n * (size_t)d * sizeof(float));
    ss_error err;
    ss_status s = ss_encode(m, (const char *const *)texts, n, NULL, emb, &err);
    CHECKF(s == SS_OK, "%s", err.msg);
    double min_cos = 1, max_abs = 0;
    size_t worst = 0, below = 0;
    for (size_t i = 0; i < n; i++) {
        double c = tu_cos(emb + i * d, ref + i * d, d);
        if (c < min_cos) {
            min_cos = c;
            worst = i;
        }
        if (c < 0.99999) below++;
        for (int j = 0; j < d; j++) {
            double a = fabs((double)emb[i * d + j] - ref[i * d + j]);
            if (a > max_abs) max_abs = a;
        }
    }
    printf("sentence embeddings: %zu texts, min cosine %.9f (text %zu), max |diff| %.3g\n", n, min_cos, worst, max_abs);
    CHECKF(below == 0, "%zu of %zu texts below cosine 0.99999 (worst %zu: %.9f)", below, n, worst, min_cos);
    check_stsb_spearman(emb, d);

    /* Batch invariance: each of the first 64 texts alone == inside the big batch. */
    double max_batch = 0;
    for (size_t i = 0; i < 64; i++) {
        float one[384];
        ss_encode_options o = {.batch_size = 1};
        CHECK(ss_encode(m, (const char *const *)&texts[i], 1, &o, one, &err) == SS_OK);
        for (int j = 0; j < d; j++) {
            double a = fabs((double)one[j] - emb[i * d + j]);
            if (a > max_batch) max_batch = a;
        }
    }
    printf("batch invariance: max |alone - in batch| = %.3g\n", max_batch);
    CHECKF(max_batch <= 1e-6, "alone vs batch differ by %.3g", max_batch);
    free(emb);
    free(ref);
    tu_free_strings(texts, n);
}

static void check_token_embeddings(ss_model *m) {
    size_t nf;
    float *ref = tu_read_f32(GOLD "minilm_tokens_emb.f32", &nf);
    FILE *f = fopen(GOLD "minilm_tokens_emb.json", "rb");
    REQUIRE(ref && f);
    char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = 0;
    fclose(f);
    cJSON *meta = cJSON_Parse(buf);
    const cJSON *texts = cJSON_GetObjectItem(meta, "texts"), *shapes = cJSON_GetObjectItem(meta, "shapes");
    REQUIRE(cJSON_IsArray(texts) && cJSON_IsArray(shapes));
    size_t off = 0;
    for (int i = 0; i < cJSON_GetArraySize(texts); i++) {
        int L = cJSON_GetArrayItem(cJSON_GetArrayItem(shapes, i), 0)->valueint;
        int H = cJSON_GetArrayItem(cJSON_GetArrayItem(shapes, i), 1)->valueint;
        int nt = 0;
        ss_error err;
        float *te = ss_encode_tokens(m, cJSON_GetArrayItem(texts, i)->valuestring, NULL, &nt, &err);
        CHECKF(te && nt == L && H == ss_model_hidden_size(m), "text %d: %d tokens, expected %d", i, nt, L);
        if (te && nt == L) {
            double min_cos = 1;
            for (int t = 0; t < L; t++) {
                double c = tu_cos(te + (size_t)t * H, ref + off + (size_t)t * H, H);
                if (c < min_cos) min_cos = c;
            }
            printf("token embeddings, text %d: %d tokens, min cosine %.9f\n", i, L, min_cos);
            CHECKF(min_cos >= 0.99999, "text %d token min cosine %.9f", i, min_cos);
        }
        off += (size_t)L * H;
        free(te);
    }
    CHECK(off == nf);
    cJSON_Delete(meta);
    free(ref);
}

int main(void) {
    ss_error err;
    ss_model *m = ss_model_load(SEMSEARCH_MODEL_DIR, NULL, &err);
    if (!m) fprintf(stderr, "%s\n", err.msg);
    REQUIRE(m != NULL);
    CHECK(ss_model_max_seq_length(m) == 256);
    CHECK(ss_model_normalizes(m) == 1);
    check_sentence_embeddings(m);
    check_token_embeddings(m);
    ss_model_free(m);
    return TEST_REPORT();
}
