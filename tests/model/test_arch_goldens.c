/* Every architecture and pipeline variant in tests/models/ (small seeded
 * random models saved by sentence-transformers: BERT with cls / mean / max /
 * mean_sqrt_len pooling, no modules.json, cased, gelu_new, prompts; MPNet;
 * F32 / F16 / BF16 weights) against the reference's goldens:
 * token ids identical, embeddings at cosine >= 0.99999, and each encode()
 * option (normalize_embeddings, truncate_dim, int8/uint8/binary/ubinary,
 * prompt / prompt_name) as sentence-transformers computes it. */
#include <dirent.h>
#include <stdint.h>

#include "semsearch.h"
#include "test.h"
#include "test_util.h"

#define MODELS SEMSEARCH_TESTS_DIR "/models/"

static char path_buf[4096];
static const char *P(const char *model, const char *file) {
    snprintf(path_buf, sizeof path_buf, MODELS "%s/%s", model, file);
    return path_buf;
}

/* Compare n x d embeddings with the reference file; returns min cosine. */
static double compare(const char *model, const char *what, const float *emb, size_t n, int d, const char *file) {
    size_t nf;
    float *ref = tu_read_f32(P(model, file), &nf);
    CHECKF(ref && nf == n * (size_t)d, "%s %s: %zu floats in %s, expected %zu", model, what, nf, file, n * (size_t)d);
    double min_cos = 1, max_abs = 0;
    if (ref && nf == n * (size_t)d)
        for (size_t i = 0; i < n; i++) {
            double c = tu_cos(emb + i * d, ref + i * d, d);
            if (c < min_cos) min_cos = c;
            for (int j = 0; j < d; j++) {
                double a = fabs((double)emb[i * d + j] - ref[i * d + j]);
                if (a > max_abs) max_abs = a;
            }
        }
    printf("  %-28s min cosine %.9f  max |diff| %.2g\n", what, min_cos, max_abs);
    CHECKF(min_cos >= 0.99999, "%s %s: min cosine %.9f", model, what, min_cos);
    free(ref);
    return min_cos;
}

static void check_tokens(ss_model *m, const char *model, char **texts, size_t n, const char *file,
                         const char *prompt) {
    FILE *f = fopen(P(model, file), "rb");
    REQUIRE(f != NULL);
    char *line = NULL;
    size_t cap = 0, i = 0, bad = 0;
    int32_t ids[1024];
    while (getline(&line, &cap, f) >= 0 && i < n) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *ref = cJSON_GetObjectItem(j, "input_ids");
        ss_error err;
        int k = ss_model_tokenize(m, texts[i], prompt, ids, 1024, &err);
        int same = k == cJSON_GetArraySize(ref);
        for (int t = 0; same && t < k; t++) same = ids[t] == cJSON_GetArrayItem(ref, t)->valueint;
        if (!same) {
            bad++;
            fprintf(stderr, "  %s: token ids differ for text %zu (%d vs %d ids)\n", model, i, k, cJSON_GetArraySize(ref));
        }
        cJSON_Delete(j);
        i++;
    }
    free(line);
    fclose(f);
    printf("  %-28s %zu/%zu identical\n", prompt ? "token ids (with prompt)" : "token ids", i - bad, i);
    CHECKF(bad == 0 && i == n, "%s: %zu of %zu token sequences differ", model, bad, i);
}

static void check_quantized(const char *model, const float *ours, size_t n, int d, const char *name,
                            ss_precision p) {
    size_t nf;
    float *gold = tu_read_f32(P(model, "golden_embeddings.f32"), &nf);
    float *ranges = tu_read_f32(P(model, "golden_opt_int8_ranges.f32"), &nf);
    REQUIRE(gold && ranges && nf == 2 * (size_t)d);
    size_t bpv = ss_quantized_size(p, d);
    unsigned char *q = malloc(n * bpv), *qo = malloc(n * bpv), *ref = malloc(n * bpv + 1);
    FILE *f = fopen(P(model, name), "rb");
    REQUIRE(f && fread(ref, 1, n * bpv + 1, f) == n * bpv);
    fclose(f);
    ss_error err;
    /* The rules, exactly: quantising the reference floats reproduces the reference bytes. */
    CHECK(ss_quantize(gold, n, d, p, NULL, q, &err) == SS_OK);
    CHECKF(memcmp(q, ref, n * bpv) == 0, "%s %s: quantising the reference floats differs", model, name);
    CHECK(ss_quantize(gold, n, d, p, ranges, q, &err) == SS_OK);
    CHECKF(memcmp(q, ref, n * bpv) == 0, "%s %s: explicit ranges differ", model, name);
    /* Our floats: a value on a step boundary may land one step away. */
    CHECK(ss_quantize(ours, n, d, p, NULL, qo, &err) == SS_OK);
    size_t diff = 0;
    int maxd = 0;
    for (size_t i = 0; i < n * bpv; i++) {
        int a = p == SS_PRECISION_INT8 || p == SS_PRECISION_BINARY ? (int)(signed char)qo[i] : qo[i];
        int b = p == SS_PRECISION_INT8 || p == SS_PRECISION_BINARY ? (int)(signed char)ref[i] : ref[i];
        if (a != b) diff++;
        if (abs(a - b) > maxd && p != SS_PRECISION_BINARY && p != SS_PRECISION_UBINARY) maxd = abs(a - b);
    }
    printf("  %-28s %zu/%zu bytes identical (max step diff %d)\n", name, n * bpv - diff, n * bpv, maxd);
    CHECKF(maxd <= 1 && diff * 100 <= n * bpv, "%s %s: %zu bytes differ, max %d", model, name, diff, maxd);
    free(q);
    free(qo);
    free(ref);
    free(gold);
    free(ranges);
}

