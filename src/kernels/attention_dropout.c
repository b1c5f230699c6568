/* attention_dropout.c — see attention_dropout.h. Kept apart from
 * ss_attention_backward so the no-dropout kernel stays as it is; the loops
 * are the same, with the mask applied where D replaces P. */
#include "kernels/attention_dropout.h"

#include <math.h>
#include <stddef.h>

#include "core/threadpool.h"

/* One (sequence, head): rows t0 .. t0+L of dq / dk / dv in head h's columns,
 * att / drop / datt at that head's L×L block. Heads and sequences touch
 * disjoint memory, so they may run on different threads; within one the
 * order of every sum is fixed, so the result does not depend on threads. */
static void dropout_head(float *dq, float *dk, float *dv, int ld_d, float *datt, const float *dctx, int ld_ctx,
                         const float *att, const uint8_t *drop, float keep, const float *q, const float *k,
                         const float *v, int ld, int t0, int L, int h, int d, float *dp) {
    float scale = 1.0f / sqrtf((float)d);
    for (int i = 0; i < L; i++) {
        const float *p = att + (size_t)i * L;
        const uint8_t *m = drop + (size_t)i * L;
        const float *dci = dctx + (size_t)(t0 + i) * ld_ctx + h * d;
        /* dp[j] = (dctx_i · v_j) m_ij keep ; dv_j += p_ij m_ij keep dctx_i */
        for (int j = 0; j < L; j++) {
            const float *vj = v + (size_t)(t0 + j) * ld + h * d;
            float *dvj = dv + (size_t)(t0 + j) * ld_d + h * d;
            const float pd = m[j] ? p[j] * keep : 0.0f;
            float s = 0;
            for (int c = 0; c < d; c++) {
                s += dci[c] * vj[c];
                dvj[c] += pd * dci[c];
            }
            dp[j] = m[j] ? s * keep : 0.0f;
        }
        double dot = 0;
        for (int j = 0; j < L; j++) dot += (double)p[j] * dp[j];
        for (int j = 0; j < L; j++) dp[j] = p[j] * (dp[j] - (float)dot);
        if (datt)
            for (int j = 0; j < L; j++) datt[(size_t)i * L + j] += dp[j];
        const float *qi = q + (size_t)(t0 + i) * ld + h * d;
        float *dqi = dq + (size_t)(t0 + i) * ld_d + h * d;
        for (int j = 0; j < L; j++) {
            float g = dp[j] * scale;
            const float *kj = k + (size_t)(t0 + j) * ld + h * d;
            float *dkj = dk + (size_t)(t0 + j) * ld_d + h * d;
            for (int c = 0; c < d; c++) {
                dqi[c] += g * kj[c];
                dkj[c] += g * qi[c];
            }
        }
    }
}

void ss_attention_dropout_backward(float *dq, float *dk, float *dv, int ld_d, float *datt_scores, const float *dctx,
                                   int ld_ctx, const float *att, const uint8_t *drop, float keep, const float *q,
                                   const float *k, const float *v, int ld, const int *seq_off, int n_seq,
                                   int n_heads, int d, float *scratch) {
    size_t aoff = 0;
    for (int b = 0; b < n_seq; b++) {
        int t0 = seq_off[b], L = seq_off[b + 1] - seq_off[b];
        for (int h = 0; h < n_heads; h++, aoff += (size_t)L * L)
            dropout_head(dq, dk, dv, ld_d, datt_scores ? datt_scores + aoff : NULL, dctx, ld_ctx, att + aoff,
                         drop + aoff, keep, q, k, v, ld, t0, L, h, d, scratch);
    }
}

typedef struct drop_bjob {
    float *dq, *dk, *dv, *datt, *scratch;
    const float *dctx, *att, *q, *k, *v;
    const uint8_t *drop;
    const size_t *att_off;
    const int *seq_off;
    float keep;
    int ld_d, ld_ctx, ld, n_heads, d, Lmax;
} drop_bjob;

static void drop_btask(void *arg, size_t i, int thread) {
    const drop_bjob *j = arg;
    int b = (int)i / j->n_heads, h = (int)i % j->n_heads;
    int t0 = j->seq_off[b], L = j->seq_off[b + 1] - t0;
    size_t aoff = j->att_off[b] + (size_t)h * L * L;
    dropout_head(j->dq, j->dk, j->dv, j->ld_d, j->datt ? j->datt + aoff : NULL, j->dctx, j->ld_ctx, j->att + aoff,
                 j->drop + aoff, j->keep, j->q, j->k, j->v, j->ld, t0, L, h, j->d,
                 j->scratch + (size_t)thread * j->Lmax);
}

void ss_attention_dropout_backward_par(ss_pool *pool, float *dq, float *dk, float *dv, int ld_d, float *datt_scores,
                                       const float *dctx, int ld_ctx, const float *att, const uint8_t *drop,
                                       float keep, const size_t *att_off, const float *q, const float *k,
                                       const float *v, int ld, const int *seq_off, int n_seq, int n_heads, int d,
                                       float *scratch) {
    int Lmax = 0;
    for (int b = 0; b < n_seq; b++)
        if (seq_off[b + 1] - seq_off[b] > Lmax) Lmax = seq_off[b + 1] - seq_off[b];
    drop_bjob j = {dq, dk, dv, datt_scores, scratch, dctx, att, q, k, v, drop, att_off, seq_off, keep,
                   ld_d, ld_ctx, ld, n_heads, d, Lmax};
    ss_pool_for(pool, (size_t)n_seq * n_heads, drop_btask, &j);
}

void ss_dropout_backward_inplace(float *g, const uint8_t *mask, size_t n, float keep) {
    for (size_t i = 0; i < n; i++) g[i] = mask[i] ? g[i] * keep : 0.0f;
}
