/* ops.h — the encoder's kernels, llm.c style: each op is an out-of-place
 * `*_forward(out, ..., inp, ...)` that reads its inputs and writes new
 * buffers, so that a backward pass (`*_backward`, to come) can read the same
 * inputs later. Each works on a caller-chosen range of rows so that the model
 * can split work over its thread pool.
 *
 * Element-wise kernels (GELU, ReLU, exp) are position-independent: the value
 * computed for x[i] depends only on x[i], never on i, the buffer's length or
 * its alignment. Vector paths (AVX2+FMA, chosen at run time) also compute the
 * ragged tail of a buffer through the vector code, on a padded copy, so a
 * token's activations do not change with where it sits in a batch.
 * tests/kernels/test_kernels_position.c checks every one of them.
 *
 * Every element-wise kernel accepts out == inp (the low-memory inference path
 * uses that); other aliasing is not allowed. */
#ifndef SS_KERNELS_OPS_H
#define SS_KERNELS_OPS_H

#include <stddef.h>

/* ---- GEMM ----------------------------------------------------------------- */

/* y[r, n0:n1] = x[r, :] · w[n, :]ᵀ + b[n] for rows r in [0, m): a slice of the
 * columns of a Linear layer (w is PyTorch's [out, in] row-major weight). */
void ss_linear_cols(const float *x, int m, int k, const float *w, const float *b, float *y, int n_total,
                    int n0, int n1);

/* OpenBLAS's process-wide thread count (read only). The encoder runs each
 * Linear layer's column slices on its own pool when this is 1, else one
 * after another on the calling thread (each slice then spread over
 * OpenBLAS's threads): same slices, same bits, either way. */
int ss_blas_threads(void);

/* Kept for src/index/index.c until its owner switches to leaving the global
 * setting alone: same as the public ss_blas_set_single_threaded(). The
 * encoder no longer calls it. */
void ss_blas_single_threaded(void);

/* ---- LayerNorm -------------------------------------------------------------- */

/* out[r] = (inp[r] - mean[r]) · rstd[r] · gamma + beta for rows r in [0, rows)
 * of width n; mean[r] and rstd[r] = 1/sqrt(var + eps) are written too (a
 * backward pass needs them). Statistics are accumulated in double. */
void ss_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *gamma,
                          const float *beta, int rows, int n, float eps);

/* The residual connection and post-LN that close a BERT sublayer:
 * sum = a + res (written: it is the LayerNorm's input), then
 * ss_layernorm_forward(out, mean, rstd, sum, ...). */
void ss_residual_layernorm_forward(float *out, float *sum, float *mean, float *rstd, const float *a,
                                   const float *res, const float *gamma, const float *beta, int rows, int n,
                                   float eps);

/* ---- element-wise activations ---------------------------------------------- */

/* out = gelu(inp), exact erf form (hidden_act "gelu"). */
void ss_gelu_forward(float *out, const float *inp, size_t n);
/* out = gelu_new(inp), tanh approximation ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"). */
void ss_gelu_tanh_forward(float *out, const float *inp, size_t n);
/* out = max(inp, 0). */
void ss_relu_forward(float *out, const float *inp, size_t n);
/* out = exp(inp - shift): the element-wise part of softmax, exposed so that
 * its position independence can be tested. */
void ss_exp_forward(float *out, const float *inp, float shift, size_t n);

/* ---- softmax -------------------------------------------------------------------- */

/* out = softmax(inp) over one row of n scores (out may equal inp). The
 * exponentials come from ss_exp_forward; the sum is one fixed-order reduction
 * per row, so a row's result depends only on the row. */
void ss_softmax_forward(float *out, const float *inp, int n);

/* ---- vectors ------------------------------------------------------------------- */

float ss_dot(const float *a, const float *b, int n);
void ss_l2_normalize(float *x, int n);

#endif
