/* test_ir_eval.c — `eval ir` / `eval triplet`'s library against
 * sentence-transformers 2.7's own InformationRetrievalEvaluator and
 * TripletEvaluator (tests/golden/train/ir/expected.json from
 * tools/reference/make_ir_eval_golden.py, all-MiniLM-L6-v2): every metric
 * through the inference encoder and through the training evaluator (the
 * transformer's current weights); then the bad inputs. */
#include <cjson/cJSON.h>

#include "model/config.h"
#include "model/transformer.h"
#include "train/evaluate.h"
#include "train/ir_eval.h"

#include "test.h"

#define GDIR SEMSEARCH_TESTS_DIR "/golden/train/ir"

static cJSON *load_json(const char *path) {
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    REQUIRE(j != NULL);
    return j;
}

static double want(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    CHECKF(cJSON_IsNumber(v), "expected.json lacks %s", key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int check_ir(const ss_ir_result *r, const cJSON *ir, const char *via) {
    int bad = 0;
    char k[32];
    for (int i = 0; i < SS_IR_NK; i++) {
        snprintf(k, sizeof k, "accuracy@%d", ss_ir_ks[i]);
        bad += fabs(r->accuracy[i] - want(ir, k)) > 1e-9;
        snprintf(k, sizeof k, "precision@%d", ss_ir_ks[i]);
        bad += fabs(r->precision[i] - want(ir, k)) > 1e-9;
        snprintf(k, sizeof k, "recall@%d", ss_ir_ks[i]);
        bad += fabs(r->recall[i] - want(ir, k)) > 1e-9;
    }
    bad += fabs(r->mrr10 - want(ir, "mrr@10")) > 1e-9;
    bad += fabs(r->ndcg10 - want(ir, "ndcg@10")) > 1e-9;
    bad += fabs(r->map100 - want(ir, "map@100")) > 1e-9;
    printf("  %s: MRR@10 %.6f (ref %.6f) NDCG@10 %.6f (ref %.6f) MAP@100 %.6f (ref %.6f) recall@1 %.6f (ref %.6f): "
           "%d of 15 differ\n",
           via, r->mrr10, want(ir, "mrr@10"), r->ndcg10, want(ir, "ndcg@10"), r->map100, want(ir, "map@100"),
           r->recall[0], want(ir, "recall@1"), bad);
    return bad;
}

static void test_golden(void) {
    cJSON *j = load_json(GDIR "/expected.json");
    const cJSON *ir = cJSON_GetObjectItemCaseSensitive(j, "ir"), *tr = cJSON_GetObjectItemCaseSensitive(j, "triplet");
    ss_ir_data d;
    ss_error err = {0};
    REQUIRE(ss_ir_data_load_spec(&d, GDIR, &err) == SS_OK);
    CHECK(d.n_queries == (size_t)want(ir, "n_queries") && d.n_corpus == 20 && d.n_dropped_queries == 1 &&
          d.n_unknown_docs == 1);
    ss_model *m = ss_model_load(SEMSEARCH_MODEL_DIR, NULL, &err);
    REQUIRE(m != NULL);
    int dim = ss_model_dim(m);
    float *qe = malloc(sizeof(float) * d.n_queries * dim), *ce = malloc(sizeof(float) * d.n_corpus * dim);
    REQUIRE(ss_encode(m, (const char *const *)d.query_texts, d.n_queries, NULL, qe, &err) == SS_OK);
    REQUIRE(ss_encode(m, (const char *const *)d.corpus_texts, d.n_corpus, NULL, ce, &err) == SS_OK);
    ss_ir_result r;
    REQUIRE(ss_ir_compute(&d, qe, ce, dim, &r, &err) == SS_OK);
    CHECK(check_ir(&r, ir, "inference encoder") == 0);
    CHECK(fabs(r.map100 - want(ir, "main_score")) < 1e-9); /* 2.7's main score is MAP@100 */

    /* the same through the training evaluator (transformer weights, no Normalize: cosine ignores it) */
    ss_tf_config cfg;
    ss_st_config st;
    ss_transformer tf;
    REQUIRE(ss_tf_config_load(&cfg, SEMSEARCH_MODEL_DIR, &err) == SS_OK);
    REQUIRE(ss_st_config_load(&st, SEMSEARCH_MODEL_DIR, &cfg, &err) == SS_OK);
    REQUIRE(ss_transformer_load(&tf, &cfg, SEMSEARCH_MODEL_DIR, &err) == SS_OK);
    ss_pool *pool = ss_pool_new(2);
    ss_ir_result r2;
    CHECKF(ss_eval_ir(&tf, &st, m, pool, &d, &r2, &err) == SS_OK, "%s", err.msg);
    CHECK(check_ir(&r2, ir, "training evaluator") == 0);

    /* triplets */
    ss_data_options o = {.header = -1, .n_text_cols = 3};
    static char ca[] = "anchor", cp[] = "positive", cn[] = "negative";
    o.text_cols[0] = ca, o.text_cols[1] = cp, o.text_cols[2] = cn;
    ss_dataset ds;
    REQUIRE(ss_dataset_load(&ds, GDIR "/triplets.csv", &o, &err) == SS_OK);
    ss_triplet_result t;
    CHECKF(ss_eval_triplet(&tf, &st, m, pool, &ds, &t, &err) == SS_OK, "%s", err.msg);
    printf("  triplets: cosine %.4f (ref %.4f), manhattan %.4f (ref %.4f), euclidean %.4f (ref %.4f)\n", t.cosine,
           want(tr, "cosine"), t.manhattan, want(tr, "manhattan"), t.euclidean, want(tr, "euclidean"));
    CHECK(t.cosine == want(tr, "cosine") && t.manhattan == want(tr, "manhattan") &&
          t.euclidean == want(tr, "euclidean") && t.cosine > 0 && t.cosine < 1);
    /* three columns are required */
    ss_data_options o2 = {.header = -1, .n_text_cols = 2};
    o2.text_cols[0] = ca, o2.text_cols[1] = cp;
    ss_dataset ds2;
    REQUIRE(ss_dataset_load(&ds2, GDIR "/triplets.csv", &o2, &err) == SS_OK);
    CHECK(ss_eval_triplet(&tf, &st, m, pool, &ds2, &t, &err) == SS_ERR_INVALID);
    ss_dataset_free(&ds2);

    ss_dataset_free(&ds);
    ss_pool_free(pool);
    ss_transformer_free(&tf);
    ss_st_config_free(&st);
    ss_model_free(m);
    free(qe), free(ce);
    ss_ir_data_free(&d);
    cJSON_Delete(j);
}

/* Hand-made embeddings: query 0 ranks docs 2, 0, 1 (cosines 1, 0.6, 0) with docs 0 and 1 relevant. */
static void test_by_hand(void) {
    char dir[] = "/tmp/ss_test_ir_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char q[300], c[300], r[300];
    snprintf(q, sizeof q, "%s/queries.jsonl", dir);
    snprintf(c, sizeof c, "%s/corpus.jsonl", dir);
    snprintf(r, sizeof r, "%s/qrels.tsv", dir);
    FILE *f = fopen(q, "w");
    fprintf(f, "{\"_id\": \"a\", \"text\": \"q\"}\n");
    fclose(f);
    f = fopen(c, "w");
    fprintf(f, "{\"_id\": \"x\", \"text\": \"0\"}\n{\"_id\": \"y\", \"title\": \"t\", \"text\": \"1\"}\n"
               "{\"_id\": \"z\", \"text\": \"2\"}\n");
    fclose(f);
    f = fopen(r, "w");
    fprintf(f, "a\tx\t1\na\ty\t1\n");
    fclose(f);
    ss_ir_data d;
    ss_error err = {0};
    REQUIRE(ss_ir_data_load(&d, q, c, r, &err) == SS_OK);
    CHECK(!strcmp(d.corpus_texts[1], "t 1"));
    const float qe[2] = {1, 0}, ce[6] = {0.6f, 0.8f, 0, 1, 2, 0};
    ss_ir_result res;
    REQUIRE(ss_ir_compute(&d, qe, ce, 2, &res, &err) == SS_OK);
    /* hits at ranks 2 and 3 */
    double ndcg = (1 / log2(3.0) + 1 / log2(4.0)) / (1 + 1 / log2(3.0)), map = (1.0 / 2 + 2.0 / 3) / 2;
    printf("  by hand: MRR %.4f (0.5), NDCG@10 %.6f (%.6f), MAP %.6f (%.6f), P@3 %.4f, R@1 %.1f\n", res.mrr10, res.ndcg10,
           ndcg, res.map100, map, res.precision[1], res.recall[0]);
    CHECK(fabs(res.mrr10 - 0.5) < 1e-12 && fabs(res.ndcg10 - ndcg) < 1e-12 && fabs(res.map100 - map) < 1e-12);
    CHECK(res.accuracy[0] == 0 && res.accuracy[1] == 1 && fabs(res.precision[1] - 2.0 / 3) < 1e-12 &&
          res.recall[0] == 0 && res.recall[1] == 1);
    ss_ir_data_free(&d);

    /* bad inputs: file and line */
    f = fopen(r, "w");
    fprintf(f, "query-id\tcorpus-id\tscore\na\tx\n");
    fclose(f);
    CHECK(ss_ir_data_load(&d, q, c, r, &err) == SS_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "qrels.tsv:2");
    f = fopen(r, "w");
    fprintf(f, "a\tx\tmany\n");
    fclose(f);
    CHECK(ss_ir_data_load(&d, q, c, r, &err) == SS_ERR_FORMAT);
    f = fopen(r, "w");
    fprintf(f, "a\tx\t0\n"); /* nothing relevant */
    fclose(f);
    CHECK(ss_ir_data_load(&d, q, c, r, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "no query has a relevant document");
    f = fopen(c, "w");
    fprintf(f, "{\"_id\": \"x\", \"text\": \"0\"}\n{\"text\": \"1\"}\n");
    fclose(f);
    CHECK(ss_ir_data_load(&d, q, c, r, &err) == SS_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "corpus.jsonl:2");
    f = fopen(c, "w");
    fprintf(f, "{\"_id\": \"x\", \"text\": \"0\"}\n{\"_id\": \"x\", \"text\": \"1\"}\n");
    fclose(f);
    CHECK(ss_ir_data_load(&d, q, c, r, &err) == SS_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "appears twice");
    CHECK(ss_ir_data_load(&d, "/nonexistent.jsonl", c, r, &err) == SS_ERR_IO);
    CHECK(ss_ir_data_load_spec(&d, "only,two", &err) == SS_ERR_INVALID);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    test_golden();
    test_by_hand();
    return TEST_REPORT();
}
