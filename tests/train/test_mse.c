/* test_mse.c — MSE training against sentence-transformers + PyTorch
 * (tests/golden/train/mse_{teacher,pair}.bin from
 * tools/reference/make_mse_golden.py), dropout off, one step on 4 pairs:
 *   - MSELoss to a teacher's embeddings: the teacher (tiny MPNet) embeds the
 *     sources, the student (tiny BERT) learns them for sources and targets;
 *     the teacher's embeddings, the loss and every student gradient;
 *   - the seed's embedding-to-embedding MSE (both sides trained);
 * then `--teacher` through the trainer: the loss falls on plain texts, and
 * the mismatches fail with a message. */
#include <unistd.h>

#include "model/config.h"
#include "model/transformer.h"
#include "train/train_step.h"
#include "train/trainer.h"

#include "golden.h"
#include "grad_slice.h"
#include "test.h"

#define STUDENT SEMSEARCH_TESTS_DIR "/models/bert-mean-normalize"
#define TEACHER SEMSEARCH_TESTS_DIR "/models/mpnet-mean-normalize"

static const char *anchors[] = {"how do plants make food", "what is the capital of france?",
                                "Fine-tuning a sentence model in C, without PyTorch.", "cats"};

static void run(const char *golden, int with_teacher) {
    char gpath[512];
    snprintf(gpath, sizeof gpath, "%s/golden/train/%s", SEMSEARCH_TESTS_DIR, golden);
    printf("== %s\n", golden);
    gt_file g;
    REQUIRE(gt_load(&g, gpath) == 0);
    ss_error err = {0};
    ss_tf_config cfg;
    ss_st_config st;
    ss_transformer tf;
    REQUIRE(ss_tf_config_load(&cfg, STUDENT, &err) == SS_OK);
    REQUIRE(ss_st_config_load(&st, STUDENT, &cfg, &err) == SS_OK);
    REQUIRE(ss_transformer_load(&tf, &cfg, STUDENT, &err) == SS_OK);
    ss_pool *pool = ss_pool_new(2);
    int B = gt_get(&g, "col0.input_ids")->dims[0], S = 2 * B, P = cfg.hidden;
    int32_t *ids = malloc(sizeof(int32_t) * S * 512);
    int *off = malloc(sizeof(int) * (S + 1));
    off[0] = 0;
    for (int c = 0; c < 2; c++) {
        char k1[32], k2[32];
        snprintf(k1, sizeof k1, "col%d.input_ids", c);
        snprintf(k2, sizeof k2, "col%d.attention_mask", c);
        int Lp = gt_get(&g, k1)->dims[1];
        for (int i = 0; i < B; i++) {
            int q = c * B + i;
            off[q + 1] = off[q];
            for (int j = 0; j < Lp; j++)
                if (gt_i(&g, k2)[i * Lp + j]) ids[off[q + 1]++] = gt_i(&g, k1)[i * Lp + j];
        }
    }
    float *labels = NULL;
    ss_loss_config lc = ss_loss_defaults(with_teacher ? SS_LOSS_MSE : SS_LOSS_MSE_PAIR);
    if (with_teacher) { /* the teacher through the inference encoder, as the trainer runs it */
        ss_model *t = ss_model_load(TEACHER, NULL, &err);
        REQUIRE(t != NULL && ss_model_dim(t) == P);
        labels = malloc(sizeof(float) * S * P);
        REQUIRE(ss_encode(t, anchors, (size_t)B, NULL, labels, &err) == SS_OK);
        CHECK(gt_compare("teacher embeddings", labels, gt_f(&g, "teacher"), (size_t)B * P, 1e-5, 1e-6) <= 1e-5);
        memcpy(labels + B * P, labels, sizeof(float) * B * P);
        ss_model_free(t);
    }
    float *grads = calloc(tf.n_params, sizeof(float));
    ss_train_step step = {0};
    double loss = NAN;
    CHECKF(ss_train_step_run(&step, &tf, &st, pool, ids, off, 2, B, &lc, labels, grads, &loss, NULL, &err) == SS_OK,
           "%s", err.msg);
    float lf = (float)loss;
    CHECK(gt_compare("loss", &lf, gt_f(&g, "loss"), 1, 1e-5, 1e-9) <= 1e-5);
    double worst = 0;
    const char *worst_name = "";
    int n_checked = 0;
    for (int i = 0; i < g.count; i++) {
        const char *name = g.t[i].name;
        if (strncmp(name, "grad.", 5)) continue;
        name += 5;
        size_t n, at;
        double e;
        if (!strcmp(name, "embeddings.word_embeddings.weight")) {
            gt_tensor *rows = gt_get(&g, "word_rows");
            float *got = malloc(sizeof(float) * rows->n * P);
            ss_tf_params gp;
            ss_tf_point_params(&cfg, grads, &gp);
            for (size_t r = 0; r < rows->n; r++)
                memcpy(got + r * P, gp.word_emb + (size_t)((int32_t *)rows->data)[r] * P, sizeof(float) * P);
            e = scale_err(got, g.t[i].data, rows->n * P, &at);
            free(got);
        } else {
            float *got = grad_slice(&tf, grads, name, &n);
            CHECKF(got != NULL && n == g.t[i].n, "gradient %s has no slice of %zu floats", name, g.t[i].n);
            if (!got || n != g.t[i].n) continue;
            size_t nl = strlen(name);
            if (nl > 8 && !strcmp(name + nl - 8, "key.bias")) { /* analytically zero */
                double mg = 0;
                for (size_t k = 0; k < n; k++) mg = fmax(mg, fabs(got[k]));
                CHECK(mg < 1e-5);
                n_checked++;
                continue;
            }
            e = scale_err(got, g.t[i].data, n, &at);
        }
        n_checked++;
        CHECKF(e <= 1e-3, "gradient %s: error %.3g of its scale at [%zu]", name, e, at);
        if (e > worst) worst = e, worst_name = name;
    }
    printf("  %d gradient tensors; worst %s: %.3g of its max |grad| (tol 1e-3)\n", n_checked, worst_name, worst);
    CHECK(n_checked >= 17);
    ss_train_step_free(&step);
    free(grads), free(ids), free(off), free(labels);
    ss_pool_free(pool);
    ss_transformer_free(&tf);
    ss_st_config_free(&st);
    gt_free(&g);
}

