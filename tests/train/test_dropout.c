/* test_dropout.c — training with dropout ON, checked the llm.c way against
 * PyTorch with the SAME masks (tests/golden/train/{bert,mpnet}_dropout.bin
 * from tools/reference/make_dropout_golden.py, which reimplements the mask
 * generator and puts the masks where HF BertModel / MPNetModel apply
 * dropout). One MNRL step on 4 pairs: embeddings and loss to 1e-5, every
 * parameter gradient to 1e-3 of its scale, the masked-element count equal;
 * GradCache (mini-batches of 3) with dropout matches the same golden. Then:
 * p = 0 with dropout on is bit-identical to dropout off; inference (no
 * keep_all) never drops; the same seed replays, another seed differs. */
#include "model/config.h"
#include "model/transformer.h"
#include "train/bert_backward.h"
#include "train/train_step.h"

#include "golden.h"
#include "grad_slice.h"
#include "test.h"

typedef struct {
    ss_tf_config cfg;
    ss_st_config st;
    ss_transformer tf;
    ss_pool *pool;
    int32_t *ids;
    int *off;
    int B, S;
} fixture;

static void fixture_load(fixture *fx, gt_file *g, const char *model) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/models/%s", SEMSEARCH_TESTS_DIR, model);
    ss_error err = {0};
    REQUIRE(ss_tf_config_load(&fx->cfg, dir, &err) == SS_OK);
    REQUIRE(ss_st_config_load(&fx->st, dir, &fx->cfg, &err) == SS_OK);
    REQUIRE(ss_transformer_load(&fx->tf, &fx->cfg, dir, &err) == SS_OK);
    fx->pool = ss_pool_new(2);
    REQUIRE(fx->pool != NULL);
    gt_tensor *t0 = gt_get(g, "col0.input_ids");
    int B = t0->dims[0], Lp0 = t0->dims[1];
    fx->B = B, fx->S = 2 * B;
    fx->ids = malloc(sizeof(int32_t) * fx->S * (Lp0 + gt_get(g, "col1.input_ids")->dims[1]));
    fx->off = malloc(sizeof(int) * (fx->S + 1));
    fx->off[0] = 0;
    for (int c = 0; c < 2; c++) {
        char k1[32], k2[32];
        snprintf(k1, sizeof k1, "col%d.input_ids", c);
        snprintf(k2, sizeof k2, "col%d.attention_mask", c);
        int Lp = gt_get(g, k1)->dims[1];
        for (int i = 0; i < B; i++) {
            int q = c * B + i;
            fx->off[q + 1] = fx->off[q];
            for (int j = 0; j < Lp; j++)
                if (gt_i(g, k2)[i * Lp + j]) fx->ids[fx->off[q + 1]++] = gt_i(g, k1)[i * Lp + j];
        }
    }
}

static void fixture_free(fixture *fx) {
    free(fx->ids), free(fx->off);
    ss_pool_free(fx->pool);
    ss_transformer_free(&fx->tf);
    ss_st_config_free(&fx->st);
}

/* One MNRL step; grads zeroed here. */
static double step_run(fixture *fx, ss_train_step *s, int mini_batch, float *grads, float *emb) {
    ss_error err = {0};
    ss_loss_config lc = ss_loss_defaults(mini_batch ? SS_LOSS_CACHED_MNRL : SS_LOSS_MNRL);
    if (mini_batch) lc.mini_batch = mini_batch;
    memset(grads, 0, sizeof(float) * fx->tf.n_params);
    double loss = NAN;
    ss_status rc = ss_train_step_run(s, &fx->tf, &fx->st, fx->pool, fx->ids, fx->off, 2, fx->B, &lc, NULL, grads,
                                     &loss, emb, &err);
    CHECKF(rc == SS_OK, "%s", err.msg);
    return loss;
}

/* Zeros in the masks of the last forward over T tokens (att_len floats per layer). */
static long count_dropped(const ss_tf_acts *a, const ss_tf_config *c) {
    long n = 0;
    const size_t TH = (size_t)a->T * c->hidden;
    for (size_t i = 0; i < TH; i++) n += !a->drop_emb[i];
    for (int l = 0; l < c->layers; l++) {
        ss_tf_layer_acts la = ss_tf_acts_layer(a, c, l);
        for (size_t i = 0; i < TH; i++) n += !la.drop_attn_out[i] + !la.drop_ffn_out[i];
        for (size_t i = 0; i < a->att_len; i++) n += !la.drop_att[i];
    }
    return n;
}

