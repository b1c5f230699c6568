/* train_step.c — see train_step.h. */
#include "train/train_step.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "kernels/backward.h"
#include "model/pooling.h"

void ss_train_step_free(ss_train_step *s) {
    ss_tf_work_free(&s->work);
    ss_tf_bwork_free(&s->bwork);
    free(s->pooled), free(s->emb), free(s->demb), free(s->dpooled), free(s->dhidden);
    memset(s, 0, sizeof *s);
}

static ss_status reserve(ss_train_step *s, int S, int T, int P, int H, ss_error *err) {
    if (S > s->cap_S || P != s->P) {
        free(s->pooled), free(s->emb), free(s->demb), free(s->dpooled);
        size_t n = (size_t)S * P + 1;
        s->pooled = malloc(n * sizeof(float));
        s->emb = malloc(n * sizeof(float));
        s->demb = malloc(n * sizeof(float));
        s->dpooled = malloc(n * sizeof(float));
        s->cap_S = S, s->P = P;
        if (!s->pooled || !s->emb || !s->demb || !s->dpooled) goto nomem;
    }
    if (T > s->cap_T) {
        free(s->dhidden);
        s->dhidden = malloc(((size_t)T * H + 1) * sizeof(float));
        s->cap_T = T;
        if (!s->dhidden) goto nomem;
    }
    return SS_OK;
nomem:
    s->cap_S = s->cap_T = 0;
    return ss_fail(err, SS_ERR_NOMEM, "train step: out of memory");
}

/* Forward sequences [q0, q1) of the packed batch (ids/seq_off as given) and
 * write their sentence embeddings into s->emb rows q0..q1 (pooled kept in
 * s->pooled for Normalize's backward). The activations of this range stay in
 * s->work for a backward. */
static ss_status embed_range(ss_train_step *s, const ss_transformer *tf, const ss_st_config *st, ss_pool *pool,
                             const int32_t *ids, const int *seq_off, int q0, int q1, int *loc_off, ss_error *err) {
    const int H = tf->cfg.hidden, P = s->P;
    for (int q = q0; q <= q1; q++) loc_off[q - q0] = seq_off[q] - seq_off[q0];
    s->work.dropout = s->dropout;
    s->work.p_hidden = s->p_hidden, s->work.p_attn = s->p_attn;
    s->work.drop_seed = s->drop_seed;
    s->work.drop_tok0 = (uint64_t)seq_off[q0], s->work.drop_seq0 = (uint64_t)q0;
    ss_status rc = ss_transformer_forward(tf, pool, &s->work, ids + seq_off[q0], loc_off, q1 - q0, err);
    if (rc != SS_OK) return rc;
    const float *hid = s->work.x;
    for (int q = q0; q < q1; q++) {
        float *pooled = s->pooled + (size_t)q * P, *e = s->emb + (size_t)q * P;
        ss_pool_sequence(&st->pooling, hid + (size_t)loc_off[q - q0] * H, seq_off[q + 1] - seq_off[q], H, 0, pooled);
        memcpy(e, pooled, sizeof(float) * P);
        if (st->normalize) { /* F.normalize: x / max(|x|, 1e-12) */
            double n = 0;
            for (int k = 0; k < P; k++) n += (double)e[k] * e[k];
            n = sqrt(n);
            if (n < 1e-12) n = 1e-12;
            for (int k = 0; k < P; k++) e[k] = (float)(e[k] / n);
        }
    }
    return SS_OK;
}

/* Back from s->demb rows q0..q1 through Normalize, Pooling and the encoder
 * (whose activations for exactly this range are in s->work) into grads. */
