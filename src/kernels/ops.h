/* ops.h — the encoder's elementwise and row kernels (one forward per op, in
 * the llm.c manner). Each works on a caller-chosen range of rows so that the
 * model can split work over its thread pool. Vector paths (AVX2+FMA) are
 * chosen at run time; the scalar path computes the same formulas. */
#ifndef SS_KERNELS_OPS_H
#define SS_KERNELS_OPS_H

#include <stddef.h>

/* y[r, n0:n1] = x[r, :] · w[n, :]ᵀ + b[n] for rows r in [0, m): a slice of the
 * columns of a Linear layer (w is PyTorch's [out, in] row-major weight). */
void ss_linear_cols(const float *x, int m, int k, const float *w, const float *b, float *y, int n_total,
                    int n0, int n1);

/* semsearch parallelises GEMMs itself (the encoder splits columns over its
 * thread pool, the flat index splits slot ranges) and so asks OpenBLAS for one
 * thread per call. This is OpenBLAS's process-wide setting: it also applies to
 * other BLAS users in the process. */
void ss_blas_single_threaded(void);

/* out[r] = LayerNorm(a[r] + res[r]) · gamma + beta over rows of width n
 * (res may be NULL; out may alias a). Statistics in double for stability. */
void ss_layernorm_rows(float *out, const float *a, const float *res, const float *gamma, const float *beta,
                       int rows, int n, float eps);

/* In place: x = gelu(x), exact erf form (hidden_act "gelu"). */
void ss_gelu(float *x, size_t n);
/* In place: x = gelu_new(x), tanh approximation ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"). */
void ss_gelu_tanh(float *x, size_t n);

/* In place softmax of one row of n scores. */
void ss_softmax_row(float *x, int n);

/* Dot product and L2 norm helpers. */
float ss_dot(const float *a, const float *b, int n);
void ss_l2_normalize(float *x, int n);

#endif
