/* test_tokenizer_golden.c — token ids identical to sentence-transformers for
 * every golden text: all-MiniLM-L6-v2 (2,758 STSb test sentences + hard
 * cases, max_seq_length 256) and every tiny model in tests/models (BERT
 * uncased/cased, MPNet), each through tokenizer.json and again through the
 * vocab.txt + tokenizer_config.json fallback. */
#include "semsearch.h"
#include "test.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char **texts;
    int32_t **ids;
    int *n_ids;
    size_t n;
} golden;

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)sz + 1);
    if (s && fread(s, 1, (size_t)sz, f) != (size_t)sz) sz = 0;
    if (s) s[sz] = '\0';
    fclose(f);
    return s;
}

static void golden_free(golden *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->texts[i]);
        free(g->ids[i]);
    }
    free(g->texts);
    free(g->ids);
    free(g->n_ids);
    memset(g, 0, sizeof *g);
}

/* texts: one JSON string per line; tokens: {"input_ids": [...]} per line. */
static int golden_read(golden *g, const char *texts_path, const char *tokens_path) {
    memset(g, 0, sizeof *g);
    char *tx = slurp(texts_path), *tk = slurp(tokens_path);
    if (!tx || !tk) {
        free(tx);
        free(tk);
        return -1;
    }
    size_t cap = 0;
    char *sa = NULL, *sb = NULL;
    char *la = strtok_r(tx, "\n", &sa), *lb = strtok_r(tk, "\n", &sb);
    for (; la && lb; la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb)) {
        cJSON *jt = cJSON_Parse(la), *jk = cJSON_Parse(lb);
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(jk, "input_ids");
        if (cJSON_IsString(jt) && cJSON_IsArray(arr)) {
            if (g->n == cap) {
                cap = cap ? 2 * cap : 256;
                g->texts = realloc(g->texts, cap * sizeof *g->texts);
                g->ids = realloc(g->ids, cap * sizeof *g->ids);
                g->n_ids = realloc(g->n_ids, cap * sizeof *g->n_ids);
            }
            int m = cJSON_GetArraySize(arr);
            g->texts[g->n] = strdup(jt->valuestring);
            g->ids[g->n] = malloc((size_t)(m + 1) * sizeof(int32_t));
            g->n_ids[g->n] = m;
            for (int k = 0; k < m; k++) g->ids[g->n][k] = (int32_t)cJSON_GetArrayItem(arr, k)->valuedouble;
            g->n++;
        }
        cJSON_Delete(jt);
        cJSON_Delete(jk);
    }
    free(tx);
    free(tk);
    return 0;
}

/* Encode every golden text; returns how many match exactly. */
static size_t compare(const ss_tokenizer *tok, const golden *g, int max_len, const char *label) {
    size_t same = 0;
    int shown = 0;
    int32_t ids[1024];
    for (size_t i = 0; i < g->n; i++) {
        ss_error err = {0};
        int n = ss_tokenizer_encode(tok, g->texts[i], strlen(g->texts[i]), max_len, ids, 1024, &err);
        int ok = n == g->n_ids[i] && memcmp(ids, g->ids[i], (size_t)n * sizeof *ids) == 0;
        same += ok;
        if (!ok && shown++ < 5) {
            fprintf(stderr, "%s: text %zu differs (%s)\n  got     :", label, i, err.msg);
            for (int k = 0; k < n && k < 40; k++) fprintf(stderr, " %d", ids[k]);
            fprintf(stderr, "\n  expected:");
            for (int k = 0; k < g->n_ids[i] && k < 40; k++) fprintf(stderr, " %d", g->ids[i][k]);
            fprintf(stderr, "\n");
        }
    }
    printf("%s: %zu/%zu texts give identical token ids\n", label, same, g->n);
    return same;
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name) {
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    char *s = slurp(a);
    if (!s) return;
    FILE *f = fopen(b, "wb");
    if (f) {
        fputs(s, f);
        fclose(f);
    }
    free(s);
}

