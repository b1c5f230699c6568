/* attention_dropout.h — the attention backward when the forward dropped
 * attention probabilities (HF: context = dropout(softmax(scores)) · V).
 * A sibling of ss_attention_backward (kernels/backward.h), same arguments
 * plus the masks: with P the kept softmax and D = P ⊙ mask · keep,
 *   dV += Dᵀ dctx,  dD = dctx Vᵀ,  dP = dD ⊙ mask · keep,
 *   dscores = P ⊙ (dP - Σ P·dP)  (softmax backward on the undropped P).
 * drop is in att's layout (per sequence, head: L×L row-major). With every
 * mask 1 and keep 1 the arithmetic is ss_attention_backward's exactly. */
#ifndef SS_KERNELS_ATTENTION_DROPOUT_H
#define SS_KERNELS_ATTENTION_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

#include "semsearch.h" /* ss_pool */

void ss_attention_dropout_backward(float *dq, float *dk, float *dv, int ld_d, float *datt_scores, const float *dctx,
                                   int ld_ctx, const float *att, const uint8_t *drop, float keep, const float *q,
                                   const float *k, const float *v, int ld, const int *seq_off, int n_seq,
                                   int n_heads, int d, float *scratch);

/* The same on the pool, one task per (sequence, head) (att_off[b]: sequence
 * b's offset in att / drop; scratch: Lmax floats per pool thread);
 * bit-identical to the serial kernel for any number of threads. */
void ss_attention_dropout_backward_par(ss_pool *pool, float *dq, float *dk, float *dv, int ld_d, float *datt_scores,
                                       const float *dctx, int ld_ctx, const float *att, const uint8_t *drop,
                                       float keep, const size_t *att_off, const float *q, const float *k,
                                       const float *v, int ld, const int *seq_off, int n_seq, int n_heads, int d,
                                       float *scratch);

/* The backward of an in-place dropout, in place: g = g ⊙ mask · keep. */
void ss_dropout_backward_inplace(float *g, const uint8_t *mask, size_t n, float keep);

#endif