static void parity(const char *model, const char *golden, int mini_batch) {
    char gpath[512];
    snprintf(gpath, sizeof gpath, "%s/golden/train/%s", SEMSEARCH_TESTS_DIR, golden);
    printf("== %s, %s, dropout on%s\n", model, golden, mini_batch ? ", CachedMNRL mini-batches of 3" : "");
    gt_file g;
    REQUIRE(gt_load(&g, gpath) == 0);
    fixture fx;
    fixture_load(&fx, &g, model);
    const float *sp = gt_f(&g, "drop_seed_p");
    CHECK(sp[1] == fx.cfg.hidden_dropout && sp[2] == fx.cfg.attn_dropout && sp[1] > 0);
    ss_train_step step = {0};
    step.dropout = 1, step.p_hidden = fx.cfg.hidden_dropout, step.p_attn = fx.cfg.attn_dropout;
    step.drop_seed = (uint64_t)sp[0];
    int D = gt_get(&g, "col0.embedding")->dims[1];
    float *grads = malloc(sizeof(float) * fx.tf.n_params), *emb = malloc(sizeof(float) * fx.S * D);
    double loss = step_run(&fx, &step, mini_batch, grads, emb);
    if (!mini_batch) {
        long nd = count_dropped(&step.work.acts, &fx.cfg);
        printf("  masked elements %ld, reference %d\n", nd, gt_i(&g, "n_dropped")[0]);
        CHECK(nd == gt_i(&g, "n_dropped")[0] && nd > 0);
    }
    CHECK(gt_compare("embeddings col 0", emb, gt_f(&g, "col0.embedding"), (size_t)fx.B * D, 1e-5, 1e-6) <= 1e-5);
    CHECK(gt_compare("embeddings col 1", emb + fx.B * D, gt_f(&g, "col1.embedding"), (size_t)fx.B * D, 1e-5, 1e-6) <=
          1e-5);
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
        const float *want = g.t[i].data;
        if (!strcmp(name, "embeddings.word_embeddings.weight")) {
            gt_tensor *rows = gt_get(&g, "word_rows");
            float *got = malloc(sizeof(float) * rows->n * fx.cfg.hidden);
            ss_tf_params gp;
            ss_tf_point_params(&fx.cfg, grads, &gp);
            for (size_t r = 0; r < rows->n; r++)
                memcpy(got + r * fx.cfg.hidden, gp.word_emb + (size_t)((int32_t *)rows->data)[r] * fx.cfg.hidden,
                       sizeof(float) * fx.cfg.hidden);
            e = scale_err(got, want, rows->n * fx.cfg.hidden, &at);
            free(got);
        } else {
            float *got = grad_slice(&fx.tf, grads, name, &n);
            CHECKF(got != NULL && n == g.t[i].n, "gradient %s has no slice of %zu floats", name, g.t[i].n);
            if (!got || n != g.t[i].n) continue;
            size_t nl = strlen(name);
            if ((nl > 8 && !strcmp(name + nl - 8, "key.bias")) || (nl > 6 && !strcmp(name + nl - 6, "k.bias"))) {
                double mg = 0; /* analytically zero, dropout or not (softmax ignores a per-query constant) */
                for (size_t k = 0; k < n; k++) mg = fmax(mg, fabs(got[k]));
                CHECK(mg < 1e-5);
                n_checked++;
                continue;
            }
            e = scale_err(got, want, n, &at);
        }
        n_checked++;
        CHECKF(e <= 1e-3, "gradient %s: error %.3g of its scale at [%zu]", name, e, at);
        if (e > worst) worst = e, worst_name = name;
    }
    printf("  %d gradient tensors; worst %s: %.3g of its max |grad| (tol 1e-3)\n", n_checked, worst_name, worst);
    CHECK(n_checked >= 17);
    free(grads), free(emb);
    ss_train_step_free(&step);
    fixture_free(&fx);
    gt_free(&g);
}

/* p = 0 through the dropout code path == no dropout, bit for bit; p > 0
 * changes the result, the same seed replays it exactly, another seed does not;
 * an inference forward (keep_all off) with dropout set drops nothing. */
