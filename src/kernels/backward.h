/* backward.h — the training kernels: one X_backward per forward op, in the
 * llm.c manner (plain loops, explicit indexing, gradients ACCUMULATED with +=
 * so that a parameter used twice — or a residual stream — sums its parts;
 * callers zero the gradient buffers before a backward pass).
 *
 * Shapes follow the encoder: rows are tokens of a packed batch (no padding;
 * seq_off[b]..seq_off[b+1] delimits sequence b), weights are PyTorch's
 * [out, in] row-major. A few forwards that keep what the backward needs
 * (softmax probabilities, dropout masks) are here too; ss_ref_* are plain
 * reference forwards (LayerNorm with mean/rstd, packed attention) for the
 * tests — the model's own *_forward kernels (ops.c, model/attention.c) are
 * the production ones and use the same activation layout.
 *
 * All functions are reentrant and keep no state; none is thread-safe on
 * shared output buffers.
 *
 * The *_par variants run the same arithmetic over an ss_pool (NULL: inline)
 * and give bit-identical results for every pool size: work is cut into pieces
 * whose bounds depend only on the shapes (rows, columns of the gradient
 * being summed, (sequence, head) pairs), never on the thread count, and every
 * sum keeps the serial kernel's order. */
#ifndef SS_KERNELS_BACKWARD_H
#define SS_KERNELS_BACKWARD_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/rng.h"
#include "semsearch.h" /* ss_pool */

/* ---- LayerNorm over rows of width C ------------------------------------- */

/* out = (inp - mean) * rstd * w + b; mean[N], rstd[N] kept for the backward. */
void ss_ref_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          int N, int C, float eps);
/* dinp, dw, db += ... (any of them may be NULL). */
void ss_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                           const float *mean, const float *rstd, int N, int C);
/* The same, dinp by rows and dw / db by column blocks (each summed over the
 * rows in order, as the serial kernel): bit-identical to it. */
void ss_layernorm_backward_par(ss_pool *pool, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                               const float *w, const float *mean, const float *rstd, int N, int C);

/* ---- GELU (on the pre-activation values x) ------------------------------ */

/* dinp += dout * gelu'(x); exact erf form ("gelu", BERT). */
void ss_gelu_backward(float *dinp, const float *x, const float *dout, size_t n);
/* tanh approximation ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"). */
void ss_gelu_tanh_backward(float *dinp, const float *x, const float *dout, size_t n);
/* Either of the two (tanh != 0: the tanh form) over fixed blocks of elements. */
void ss_gelu_backward_par(ss_pool *pool, int tanh_form, float *dinp, const float *x, const float *dout, size_t n);

/* ---- softmax with scale and padding mask -------------------------------- */

/* p = softmax(scale * s + (mask[j] ? 0 : -inf)) over one row of n scores
 * (mask may be NULL = all kept). Masked entries get probability exactly 0. */
void ss_softmax_masked_forward(float *p, const float *s, const uint8_t *mask, int n, float scale);
/* ds += scale * p * (dp - Σ p·dp): the gradient w.r.t. the unscaled scores.
 * Masked entries have p = 0 and so get no gradient. */
void ss_softmax_backward(float *ds, const float *p, const float *dp, int n, float scale);

/* ---- multi-head self-attention over a packed batch ----------------------
 * q, k, v are [T, ·] with row stride ld (e.g. slices of a [T, 3H] qkv buffer,
 * ld = 3H); head h uses columns h*d .. h*d+d-1. att holds, for each sequence
 * b in turn, n_heads × L_b × L_b probabilities (L_b = seq_off[b+1]-seq_off[b]);
 * ss_attention_att_size() gives its length. bias (optional, MPNet's relative
 * position bias) is added to the scaled scores: bias[(b_off) + h*L*L + i*L + j]
 * in the same layout as att. */
size_t ss_attention_att_size(const int *seq_off, int n_seq, int n_heads);
void ss_ref_attention_forward(float *ctx, int ld_ctx, float *att, const float *q, const float *k, const float *v, int ld,
                          const float *bias, const int *seq_off, int n_seq, int n_heads, int d);
/* dq, dk, dv (row stride ld_d) += ...; datt_scores (optional, att layout) +=
 * the gradient w.r.t. the biased, scaled scores (what a relative-position bias
 * receives); scratch needs Lmax floats. */
void ss_attention_backward(float *dq, float *dk, float *dv, int ld_d, float *datt_scores, const float *dctx,
                           int ld_ctx, const float *att, const float *q, const float *k, const float *v, int ld,
                           const int *seq_off, int n_seq, int n_heads, int d, float *scratch);
