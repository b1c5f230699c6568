/* test_losses.c — every loss and its embedding gradient against
 * sentence-transformers 2.7.0's own loss classes run on random embeddings
 * (tests/golden/train/losses.bin, tools/reference/make_train_goldens.py).
 * Tolerance: 1e-5 relative (1e-6 absolute below 0.1). */
#include "train/losses.h"

#include "golden.h"
#include "test.h"

#define RTOL 1e-5
#define ATOL 1e-6

static void run_case(gt_file *g, const char *name, ss_loss_config cfg, int n_cols, const char *labels_name) {
    char key[64];
    ss_loss_batch b = {.n_cols = n_cols};
    float *grad[SS_LOSS_MAX_COLS];
    for (int c = 0; c < n_cols; c++) {
        snprintf(key, sizeof key, "%s.e%d", name, c);
        gt_tensor *t = gt_get(g, key);
        b.B = t->dims[0], b.D = t->dims[1];
        b.emb[c] = t->data;
        grad[c] = calloc(t->n, sizeof(float));
    }
    if (labels_name) b.labels = gt_f(g, labels_name);
    double loss = 0;
    ss_error err = {0};
    ss_status st = ss_loss_compute(&cfg, &b, &loss, grad, &err);
    CHECKF(st == SS_OK, "%s: %s", name, err.msg);
    snprintf(key, sizeof key, "%s.loss", name);
    float lf = (float)loss;
    printf("%s (B=%d, D=%d, %d columns):\n", name, b.B, b.D, n_cols);
    CHECK(gt_compare("loss", &lf, gt_f(g, key), 1, RTOL, ATOL) <= RTOL);
    for (int c = 0; c < n_cols; c++) {
        snprintf(key, sizeof key, "%s.g%d", name, c);
        char what[32];
        snprintf(what, sizeof what, "d loss / d col %d", c);
        CHECK(gt_compare(what, grad[c], gt_f(g, key), (size_t)b.B * b.D, RTOL, ATOL) <= RTOL);
        free(grad[c]);
    }
}

static void test_errors(gt_file *g) {
    ss_loss_config c = ss_loss_defaults(SS_LOSS_TRIPLET);
    ss_loss_batch b = {.n_cols = 2, .B = 4, .D = 8, .emb = {gt_f(g, "mnrl.e0"), gt_f(g, "mnrl.e1")}};
    double loss;
    ss_error err = {0};
    CHECK(ss_loss_compute(&c, &b, &loss, NULL, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "needs at least 3");
    c = ss_loss_defaults(SS_LOSS_COSINE);
    CHECK(ss_loss_compute(&c, &b, &loss, NULL, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "needs labels");
    c = ss_loss_defaults(SS_LOSS_MNRL);
    c.n_matryoshka = 1;
    c.matryoshka_dims[0] = 9;
    c.matryoshka_weights[0] = 1;
    CHECK(ss_loss_compute(&c, &b, &loss, NULL, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "matryoshka dim 9");
    CHECK(ss_loss_parse("cached-mnrl") == SS_LOSS_CACHED_MNRL && ss_loss_parse("simcse") == SS_LOSS_MNRL);
    CHECK(ss_loss_parse("nope") == -1);
}

/* GradCache scores mini_batch rows at a time; any chunk gives the same loss and gradients. */
static void test_cached_chunks(gt_file *g) {
    ss_loss_batch b = {.n_cols = 3, .B = 6, .D = 8,
                       .emb = {gt_f(g, "cached.e0"), gt_f(g, "cached.e1"), gt_f(g, "cached.e2")}};
    float *ref[3], *got[3];
    for (int c = 0; c < 3; c++) ref[c] = calloc(48, sizeof(float)), got[c] = calloc(48, sizeof(float));
    ss_loss_config full = ss_loss_defaults(SS_LOSS_MNRL);
    double lref, l;
    ss_error err = {0};
    CHECK(ss_loss_compute(&full, &b, &lref, ref, &err) == SS_OK);
    for (int mb = 1; mb <= 7; mb++) {
        ss_loss_config c = ss_loss_defaults(SS_LOSS_CACHED_MNRL);
        c.mini_batch = mb;
        CHECK(ss_loss_compute(&c, &b, &l, got, &err) == SS_OK);
        CHECK(l == lref);
        for (int col = 0; col < 3; col++) CHECK(memcmp(got[col], ref[col], 48 * sizeof(float)) == 0);
    }
    for (int c = 0; c < 3; c++) free(ref[c]), free(got[c]);
}

int main(void) {
    gt_file g;
    REQUIRE(gt_load(&g, SEMSEARCH_TESTS_DIR "/golden/train/losses.bin") == 0);
    run_case(&g, "mnrl", ss_loss_defaults(SS_LOSS_MNRL), 2, NULL);
    run_case(&g, "mnrl3", ss_loss_defaults(SS_LOSS_MNRL), 3, NULL);
    run_case(&g, "mnsrl", ss_loss_defaults(SS_LOSS_MNSRL), 2, NULL);
    run_case(&g, "cosine", ss_loss_defaults(SS_LOSS_COSINE), 2, "cosine.labels");
    run_case(&g, "contrastive", ss_loss_defaults(SS_LOSS_CONTRASTIVE), 2, "contrastive.labels");
    run_case(&g, "online", ss_loss_defaults(SS_LOSS_ONLINE_CONTRASTIVE), 2, "online.labels");
    run_case(&g, "triplet", ss_loss_defaults(SS_LOSS_TRIPLET), 3, NULL);
    run_case(&g, "cosent", ss_loss_defaults(SS_LOSS_COSENT), 2, "cosent.labels");
    run_case(&g, "mse", ss_loss_defaults(SS_LOSS_MSE), 1, "mse.target");
    run_case(&g, "msepair", ss_loss_defaults(SS_LOSS_MSE_PAIR), 2, NULL);
    ss_loss_config m = ss_loss_defaults(SS_LOSS_MNRL);
    m.n_matryoshka = 3;
    int dims[3] = {8, 4, 2};
    float ws[3] = {1.0f, 0.5f, 0.25f};
    for (int i = 0; i < 3; i++) m.matryoshka_dims[i] = dims[i], m.matryoshka_weights[i] = ws[i];
    run_case(&g, "matry", m, 2, NULL);
    ss_loss_config cm = ss_loss_defaults(SS_LOSS_CACHED_MNRL);
    cm.mini_batch = 2;
    run_case(&g, "cached", cm, 3, NULL);
    test_cached_chunks(&g);
    test_errors(&g);
    gt_free(&g);
    return TEST_REPORT();
}