static void properties(void) {
    char gpath[512];
    snprintf(gpath, sizeof gpath, "%s/golden/train/bert_dropout.bin", SEMSEARCH_TESTS_DIR);
    printf("== p = 0 bit-identity, replay, inference\n");
    gt_file g;
    REQUIRE(gt_load(&g, gpath) == 0);
    fixture fx;
    fixture_load(&fx, &g, "bert-mean-normalize");
    const size_t n = fx.tf.n_params, P = (size_t)fx.S * fx.cfg.hidden;
    float *g0 = malloc(sizeof(float) * n), *g1 = malloc(sizeof(float) * n);
    float *e0 = malloc(sizeof(float) * P), *e1 = malloc(sizeof(float) * P);
    ss_train_step off = {0}, on = {0};
    ss_error err = {0};
    double l0 = step_run(&fx, &off, 0, g0, e0);
    on.dropout = 1, on.p_hidden = 0, on.p_attn = 0, on.drop_seed = 7;
    double l1 = step_run(&fx, &on, 0, g1, e1);
    CHECK(on.work.acts.dropped && !off.work.acts.dropped);
    int same = l0 == l1 && !memcmp(g0, g1, sizeof(float) * n) && !memcmp(e0, e1, sizeof(float) * P);
    printf("  p = 0 with the masks: loss %.9g vs %.9g, gradients and embeddings bit-identical: %s\n", l1, l0,
           same ? "yes" : "NO");
    CHECK(same);
    /* GradCache at p = 0 too (against GradCache without dropout: a mini-batch's GEMMs round apart
     * from the whole batch's) */
    double lc0 = step_run(&fx, &off, 3, g0, e0), lc1 = step_run(&fx, &on, 3, g1, e1);
    CHECK(lc0 == lc1 && !memcmp(g0, g1, sizeof(float) * n) && !memcmp(e0, e1, sizeof(float) * P));
    l0 = step_run(&fx, &off, 0, g0, e0);

    on.p_hidden = on.p_attn = 0.1f;
    l1 = step_run(&fx, &on, 0, g1, e1);
    CHECK(l1 != l0 && memcmp(e0, e1, sizeof(float) * P));
    double l2 = step_run(&fx, &on, 0, g0, e0);
    CHECK(l2 == l1 && !memcmp(e0, e1, sizeof(float) * P)); /* replay */
    on.drop_seed = 8;
    double l3 = step_run(&fx, &on, 0, g0, e0);
    CHECK(l3 != l1);
    printf("  p = 0.1: loss %.6f (seed 7, replayed %.6f), %.6f (seed 8), %.6f without dropout\n", l1, l2, l3, l0);

    /* SimCSE's two views: the anchors packed twice (sequence i and B + i the same text) */
    {
        int B = fx.B, *off2 = malloc(sizeof(int) * (2 * B + 1));
        int32_t *ids2 = malloc(sizeof(int32_t) * 2 * fx.off[B]);
        memcpy(ids2, fx.ids, sizeof(int32_t) * fx.off[B]);
        memcpy(ids2 + fx.off[B], fx.ids, sizeof(int32_t) * fx.off[B]);
        for (int q = 0; q <= B; q++) off2[q] = fx.off[q], off2[B + q] = fx.off[B] + fx.off[q];
        const int D = fx.cfg.hidden;
        ss_loss_config lc = ss_loss_defaults(SS_LOSS_MNRL);
        double lv[2];
        for (int drop = 0; drop < 2; drop++) {
            ss_train_step *s = drop ? &on : &off;
            memset(g0, 0, sizeof(float) * n);
            CHECKF(ss_train_step_run(s, &fx.tf, &fx.st, fx.pool, ids2, off2, 2, B, &lc, NULL, g0, &lv[drop], e0,
                                     &err) == SS_OK, "%s", err.msg);
            double mind = INFINITY;
            for (int i = 0; i < B; i++) {
                double dot = 0;
                for (int k = 0; k < D; k++) dot += (double)e0[i * D + k] * e0[(B + i) * D + k];
                if (1 - dot < mind) mind = 1 - dot;
            }
            int same = !memcmp(e0, e0 + B * D, sizeof(float) * B * D);
            printf("  simcse views, dropout %s: identical %s, min 1 - cos(view 1, view 2) %.3g, loss %.4f\n",
                   drop ? "on" : "off", same ? "yes" : "no", mind, lv[drop]);
            CHECK(drop ? !same && mind > 1e-4 : same);
        }
        CHECK(lv[1] > lv[0]); /* the views are no longer exact positives */
        free(off2), free(ids2);
    }

    /* inference: the same work with keep_all off ignores the dropout request */
    ss_tf_work w = {0}, w2 = {0};
    w.dropout = 1, w.p_hidden = w.p_attn = 0.5f, w.drop_seed = 1;
    int T = fx.off[fx.S];
    REQUIRE(ss_transformer_forward(&fx.tf, fx.pool, &w, fx.ids, fx.off, fx.S, &err) == SS_OK);
    REQUIRE(ss_transformer_forward(&fx.tf, fx.pool, &w2, fx.ids, fx.off, fx.S, &err) == SS_OK);
    CHECK(!w.acts.dropped && !memcmp(w.x, w2.x, sizeof(float) * T * fx.cfg.hidden));
    /* a bad p is an error, not a silent NaN */
    ss_tf_work w3 = {.acts.keep_all = 1, .dropout = 1, .p_hidden = 1.0f};
    CHECK(ss_transformer_forward(&fx.tf, fx.pool, &w3, fx.ids, fx.off, fx.S, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "dropout p");
    ss_tf_work_free(&w), ss_tf_work_free(&w2), ss_tf_work_free(&w3);
    free(g0), free(g1), free(e0), free(e1);
    ss_train_step_free(&off), ss_train_step_free(&on);
    fixture_free(&fx);
    gt_free(&g);
}

int main(void) {
    parity("bert-mean-normalize", "bert_dropout.bin", 0);
    parity("mpnet-mean-normalize", "mpnet_dropout.bin", 0);
    /* GradCache replays the whole batch's masks per mini-batch: the same golden */
    parity("bert-mean-normalize", "bert_dropout.bin", 3);
    properties();
    return TEST_REPORT();
}
