/* test_train_threads.c — a training step gives bit-identical results on 1, 2
 * and 4 pool threads: the forward, the backward (kernels/backward.c *_par,
 * train/bert_backward.c), clipping and AdamW. OpenBLAS runs single-threaded,
 * as in the CLI, so the backward's GEMMs go through the pool too. Tiny BERT
 * (erf GELU), tiny BERT with tanh GELU, tiny MPNet (relative-position bias)
 * and the real all-MiniLM-L6-v2, MNRL on 6 pairs of uneven lengths (5 to 70
 * tokens), 3 optimiser steps: losses, embeddings, every gradient and the
 * parameters after the steps compared with memcmp. */
#include "kernels/ops.h"
#include "model/config.h"
#include "model/transformer.h"
#include "train/bert_backward.h"
#include "train/optim.h"
#include "train/train_step.h"

#include "kernels/rng.h"
#include "test.h"

enum { B = 6, N_COLS = 2, STEPS = 3 };

typedef struct run_out {
    double loss[STEPS];
    float *emb, *grads, *params;
} run_out;

static void run_once(const char *dir, int threads, int dropout, const int32_t *ids, const int *off, run_out *o) {
    ss_error err = {0};
    ss_tf_config cfg;
    ss_st_config st;
    ss_transformer tf;
    REQUIRE(ss_tf_config_load(&cfg, dir, &err) == SS_OK);
    REQUIRE(ss_st_config_load(&st, dir, &cfg, &err) == SS_OK);
    REQUIRE(ss_transformer_load(&tf, &cfg, dir, &err) == SS_OK);
    ss_pool *pool = ss_pool_new(threads);
    REQUIRE(pool != NULL && ss_pool_threads(pool) == threads);
    int D = ss_pooling_count(&st.pooling) * cfg.hidden;
    o->emb = malloc(sizeof(float) * N_COLS * B * D);
    o->grads = calloc(tf.n_params, sizeof(float));
    o->params = malloc(sizeof(float) * tf.n_params);
    REQUIRE(o->emb && o->grads && o->params);
    ss_loss_config lc = ss_loss_defaults(SS_LOSS_MNRL);
    ss_train_step step = {0};
    if (dropout) /* masks drawn per row from the seed: the same on any number of threads */
        step.dropout = 1, step.p_hidden = 0.1f, step.p_attn = 0.1f, step.drop_seed = 12345;
    ss_adamw opt;
    REQUIRE(ss_adamw_init(&opt, tf.n_params, &err) == SS_OK);
    opt.lr = 1e-3; /* large, so that the steps move the parameters visibly */
    opt.pool = pool;
    ss_param_range ranges[2 * SS_TF_N_TENSORS];
    int nr = ss_tf_param_groups(&tf, ranges);
    for (int t = 0; t < STEPS; t++) {
        memset(o->grads, 0, sizeof(float) * tf.n_params);
        ss_status rc = ss_train_step_run(&step, &tf, &st, pool, ids, off, N_COLS, B, &lc, NULL, o->grads, &o->loss[t],
                                         t == 0 ? o->emb : NULL, &err);
        CHECKF(rc == SS_OK, "%s", err.msg);
        if (t == STEPS - 1) break; /* keep the last step's gradients as they came out of the backward */
        ss_clip_grad_norm_par(pool, o->grads, tf.n_params, 1.0f);
        ss_adamw_step(&opt, tf.params, o->grads, ranges, nr, opt.lr);
    }
    memcpy(o->params, tf.params, sizeof(float) * tf.n_params);
    printf("  %d thread(s): losses %.7f %.7f %.7f\n", threads, o->loss[0], o->loss[1], o->loss[2]);
    ss_adamw_free(&opt);
    ss_train_step_free(&step);
    ss_pool_free(pool);
    ss_transformer_free(&tf);
    ss_st_config_free(&st);
}