/* The same, one (sequence, head) pair per task (they write disjoint columns /
 * rows); att_off[b] is sequence b's offset in att (n_seq + 1 entries, as
 * ss_tf_acts.att_off); scratch needs ss_pool_threads(pool) × Lmax floats. */
void ss_attention_backward_par(ss_pool *pool, float *dq, float *dk, float *dv, int ld_d, float *datt_scores,
                               const float *dctx, int ld_ctx, const float *att, const size_t *att_off, const float *q,
                               const float *k, const float *v, int ld, const int *seq_off, int n_seq, int n_heads,
                               int d, float *scratch);
/* Internal, for kernels/attention_dropout.c: one (sequence, head) with an
 * optional dropout mask on the probabilities (drop NULL = the plain kernel,
 * bit for bit), and the pool driver over all of them. */
void ss__attention_backward_head(float *dq, float *dk, float *dv, int ld_d, float *datt, const float *dctx,
                                 int ld_ctx, const float *att, const uint8_t *drop, float keep, const float *q,
                                 const float *k, const float *v, int ld, int t0, int L, int h, int d,
                                 float *scratch);
void ss__attention_backward_masked_par(ss_pool *pool, float *dq, float *dk, float *dv, int ld_d, float *datt_scores,
                                      const float *dctx, int ld_ctx, const float *att, const uint8_t *drop,
                                      float keep, const size_t *att_off, const float *q, const float *k,
                                      const float *v, int ld, const int *seq_off, int n_seq, int n_heads, int d,
                                      float *scratch);

/* ---- Linear: y[m, n] = x[m, k] · W[n, k]ᵀ + b[n] -------------------------
 * dinp += dout·W, dW += doutᵀ·inp, db += Σ_rows dout (OpenBLAS sgemm with
 * beta = 1; any output may be NULL). */
void ss_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp, const float *W,
                        int m, int k, int n);
/* The same over the pool when OpenBLAS runs single-threaded (the CLI's
 * setting; otherwise OpenBLAS's own threads run ss_linear_backward): dinp in
 * blocks of rows, dW and db in blocks of output features, one serial sgemm
 * each. Results do not depend on the pool size (the blocks are fixed). */
void ss_linear_backward_par(ss_pool *pool, float *dinp, float *dW, float *db, const float *dout, const float *inp,
                            const float *W, int m, int k, int n);

/* ---- embedding lookup: out[t] = table[ids[t]] ----------------------------
 * dtable[ids[t]] += dout[t] (scatter-add; repeated ids sum). */
void ss_embedding_backward(float *dtable, const float *dout, const int32_t *ids, int n_tokens, int H);
/* The same by column blocks (each token's rows in order): bit-identical. */
void ss_embedding_backward_par(ss_pool *pool, float *dtable, const float *dout, const int32_t *ids, int n_tokens,
                               int H);

/* ---- dropout -------------------------------------------------------------
 * out = inp * mask / (1 - p) with mask[i] = 1 with probability 1 - p, drawn
 * from rng (seeded by the caller: replaying the seed replays the masks, which
 * GradCache needs). p = 0 copies. mask must hold n bytes. out may alias inp. */
void ss_dropout_forward(float *out, uint8_t *mask, const float *inp, size_t n, float p, ss_rng *rng);
/* dinp += dout * mask / (1 - p). */
void ss_dropout_backward(float *dinp, const float *dout, const uint8_t *mask, size_t n, float p);

/* ---- pooling (sentence-transformers' Pooling) over one sequence ---------
 * h [L, H] is the sequence's last hidden state, skip the masked prompt prefix
 * (as ss_pool_sequence); dout [ss_pooling_count * H] in its mode order:
 * cls, max, mean, mean_sqrt_len, weightedmean, lasttoken. dh += ...
 * The flags are passed as in ss_pooling_config (kernels do not include model/). */
typedef struct ss_pool_modes {
    int cls, max, mean, mean_sqrt_len, weightedmean, lasttoken;
} ss_pool_modes;
void ss_pool_backward(const ss_pool_modes *p, float *dh, const float *dout, const float *h, int L, int H, int skip);

/* ---- Normalize: y = x / max(||x||, 1e-12) per row of width D -------------
 * dx += (dy - y (y·dy)) / max(||x||, 1e-12) (x is the input, not y). */
void ss_normalize_backward(float *dx, const float *dy, const float *x, int N, int D);

#endif