/* One model folder: tokenizer.json, then the vocab.txt fallback on the same goldens. */
static void check_model(const char *dir, const golden *g, int max_len, const char *label) {
    ss_error err = {0};
    ss_tokenizer *tok = ss_tokenizer_load(dir, &err);
    CHECKF(tok != NULL, "%s: %s", label, err.msg);
    if (tok) CHECK(compare(tok, g, max_len, label) == g->n);
    ss_tokenizer_free(tok);

    char tmp[] = "/tmp/ss_tok_legacy_XXXXXX", lab[256];
    if (!mkdtemp(tmp)) return;
    copy_file(dir, tmp, "vocab.txt");
    copy_file(dir, tmp, "tokenizer_config.json");
    snprintf(lab, sizeof lab, "%s (vocab.txt fallback)", label);
    tok = ss_tokenizer_load(tmp, &err);
    CHECKF(tok != NULL, "%s: %s", lab, err.msg);
    if (tok) CHECK(compare(tok, g, max_len, lab) == g->n);
    ss_tokenizer_free(tok);
    char p[1024];
    snprintf(p, sizeof p, "%s/vocab.txt", tmp);
    unlink(p);
    snprintf(p, sizeof p, "%s/tokenizer_config.json", tmp);
    unlink(p);
    rmdir(tmp);
}

/* Single-threaded throughput on the STSb sentences (printed, not asserted:
 * timings on a shared or sanitized build say little). */
static void throughput(const golden *g) {
    ss_error err = {0};
    ss_tokenizer *tok = ss_tokenizer_load(SEMSEARCH_MODEL_DIR, &err);
    if (!tok) return;
    size_t n = g->n < 2758 ? g->n : 2758;
    int32_t ids[512];
    long tokens = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int r = 0; r < 10; r++)
        for (size_t i = 0; i < n; i++)
            tokens += ss_tokenizer_encode(tok, g->texts[i], strlen(g->texts[i]), 256, ids, 512, &err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    printf("throughput: %.2f M tokens/s, %.0f sentences/s (STSb test, 1 thread, specials counted)\n",
           (double)tokens / s / 1e6, 10.0 * (double)n / s);
    ss_tokenizer_free(tok);
}

int main(void) {
    golden g;
    REQUIRE(golden_read(&g, SEMSEARCH_TESTS_DIR "/golden/minilm_texts.jsonl",
                        SEMSEARCH_TESTS_DIR "/golden/minilm_tokens.jsonl") == 0);
    CHECK(g.n == 2803);
    check_model(SEMSEARCH_MODEL_DIR, &g, 256, "all-MiniLM-L6-v2");
    throughput(&g);
    golden_free(&g);

    char *manifest_text = slurp(SEMSEARCH_TESTS_DIR "/models/manifest.json");
    cJSON *manifest = cJSON_Parse(manifest_text ? manifest_text : "");
    free(manifest_text);
    CHECK(cJSON_GetArraySize(manifest) >= 1);
    const cJSON *m;
    cJSON_ArrayForEach(m, manifest) {
        char dir[1024], tp[1100], kp[1100];
        snprintf(dir, sizeof dir, "%s/models/%s", SEMSEARCH_TESTS_DIR, m->string);
        snprintf(tp, sizeof tp, "%s/golden_texts.jsonl", dir);
        snprintf(kp, sizeof kp, "%s/golden_tokens.jsonl", dir);
        const cJSON *msl = cJSON_GetObjectItemCaseSensitive(m, "max_seq_length");
        CHECKF(golden_read(&g, tp, kp) == 0 && g.n > 0, "%s: no goldens", m->string);
        check_model(dir, &g, cJSON_IsNumber(msl) ? (int)msl->valuedouble : 512, m->string);
        golden_free(&g);
    }
    cJSON_Delete(manifest);
    return TEST_REPORT();
}
