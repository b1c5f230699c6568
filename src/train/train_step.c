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
    if ((rc = ss_transformer_forward(tf, pool, &s->work, ids, seq_off, S, err)) != SS_OK) return rc;
    const float *hid = s->work.x;
    for (int q = 0; q < S; q++)
        ss_pool_sequence(&st->pooling, hid + (size_t)seq_off[q] * H, seq_off[q + 1] - seq_off[q], H, 0,
                         s->pooled + (size_t)q * P);
    memcpy(s->emb, s->pooled, sizeof(float) * S * P);
    if (st->normalize) /* F.normalize: x / max(|x|, 1e-12) */
        for (int q = 0; q < S; q++) {
            float *e = s->emb + (size_t)q * P;
            double n = 0;
            for (int k = 0; k < P; k++) n += (double)e[k] * e[k];
            n = sqrt(n);
            if (n < 1e-12) n = 1e-12;
            for (int k = 0; k < P; k++) e[k] = (float)(e[k] / n);
        }
    if (emb) memcpy(emb, s->emb, sizeof(float) * S * P);
    ss_loss_batch lb = {.n_cols = n_cols, .B = B, .D = P, .labels = labels};
    float *g[SS_LOSS_MAX_COLS];
    for (int c = 0; c < n_cols; c++) {
        lb.emb[c] = s->emb + (size_t)c * B * P;
        g[c] = s->demb + (size_t)c * B * P;
    }
    if ((rc = ss_loss_compute(lc, &lb, loss, g, err)) != SS_OK) return rc;
    const float *dp = s->demb;
    if (st->normalize) {
        memset(s->dpooled, 0, sizeof(float) * S * P);
        ss_normalize_backward(s->dpooled, s->demb, s->pooled, S, P);
        dp = s->dpooled;
    }
    memset(s->dhidden, 0, sizeof(float) * T * H);
    const ss_pooling_config *pc = &st->pooling;
    ss_pool_modes pm = {pc->cls, pc->max, pc->mean, pc->mean_sqrt_len, pc->weightedmean, pc->lasttoken};
    for (int q = 0; q < S; q++)
        ss_pool_backward(&pm, s->dhidden + (size_t)seq_off[q] * H, dp + (size_t)q * P, hid + (size_t)seq_off[q] * H,
                         seq_off[q + 1] - seq_off[q], H, 0);
    return ss_transformer_backward(tf, &s->work, ids, seq_off, S, s->dhidden, grads, &s->bwork, err);
}
