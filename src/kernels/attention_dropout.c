/* attention_dropout.c — see attention_dropout.h. Kept apart from
 * ss_attention_backward so the no-dropout kernel stays as it is; the loops
 * are the same, with the mask applied where D replaces P. */
#include "kernels/attention_dropout.h"

#include <math.h>
#include <stddef.h>

void ss_attention_dropout_backward(float *dq, float *dk, float *dv, int ld_d, float *datt_scores, const float *dctx,
                                   int ld_ctx, const float *att, const uint8_t *drop, float keep, const float *q,
                                   const float *k, const float *v, int ld, const int *seq_off, int n_seq,
                                   int n_heads, int d, float *scratch) {
    float scale = 1.0f / sqrtf((float)d);
    size_t aoff = 0;
    for (int b = 0; b < n_seq; b++) {
        int t0 = seq_off[b], L = seq_off[b + 1] - seq_off[b];
        for (int h = 0; h < n_heads; h++, aoff += (size_t)L * L) {
            for (int i = 0; i < L; i++) {
                const float *p = att + aoff + (size_t)i * L;
                const uint8_t *m = drop + aoff + (size_t)i * L;
                const float *dci = dctx + (size_t)(t0 + i) * ld_ctx + h * d;
                /* dp[j] = (dctx_i · v_j) m_ij keep ; dv_j += p_ij m_ij keep dctx_i */
                float *dp = scratch;
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
                if (datt_scores)
                    for (int j = 0; j < L; j++) datt_scores[aoff + (size_t)i * L + j] += dp[j];
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
    }
}

void ss_dropout_backward_inplace(float *g, const uint8_t *mask, size_t n, float keep) {
    for (size_t i = 0; i < n; i++) g[i] = mask[i] ? g[i] * keep : 0.0f;
}
