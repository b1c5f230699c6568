/* attention_dropout.c — see attention_dropout.h. The arithmetic is the
 * plain attention backward's (kernels/backward.c, ss__attention_backward_head)
 * with the mask applied where D replaces P; this file only names the entry
 * points the training backward calls. */
#include "kernels/attention_dropout.h"

#include <stddef.h>

#include "kernels/backward.h"

void ss_attention_dropout_backward(float *dq, float *dk, float *dv, int ld_d, float *datt_scores, const float *dctx,
                                   int ld_ctx, const float *att, const uint8_t *drop, float keep, const float *q,
                                   const float *k, const float *v, int ld, const int *seq_off, int n_seq,
                                   int n_heads, int d, float *scratch) {
    size_t aoff = 0;
    for (int b = 0; b < n_seq; b++) {
        int t0 = seq_off[b], L = seq_off[b + 1] - seq_off[b];
        for (int h = 0; h < n_heads; h++, aoff += (size_t)L * L)
            ss__attention_backward_head(dq, dk, dv, ld_d, datt_scores ? datt_scores + aoff : NULL, dctx, ld_ctx,
                                        att + aoff, drop + aoff, keep, q, k, v, ld, t0, L, h, d, scratch);
    }
}

void ss_attention_dropout_backward_par(ss_pool *pool, float *dq, float *dk, float *dv, int ld_d, float *datt_scores,
                                       const float *dctx, int ld_ctx, const float *att, const uint8_t *drop,
                                       float keep, const size_t *att_off, const float *q, const float *k,
                                       const float *v, int ld, const int *seq_off, int n_seq, int n_heads, int d,
                                       float *scratch) {
    ss__attention_backward_masked_par(pool, dq, dk, dv, ld_d, datt_scores, dctx, ld_ctx, att, drop, keep, att_off, q,
                                      k, v, ld, seq_off, n_seq, n_heads, d, scratch);
}

void ss_dropout_backward_inplace(float *g, const uint8_t *mask, size_t n, float keep) {
    for (size_t i = 0; i < n; i++) g[i] = mask[i] ? g[i] * keep : 0.0f;
}
