/* test_tf_acts.c — the parameter and activation layout that a backward pass
 * will read (src/model/transformer.h), checked on all-MiniLM-L6-v2:
 *  - the view table tiles the flat buffer (aligned, in order, no overlap) and
 *    ss_tf_point_params puts a second buffer (gradients) at the same offsets;
 *  - keep_all (training) and the low-memory inference mode give the same last
 *    hidden state bit for bit (same kernels);
 *  - every kept buffer holds what the header says: recomputing a layer's
 *    LayerNorms, activation, residual sums and one head's attention output
 *    from the kept inputs reproduces the kept outputs bit for bit, and the
 *    attention probabilities of every (sequence, head) are rows summing to 1. */
#include <stdint.h>

#include "core/threadpool.h"
#include "kernels/ops.h"
#include "model/config.h"
#include "model/transformer.h"
#include "test.h"

static size_t ndiff(const float *a, const float *b, size_t n) {
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp(a + i, b + i, sizeof(float)) != 0;
    return d;
}

int main(void) {
    ss_error err;
    ss_tf_config cfg;
    REQUIRE(ss_tf_config_load(&cfg, SEMSEARCH_MODEL_DIR, &err) == SS_OK);
    ss_transformer tf;
    ss_status s = ss_transformer_load(&tf, &cfg, SEMSEARCH_MODEL_DIR, &err);
    if (s != SS_OK) fprintf(stderr, "%s\n", err.msg);
    REQUIRE(s == SS_OK);
    const int H = cfg.hidden, I = cfg.intermediate, nh = cfg.heads, d = H / nh;

    /* ---- parameter views */
    size_t end = 0, total = 0;
    int ordered = 1;
    for (int i = 0; i < SS_TF_N_TENSORS; i++) {
        const ss_tf_view *v = &tf.views[i];
        ordered &= v->offset >= end && v->offset % 16 == 0;
        end = v->offset + v->numel;
        total += v->numel;
    }
    CHECK(ordered && end <= tf.n_params);
    CHECK(tf.views[SS_TF_QKV_W].shape[0] == cfg.layers && tf.views[SS_TF_QKV_W].shape[1] == 3 * H);
    CHECK(tf.w.word_emb == tf.params && tf.w.rel_bias == NULL && tf.w.type_emb != NULL);
    printf("parameters: %zu floats in %d views, %zu in the buffer with alignment\n", total, SS_TF_N_TENSORS,
           tf.n_params);
    float *grad = calloc(tf.n_params, sizeof(float));
    REQUIRE(grad);
    ss_tf_params gp;
    ss_tf_point_params(&cfg, grad, &gp);
    CHECK(gp.ffn_out_w - grad == tf.w.ffn_out_w - tf.params && gp.ln2_b - grad == tf.w.ln2_b - tf.params);
    ss_tf_layer l3 = ss_tf_layer_of(&cfg, &tf.w, 3);
    CHECK(l3.qkv_w == tf.w.qkv_w + (size_t)3 * 3 * H * H && l3.ffn_in_b == tf.w.ffn_in_b + (size_t)3 * I);

    /* ---- a packed batch: three sequences of different lengths */
    const int32_t ids[] = {101, 1037, 2611, 2003, 13342, 2014, 2606, 1012, 102, /* 9 */
                           101, 7592, 102,                                        /* 3 */
                           101, 1996, 4937, 2938, 2006, 1996, 13523, 2007, 1037, 2417, 2601, 1012, 102};
    const int off[] = {0, 9, 12, 25}, n_seq = 3, T = 25;
    ss_pool *pool = ss_pool_new(2);
    REQUIRE(pool);
    ss_tf_work inf = {0}, tr = {0};
    tr.acts.keep_all = 1;
    REQUIRE(ss_transformer_forward(&tf, pool, &inf, ids, off, n_seq, &err) == SS_OK);
    REQUIRE(ss_transformer_forward(&tf, pool, &tr, ids, off, n_seq, &err) == SS_OK);
    size_t out_diff = ndiff(inf.x, tr.x, (size_t)T * H);
    printf("last hidden state, keep_all vs inference mode: %zu of %d values differ\n", out_diff, T * H);
    CHECK(out_diff == 0);
    const ss_tf_acts *a = &tr.acts;
    CHECK(a->n_layer_bufs == cfg.layers && a->att != NULL && inf.acts.att == NULL);
    CHECK(tr.x == ss_tf_acts_output(a, &cfg));

    float *tmp = malloc((size_t)T * I * sizeof(float)), mean[32], rstd[32];
    REQUIRE(tmp);
    /* LN0 */
    ss_layernorm_forward(tmp, mean, rstd, a->emb, tf.w.emb_ln_g, tf.w.emb_ln_b, T, H, cfg.ln_eps);
    CHECK(ndiff(tmp, ss_tf_acts_resid(a, H, 0), (size_t)T * H) == 0 && ndiff(mean, a->emb_mean, T) == 0 &&
          ndiff(rstd, a->emb_rstd, T) == 0);
    size_t bad = 0;
    double worst_row = 0;
    for (int l = 0; l < cfg.layers; l++) {
        ss_tf_layer ly = ss_tf_layer_of(&cfg, &tf.w, l);
        ss_tf_layer_acts la = ss_tf_acts_layer(a, &cfg, l);
        CHECK(la.in == ss_tf_acts_resid(a, H, l) && la.out == ss_tf_acts_resid(a, H, l + 1));
        /* LN1 input = attproj + residual; LN1 output, mean, rstd */
        for (int i = 0; i < T * H; i++) tmp[i] = la.attproj[i] + la.in[i];
        bad += ndiff(tmp, la.ln1_in, (size_t)T * H);
        ss_layernorm_forward(tmp, mean, rstd, la.ln1_in, ly.ln1_g, ly.ln1_b, T, H, cfg.ln_eps);
        bad += ndiff(tmp, la.ln1_out, (size_t)T * H) + ndiff(mean, la.ln1_mean, T) + ndiff(rstd, la.ln1_rstd, T);
        /* activation of the pre-activation */
        ss_gelu_forward(tmp, la.fch, (size_t)T * I);
        bad += ndiff(tmp, la.fch_act, (size_t)T * I);
        /* LN2 */
        for (int i = 0; i < T * H; i++) tmp[i] = la.fcproj[i] + la.ln1_out[i];
        bad += ndiff(tmp, la.ln2_in, (size_t)T * H);
        ss_layernorm_forward(tmp, mean, rstd, la.ln2_in, ly.ln2_g, ly.ln2_b, T, H, cfg.ln_eps);
        bad += ndiff(tmp, la.out, (size_t)T * H) + ndiff(mean, la.ln2_mean, T) + ndiff(rstd, la.ln2_rstd, T);
        /* attention: rows of probabilities, and head h's output = att · V */
        for (int b = 0; b < n_seq; b++) {
            int L = off[b + 1] - off[b];
            CHECK(a->att_off[b] == (size_t)nh * (b == 0 ? 0 : b == 1 ? 81 : 81 + 9));
            for (int h = 0; h < nh; h++) {
                const float *P = la.att + a->att_off[b] + (size_t)h * L * L;
                for (int q = 0; q < L; q++) {
                    double sum = 0;
                    for (int k = 0; k < L; k++) sum += P[(size_t)q * L + k];
                    if (fabs(sum - 1) > worst_row) worst_row = fabs(sum - 1);
                    float o[64];
                    for (int j = 0; j < d; j++) o[j] = 0;
                    for (int k = 0; k < L; k++) {
                        const float *v = la.qkv + (size_t)(off[b] + k) * 3 * H + 2 * H + h * d;
                        for (int j = 0; j < d; j++) o[j] += P[(size_t)q * L + k] * v[j];
                    }
                    bad += ndiff(o, la.atty + (size_t)(off[b] + q) * H + h * d, (size_t)d);
                }
            }
        }
    }
    printf("kept activations recomputed from their inputs: %zu differences; attention rows |sum - 1| <= %.2g\n", bad,
           worst_row);
    CHECK(bad == 0);
    CHECK(worst_row < 1e-5);

    free(tmp);
    free(grad);
    ss_tf_work_free(&inf);
    ss_tf_work_free(&tr);
    ss_pool_free(pool);
    ss_transformer_free(&tf);
    return TEST_REPORT();
}