static double tloss[64];
static void on_step(void *user, int64_t step, int64_t total, int epoch, double loss, double lr) {
    (void)user, (void)total, (void)epoch, (void)lr;
    if (step >= 1 && step <= 64) tloss[step - 1] = loss;
}

static void trainer(void) {
    char dir[] = "/tmp/ss_test_mse_XXXXXX", txt[300];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(txt, sizeof txt, "%s/plain.txt", dir);
    FILE *f = fopen(txt, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < 4; i++) fprintf(f, "%s\n", anchors[i]);
    fclose(f);
    ss_train_options o;
    ss_train_options_default(&o);
    static char c0[] = "0";
    o.model_dir = STUDENT, o.data_path = txt, o.teacher = TEACHER, o.loss = ss_loss_defaults(SS_LOSS_MSE);
    o.data.format = SS_DATA_TSV, o.data.header = 0, o.data.n_text_cols = 1, o.data.text_cols[0] = c0;
    o.batch_size = 4, o.epochs = 20, o.lr = 1e-3, o.n_threads = 2, o.on_step = on_step;
    ss_train_result r;
    ss_error err = {0};
    CHECKF(ss_train_run(&o, &r, &err) == SS_OK, "%s", err.msg);
    printf("distillation, 4 texts, 20 steps: loss %.5f -> %.5f\n", tloss[0], tloss[19]);
    CHECK(r.steps == 20 && tloss[19] < 0.7 * tloss[0]); /* dropout on (the default): noisy, but falling */
    /* mismatches */
    o.teacher = SEMSEARCH_MODEL_DIR; /* 384 dimensions vs the student's 32 */
    CHECK(ss_train_run(&o, &r, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "dimensions");
    o.teacher = NULL;
    CHECK(ss_train_run(&o, &r, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "needs a teacher");
    o.teacher = TEACHER, o.loss = ss_loss_defaults(SS_LOSS_MNRL);
    CHECK(ss_train_run(&o, &r, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "teacher goes with the MSE loss");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    run("mse_teacher.bin", 1);
    run("mse_pair.bin", 0);
    trainer();
    return TEST_REPORT();
}