static void check_model(const char *model) {
    printf("%s\n", model);
    snprintf(path_buf, sizeof path_buf, MODELS "%s", model);
    ss_error err;
    ss_model *m = ss_model_load(path_buf, NULL, &err);
    CHECKF(m != NULL, "%s: %s", model, err.msg);
    if (!m) return;
    printf("  %s\n", ss_model_describe(m));
    size_t n;
    char **texts = tu_read_jsonl_strings(P(model, "golden_texts.jsonl"), NULL, &n);
    REQUIRE(texts && n > 0);
    check_tokens(m, model, texts, n, "golden_tokens.jsonl", NULL);

    int d = ss_model_dim(m);
    float *emb = malloc(n * (size_t)d * sizeof(float));
    CHECKF(ss_encode(m, (const char *const *)texts, n, NULL, emb, &err) == SS_OK, "%s: %s", model, err.msg);
    compare(model, "embeddings", emb, n, d, "golden_embeddings.f32");

    float *opt = malloc(n * (size_t)d * sizeof(float));
    ss_encode_options o = {0};
    if (ss_path_exists_(P(model, "golden_opt_normalize.f32"))) {
        o = (ss_encode_options){.normalize = 1};
        CHECK(ss_encode(m, (const char *const *)texts, n, &o, opt, &err) == SS_OK);
        compare(model, "normalize_embeddings=True", opt, n, d, "golden_opt_normalize.f32");
    }
    if (ss_path_exists_(P(model, "golden_opt_truncate16.f32"))) {
        o = (ss_encode_options){.truncate_dim = 16};
        CHECK(ss_encode_dim(m, &o) == 16);
        CHECK(ss_encode(m, (const char *const *)texts, n, &o, opt, &err) == SS_OK);
        compare(model, "truncate_dim=16", opt, n, 16, "golden_opt_truncate16.f32");
        o.normalize = 1;
        CHECK(ss_encode(m, (const char *const *)texts, n, &o, opt, &err) == SS_OK);
        compare(model, "truncate_dim=16 + normalize", opt, n, 16, "golden_opt_truncate16_normalize.f32");
        /* truncation comes after the Normalize module: no longer unit length */
        double norm = 0;
        for (int j = 0; j < 16; j++) norm += (double)emb[j] * emb[j];
        CHECK(norm < 0.999);
    }
    if (ss_path_exists_(P(model, "golden_opt_int8.i8"))) {
        check_quantized(model, emb, n, d, "golden_opt_int8.i8", SS_PRECISION_INT8);
        check_quantized(model, emb, n, d, "golden_opt_uint8.u8", SS_PRECISION_UINT8);
        check_quantized(model, emb, n, d, "golden_opt_binary.i8", SS_PRECISION_BINARY);
        check_quantized(model, emb, n, d, "golden_opt_ubinary.u8", SS_PRECISION_UBINARY);
    }
    if (ss_path_exists_(P(model, "golden_opt_prompt_name_query.f32"))) {
        const char *qp = ss_model_prompt(m, "query"), *pp = ss_model_prompt(m, "passage");
        CHECK(qp && !strcmp(qp, "query: ") && pp && !strcmp(pp, "passage: "));
        CHECK(ss_model_prompt(m, "nope") == NULL);
        check_tokens(m, model, texts, n, "golden_opt_prompt_name_query_tokens.jsonl", qp);
        o = (ss_encode_options){.prompt = qp};
        CHECK(ss_encode(m, (const char *const *)texts, n, &o, opt, &err) == SS_OK);
        compare(model, "prompt_name=query", opt, n, d, "golden_opt_prompt_name_query.f32");
        o.prompt = pp;
        CHECK(ss_encode(m, (const char *const *)texts, n, &o, opt, &err) == SS_OK);
        compare(model, "prompt_name=passage", opt, n, d, "golden_opt_prompt_name_passage.f32");
        o.prompt = "Represent this sentence: ";
        CHECK(ss_encode(m, (const char *const *)texts, n, &o, opt, &err) == SS_OK);
        compare(model, "prompt=custom", opt, n, d, "golden_opt_prompt_custom.f32");
    }
    free(opt);
    free(emb);
    tu_free_strings(texts, n);
    ss_model_free(m);
}

int main(void) {
    DIR *dir = opendir(MODELS);
    REQUIRE(dir != NULL);
    char names[64][256];
    int nm = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && nm < 64) {
        if (e->d_name[0] == '.') continue;
        snprintf(path_buf, sizeof path_buf, MODELS "%s/config.json", e->d_name);
        if (ss_path_exists_(path_buf)) snprintf(names[nm++], sizeof names[0], "%s", e->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)nm, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    CHECKF(nm >= 10, "only %d models under %s", nm, MODELS);
    for (int i = 0; i < nm; i++) check_model(names[i]);
    return TEST_REPORT();
}