static void check_model(const char *dir, const char *label, int dropout) {
    ss_error err = {0};
    ss_tf_config cfg;
    REQUIRE(ss_tf_config_load(&cfg, dir, &err) == SS_OK);
    ss_st_config st;
    REQUIRE(ss_st_config_load(&st, dir, &cfg, &err) == SS_OK);
    ss_transformer tf;
    REQUIRE(ss_transformer_load(&tf, &cfg, dir, &err) == SS_OK);
    size_t n_params = tf.n_params;
    int D = ss_pooling_count(&st.pooling) * cfg.hidden;
    ss_transformer_free(&tf);
    ss_st_config_free(&st);
    printf("== %s (%zu parameters)%s\n", label, n_params, dropout ? ", dropout 0.1" : "");

    /* uneven lengths so that (sequence, head) tasks and row blocks differ in size; a
     * repeated id in every sequence exercises the embedding scatter-add's sums */
    ss_rng rng;
    ss_rng_seed(&rng, 7);
    int32_t ids[N_COLS * B * 70];
    int off[N_COLS * B + 1];
    off[0] = 0;
    for (int q = 0; q < N_COLS * B; q++) {
        int L = 5 + (q * 37) % 66;
        if (L > cfg.max_position - 4) L = cfg.max_position - 4;
        for (int j = 0; j < L; j++) {
            int id = 5 + (int)(ss_rng_uniform(&rng) * (float)(cfg.vocab_size - 10));
            if (j % 7 == 3) id = 7; /* repeated */
            ids[off[q] + j] = id;
        }
        off[q + 1] = off[q] + L;
    }
    run_out r[3];
    const int threads[3] = {1, 2, 4};
    for (int i = 0; i < 3; i++) run_once(dir, threads[i], dropout, ids, off, &r[i]);
    for (int i = 1; i < 3; i++) {
        for (int t = 0; t < STEPS; t++)
            CHECKF(memcmp(&r[i].loss[t], &r[0].loss[t], sizeof(double)) == 0, "%s: step %d loss, %d threads: %.9g vs %.9g",
                   label, t, threads[i], r[i].loss[t], r[0].loss[t]);
        CHECKF(memcmp(r[i].emb, r[0].emb, sizeof(float) * N_COLS * B * D) == 0, "%s: embeddings differ on %d threads",
               label, threads[i]);
        size_t diff = 0, first = 0;
        for (size_t k = 0; k < n_params; k++)
            if (memcmp(&r[i].grads[k], &r[0].grads[k], sizeof(float)) && !diff++) first = k;
        CHECKF(diff == 0, "%s: %zu gradient elements differ on %d threads (first at %zu: %.9g vs %.9g)", label, diff,
               threads[i], first, r[i].grads[first], r[0].grads[first]);
        diff = 0;
        for (size_t k = 0; k < n_params; k++)
            if (memcmp(&r[i].params[k], &r[0].params[k], sizeof(float)) && !diff++) first = k;
        CHECKF(diff == 0, "%s: %zu parameters differ after %d steps on %d threads", label, diff, STEPS - 1,
               threads[i]);
    }
    /* the steps did something: the loss moved and the gradient is not all zero */
    CHECK(r[0].loss[STEPS - 1] != r[0].loss[0]);
    double gs = 0;
    for (size_t k = 0; k < n_params; k++) gs += fabs(r[0].grads[k]);
    CHECK(gs > 0);
    printf("  1, 2, 4 threads: losses, embeddings, %zu gradients and parameters bit-identical\n", n_params);
    for (int i = 0; i < 3; i++) free(r[i].emb), free(r[i].grads), free(r[i].params);
}

int main(void) {
    ss_blas_set_single_threaded(); /* the CLI's setting: the backward's GEMMs run on the pool */
    char dir[512];
    const char *tiny[] = {"bert-mean-normalize", "bert-gelu-new", "mpnet-mean-normalize"};
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/models/%s", SEMSEARCH_TESTS_DIR, tiny[i]);
        check_model(dir, tiny[i], 0);
        check_model(dir, tiny[i], 1);
    }
    check_model(SEMSEARCH_MODEL_DIR, "all-MiniLM-L6-v2", 0);
    return TEST_REPORT();
}
