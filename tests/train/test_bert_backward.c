/* test_bert_backward.c — gradient parity of the whole model, llm.c's
 * test_gpt2 way, against sentence-transformers + PyTorch
 * (tests/golden/train/{bert_mnrl,bert_cosine,mpnet_mnrl}.bin from
 * tools/reference/make_train_goldens.py): tiny seeded BERT and MPNet, one
 * batch of 4 (anchor, positive) pairs, dropout off. Checks the embeddings and
 * the loss to 1e-5 relative and every parameter gradient tensor to 1e-3
 * (max |got - want| over max |want| of the tensor; the worst tensor is
 * reported); then 10 steps of fit's optimiser (AdamW, no_decay groups, clip
 * 1.0, WarmupLinear) whose losses match the reference's to 1e-3. */
#include "kernels/ops.h"
#include "model/config.h"
#include "model/transformer.h"
#include "train/bert_backward.h"
#include "train/optim.h"
#include "train/train_step.h"

#include "golden.h"
#include "grad_slice.h"
#include "test.h"

static void run(const char *model, const char *golden, ss_loss_kind kind, int mini_batch) {
    char dir[512], gpath[512];
    if (!strcmp(model, "all-MiniLM-L6-v2")) snprintf(dir, sizeof dir, "%s", SEMSEARCH_MODEL_DIR);
    else snprintf(dir, sizeof dir, "%s/models/%s", SEMSEARCH_TESTS_DIR, model);
    snprintf(gpath, sizeof gpath, "%s/golden/train/%s", SEMSEARCH_TESTS_DIR, golden);
    printf("== %s, %s%s\n", model, golden, mini_batch ? " as CachedMNRL (GradCache re-forward per mini-batch of 3)" : "");
    gt_file g;
    REQUIRE(gt_load(&g, gpath) == 0);
    ss_error err = {0};
    ss_tf_config cfg;
    ss_st_config st;
    ss_transformer tf;
    REQUIRE(ss_tf_config_load(&cfg, dir, &err) == SS_OK);
    REQUIRE(ss_st_config_load(&st, dir, &cfg, &err) == SS_OK);
    REQUIRE(ss_transformer_load(&tf, &cfg, dir, &err) == SS_OK);
    ss_pool *pool = ss_pool_new(2);
    REQUIRE(pool != NULL);

    /* pack the padded (anchor, positive) columns: sequence c·B + i */
    gt_tensor *t0 = gt_get(&g, "col0.input_ids");
    int B = t0->dims[0], Lp = t0->dims[1], n_cols = 2, S = n_cols * B;
    int32_t *ids = malloc(sizeof(int32_t) * S * Lp);
    int *off = malloc(sizeof(int) * (S + 1));
    off[0] = 0;
    for (int c = 0; c < n_cols; c++) {
        char k1[32], k2[32];
        snprintf(k1, sizeof k1, "col%d.input_ids", c);
        snprintf(k2, sizeof k2, "col%d.attention_mask", c);
        REQUIRE(gt_get(&g, k1)->dims[1] == Lp);
        for (int i = 0; i < B; i++) {
            int q = c * B + i;
            off[q + 1] = off[q];
            for (int j = 0; j < Lp; j++)
                if (gt_i(&g, k2)[i * Lp + j]) ids[off[q + 1]++] = gt_i(&g, k1)[i * Lp + j];
        }
    }
    float *grads = calloc(tf.n_params, sizeof(float));
    ss_loss_config lc = ss_loss_defaults(kind);
    if (mini_batch) lc.mini_batch = mini_batch;
    const float *labels = kind == SS_LOSS_COSINE ? gt_f(&g, "labels") : NULL;
    ss_train_step step = {0};
    int D = gt_get(&g, "col0.embedding")->dims[1];
    float *emb = malloc(sizeof(float) * S * D);
    double loss = 0;
    ss_status rc = ss_train_step_run(&step, &tf, &st, pool, ids, off, n_cols, B, &lc, labels, grads, &loss, emb, &err);
    CHECKF(rc == SS_OK, "%s", err.msg);
    CHECK(gt_compare("embeddings col 0", emb, gt_f(&g, "col0.embedding"), (size_t)B * D, 1e-5, 1e-6) <= 1e-5);
    CHECK(gt_compare("embeddings col 1", emb + B * D, gt_f(&g, "col1.embedding"), (size_t)B * D, 1e-5, 1e-6) <= 1e-5);
    float lf = (float)loss;
    CHECK(gt_compare("loss", &lf, gt_f(&g, "loss"), 1, 1e-5, 1e-9) <= 1e-5);

    /* every parameter gradient */
    double worst = 0;
    const char *worst_name = "";
    int n_checked = 0;
    for (int i = 0; i < g.count; i++) {
        const char *name = g.t[i].name;
        if (strncmp(name, "grad.", 5)) continue;
        name += 5;
        const float *want = g.t[i].data;
        size_t n, at;
        double e;
        char key[160];
        snprintf(key, sizeof key, "gidx.%s", name);
        gt_tensor *gidx = NULL;
        for (int k = 0; k < g.count; k++)
            if (!strcmp(g.t[k].name, key)) gidx = &g.t[k];
        if (gidx) { /* a big model: sampled elements and the tensor's norm */
            float *full;
            float *rowbuf = NULL;
            if (!strcmp(name, "embeddings.word_embeddings.weight")) {
                gt_tensor *rows = gt_get(&g, "word_rows");
                ss_tf_params gp;
                ss_tf_point_params(&cfg, grads, &gp);
                rowbuf = malloc(sizeof(float) * rows->n * cfg.hidden);
                for (size_t r = 0; r < rows->n; r++)
                    memcpy(rowbuf + r * cfg.hidden, gp.word_emb + (size_t)((int32_t *)rows->data)[r] * cfg.hidden,
                           sizeof(float) * cfg.hidden);
                full = rowbuf, n = rows->n * cfg.hidden;
            } else {
                full = grad_slice(&tf, grads, name, &n);
                CHECKF(full != NULL, "gradient %s has no slice", name);
                if (!full) continue;
            }
            float *got = malloc(sizeof(float) * gidx->n);
            double sq = 0;
            for (size_t k = 0; k < n; k++) sq += (double)full[k] * full[k];
            for (size_t k = 0; k < gidx->n; k++) got[k] = full[((int32_t *)gidx->data)[k] % n];
            e = scale_err(got, want, gidx->n, &at);
            snprintf(key, sizeof key, "gnorm.%s", name);
            double wn = gt_f(&g, key)[0], ne = fabs(sqrt(sq) - wn) / (wn > 0 ? wn : 1);
            if (ne > e) e = ne;
            free(got), free(rowbuf);
        } else if (!strcmp(name, "embeddings.word_embeddings.weight")) { /* only the rows the batch uses */
            gt_tensor *rows = gt_get(&g, "word_rows");
            float *got = malloc(sizeof(float) * rows->n * cfg.hidden);
            ss_tf_params gp;
            ss_tf_point_params(&cfg, grads, &gp);
            for (size_t r = 0; r < rows->n; r++)
                memcpy(got + r * cfg.hidden, gp.word_emb + (size_t)((int32_t *)rows->data)[r] * cfg.hidden,
                       sizeof(float) * cfg.hidden);
            n = rows->n * cfg.hidden;
            e = scale_err(got, want, n, &at);
            free(got);
        } else {
            float *got = grad_slice(&tf, grads, name, &n);
            CHECKF(got != NULL && n == g.t[i].n, "gradient %s has no slice of %zu floats", name, g.t[i].n);
            if (!got || n != g.t[i].n) continue;
            e = scale_err(got, want, n, &at);
        }
        n_checked++;
        size_t nl = strlen(name);
        if ((nl > 8 && !strcmp(name + nl - 8, "key.bias")) || (nl > 6 && !strcmp(name + nl - 6, "k.bias"))) {
            /* analytically zero (softmax ignores a per-query constant): both sides are rounding noise */
            double mg = 0, mw = 0;
            float *got = grad_slice(&tf, grads, name, &n);
            for (size_t k = 0; k < n; k++) mg = fmax(mg, fabs(got[k]));
            for (size_t k = 0; k < g.t[i].n; k++) mw = fmax(mw, fabs(want[k])); /* sampled for big models */
            printf("  %-45s analytically 0: max |got| %.2g, max |want| %.2g\n", name, mg, mw);
            CHECK(mg < 1e-5 && mw < 1e-5);
            continue;
        }
        CHECKF(e <= 1e-3, "gradient %s: error %.3g of its scale at [%zu]", name, e, at);
        if (e > worst) worst = e, worst_name = name;
    }
    printf("  %d gradient tensors; worst %s: %.3g of its max |grad| (tol 1e-3)\n", n_checked, worst_name, worst);
    CHECK(n_checked >= 17);

    /* 10 steps of fit's optimiser on the same batch */
    const float *hy = gt_f(&g, "hyper"), *want_losses = gt_f(&g, "step_losses");
    int warm = (int)hy[1], steps = (int)hy[2];
    ss_adamw opt;
    REQUIRE(ss_adamw_init(&opt, tf.n_params, &err) == SS_OK);
    opt.lr = (double)hy[0];
    if (fabs(opt.lr - 1e-3) < 1e-9) opt.lr = 1e-3; /* the reference's Python float */
    ss_param_range ranges[2 * SS_TF_N_TENSORS];
    int nr = ss_tf_param_groups(&tf, ranges);
    double worst_step = 0;
    for (int t = 0; t < steps; t++) {
        memset(grads, 0, sizeof(float) * tf.n_params);
        rc = ss_train_step_run(&step, &tf, &st, pool, ids, off, n_cols, B, &lc, labels, grads, &loss, NULL, &err);
        CHECKF(rc == SS_OK, "%s", err.msg);
        /* 1e-3 relative, plus 1e-5 absolute: a float32 reference's cross-entropy over logits of
         * magnitude 20 cannot resolve losses much below that */
        double e = fabs(loss - want_losses[t]) / (fabs(want_losses[t]) + 1e-2);
        printf("  step %2d loss %.7f reference %.7f rel err %.2g\n", t, loss, want_losses[t], e);
        if (e > worst_step) worst_step = e;
        ss_clip_grad_norm(grads, tf.n_params, 1.0f);
        ss_adamw_step(&opt, tf.params, grads, ranges, nr, opt.lr * ss_schedule_factor(SS_SCHED_WARMUP_LINEAR, t, warm, steps));
    }
    CHECKF(worst_step <= 1e-3, "10-step losses: worst rel err %.3g", worst_step);
    printf("  10 AdamW steps: worst loss rel err %.3g (tol 1e-3)\n", worst_step);

    ss_adamw_free(&opt);
    ss_train_step_free(&step);
    free(grads), free(ids), free(off), free(emb);
    ss_pool_free(pool);
    ss_transformer_free(&tf);
    ss_st_config_free(&st);
    gt_free(&g);
}

int main(void) {
    /* the CLI's setting: the backward's GEMMs then run through the pool (ss_linear_backward_par) */
    ss_blas_set_single_threaded();
    run("bert-mean-normalize", "bert_mnrl.bin", SS_LOSS_MNRL, 0);
    run("bert-mean-normalize", "bert_cosine.bin", SS_LOSS_COSINE, 0);
    run("mpnet-mean-normalize", "mpnet_mnrl.bin", SS_LOSS_MNRL, 0);
    /* the real all-MiniLM-L6-v2: 6 layers, 384 wide, sampled gradients (256 per tensor + its norm) */
    run("all-MiniLM-L6-v2", "minilm_mnrl.bin", SS_LOSS_MNRL, 0);
    /* GradCache is MNRL exactly: the same golden, 8 sequences in mini-batches of 3 */
    run("bert-mean-normalize", "bert_mnrl.bin", SS_LOSS_CACHED_MNRL, 3);
    return TEST_REPORT();
}