static ss_status backward_range(ss_train_step *s, const ss_transformer *tf, const ss_st_config *st,
                                const int32_t *ids, const int *seq_off, int q0, int q1, const int *loc_off,
                                float *grads, ss_error *err) {
    const int H = tf->cfg.hidden, P = s->P, n = q1 - q0, T = loc_off[n];
    const float *dp = s->demb + (size_t)q0 * P;
    if (st->normalize) {
        memset(s->dpooled, 0, sizeof(float) * n * P);
        ss_normalize_backward(s->dpooled, dp, s->pooled + (size_t)q0 * P, n, P);
        dp = s->dpooled;
    }
    memset(s->dhidden, 0, sizeof(float) * T * H);
    const ss_pooling_config *pc = &st->pooling;
    ss_pool_modes pm = {pc->cls, pc->max, pc->mean, pc->mean_sqrt_len, pc->weightedmean, pc->lasttoken};
    const float *hid = s->work.x;
    for (int i = 0; i < n; i++)
        ss_pool_backward(&pm, s->dhidden + (size_t)loc_off[i] * H, dp + (size_t)i * P, hid + (size_t)loc_off[i] * H,
                         loc_off[i + 1] - loc_off[i], H, 0);
    return ss_transformer_backward(tf, &s->work, ids + seq_off[q0], loc_off, n, s->dhidden, grads, &s->bwork, err);
}

ss_status ss_train_step_run(ss_train_step *s, const ss_transformer *tf, const ss_st_config *st, ss_pool *pool,
                            const int32_t *ids, const int *seq_off, int n_cols, int B, const ss_loss_config *lc,
                            const float *labels, float *grads, double *loss, float *emb, ss_error *err) {
    const int H = tf->cfg.hidden, S = n_cols * B, T = seq_off[S];
    const int P = ss_pooling_count(&st->pooling) * H;
    if (n_cols < 1 || n_cols > SS_LOSS_MAX_COLS || B < 1)
        return ss_fail(err, SS_ERR_INVALID, "train step: %d columns of %d rows", n_cols, B);
    ss_status rc = reserve(s, S, T, P, H, err);
    if (rc != SS_OK) return rc;
    s->work.acts.keep_all = 1;
    s->bwork.pool = pool;
    int *loc_off = malloc(sizeof(int) * (S + 1));
    if (!loc_off) return ss_fail(err, SS_ERR_NOMEM, "train step: out of memory");
    /* GradCache (CachedMNRL): embed mini-batches, take the loss and its embedding gradients over the
     * whole batch, then re-run each mini-batch's forward and backward; activations are those of one
     * mini-batch. Exact with dropout too: a mini-batch draws the whole batch's masks (train_step.h). */
    int chunk = lc->kind == SS_LOSS_CACHED_MNRL && lc->mini_batch > 0 && lc->mini_batch < S ? lc->mini_batch : S;
    for (int q0 = 0; q0 < S && rc == SS_OK; q0 += chunk)
        rc = embed_range(s, tf, st, pool, ids, seq_off, q0, q0 + chunk < S ? q0 + chunk : S, loc_off, err);
    if (rc == SS_OK && emb) memcpy(emb, s->emb, sizeof(float) * S * P);
    ss_loss_batch lb = {.n_cols = n_cols, .B = B, .D = P, .labels = labels};
    float *g[SS_LOSS_MAX_COLS];
    for (int c = 0; c < n_cols; c++) {
        lb.emb[c] = s->emb + (size_t)c * B * P;
        g[c] = s->demb + (size_t)c * B * P;
    }
    /* MSELoss to targets: every sentence of every column against its own target row (labels [S, P]),
     * one batch of S sentences as sentence-transformers' MSELoss sees the parallel-sentences form */
    if (lc->kind == SS_LOSS_MSE) lb.n_cols = 1, lb.B = S;
    if (rc == SS_OK) rc = ss_loss_compute(lc, &lb, loss, g, err);
    if (rc == SS_OK && chunk == S) {
        rc = backward_range(s, tf, st, ids, seq_off, 0, S, loc_off, grads, err);
    } else {
        for (int q0 = 0; q0 < S && rc == SS_OK; q0 += chunk) {
            int q1 = q0 + chunk < S ? q0 + chunk : S;
            rc = embed_range(s, tf, st, pool, ids, seq_off, q0, q1, loc_off, err);
            if (rc == SS_OK) rc = backward_range(s, tf, st, ids, seq_off, q0, q1, loc_off, grads, err);
        }
    }
    free(loc_off);
    return rc;
}
