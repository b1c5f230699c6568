/* The paper-table check: Spearman x100 of cosine vs gold score on the STS
 * benchmark test set (1,379 pairs) with semsearch's embeddings must equal the
 * reference pipeline's figure (tests/golden/minilm_stsb.json) to +-0.01. */
#include "semsearch.h"
#include "test.h"
#include "test_util.h"

typedef struct {
    double v;
    int i;
} vi;

static int cmp_vi(const void *a, const void *b) {
    double x = ((const vi *)a)->v, y = ((const vi *)b)->v;
    return x < y ? -1 : x > y;
}

/* Ranks with ties averaged (scipy.stats.rankdata 'average'). */
static void rank(const double *x, int n, double *r) {
    vi *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++) t[i] = (vi){x[i], i};
    qsort(t, (size_t)n, sizeof *t, cmp_vi);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && t[j + 1].v == t[i].v) j++;
        for (int k = i; k <= j; k++) r[t[k].i] = (i + j) / 2.0 + 1;
        i = j + 1;
    }
    free(t);
}

static double pearson(const double *a, const double *b, int n) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= n;
    mb /= n;
    for (int i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb);
}

int main(void) {
    FILE *f = fopen(SEMSEARCH_DATA_DIR "/stsbenchmark/sts-test.csv", "rb");
    REQUIRE(f != NULL);
    char *line = NULL;
    size_t cap = 0, np = 0;
    char **texts = malloc(4000 * sizeof *texts);
    double *gold = malloc(2000 * sizeof *gold);
    while (getline(&line, &cap, f) >= 0 && np < 2000) {
        line[strcspn(line, "\n")] = 0;
        char *fields[9] = {0};
        int nfld = 0;
        for (char *p = line; nfld < 9;) { /* split on tabs, no quoting */
            fields[nfld++] = p;
            char *t = strchr(p, '\t');
            if (!t) break;
            *t = 0;
            p = t + 1;
        }
        REQUIRE(nfld >= 7);
        gold[np] = atof(fields[4]);
        texts[2 * np] = strdup(fields[5]);
        texts[2 * np + 1] = strdup(fields[6]);
        np++;
    }
    free(line);
    fclose(f);
    CHECK(np == 1379);

    ss_error err;
    ss_model *m = ss_model_load(SEMSEARCH_MODEL_DIR, NULL, &err);
    REQUIRE(m != NULL);
    int d = ss_model_dim(m);
    float *emb = malloc(2 * np * (size_t)d * sizeof(float));
    REQUIRE(ss_encode(m, (const char *const *)texts, 2 * np, NULL, emb, &err) == SS_OK);
    double *cs = calloc(np, sizeof *cs), *rc = calloc(np, sizeof *rc), *rg = calloc(np, sizeof *rg);
    for (size_t i = 0; i < np; i++) cs[i] = tu_cos(emb + 2 * i * d, emb + (2 * i + 1) * d, d);
    rank(cs, (int)np, rc);
    rank(gold, (int)np, rg);
    double rho = 100 * pearson(rc, rg, (int)np);

    size_t len;
    FILE *jf = fopen(SEMSEARCH_TESTS_DIR "/golden/minilm_stsb.json", "rb");
    REQUIRE(jf != NULL);
    char buf[4096];
    len = fread(buf, 1, sizeof buf - 1, jf);
    buf[len] = 0;
    fclose(jf);
    cJSON *j = cJSON_Parse(buf);
    double ref = cJSON_GetObjectItem(j, "spearman_x100")->valuedouble;
    cJSON_Delete(j);
    printf("STSb test Spearman x100: semsearch %.4f, reference %.4f (MTEB publishes 82.03), diff %.4f\n", rho, ref,
           rho - ref);
    CHECKF(fabs(rho - ref) <= 0.01, "semsearch %.4f vs reference %.4f", rho, ref);

    free(cs);
    free(rc);
    free(rg);
    free(emb);
    for (size_t i = 0; i < 2 * np; i++) free(texts[i]);
    free(texts);
    free(gold);
    ss_model_free(m);
    return TEST_REPORT();
}
