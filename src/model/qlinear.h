/* qlinear.h — the encoder's int8 Linear layers (compute precision "int8"):
 * the four GEMMs of every layer (QKV, attention output, FFN in, FFN out) run
 * on int8 codes (src/kernels/qgemm.h) with per-channel weight scales and
 * per-token activation scales; embeddings, LayerNorm, softmax, attention and
 * GELU stay fp32 (transformer.c, unchanged).
 *
 * ss_tf_quantize quantises a loaded transformer's linear weights once; the
 * result is owned by the transformer (tf->q, freed by ss_transformer_free)
 * and read-only afterwards: any number of forward passes share it. The fp32
 * weights stay in tf->params (training and the fp32 path use them). */
#ifndef SS_MODEL_QLINEAR_H
#define SS_MODEL_QLINEAR_H

#include "core/threadpool.h"
#include "kernels/qgemm.h"
#include "kernels/quant.h"
#include "semsearch.h"

struct ss_transformer;

typedef enum { SS_QL_QKV = 0, SS_QL_ATTN_OUT, SS_QL_FFN_IN, SS_QL_FFN_OUT, SS_QL_N } ss_ql_which;

typedef struct ss_tf_qweights {
    const ss_qgemm_kernel *kern; /* chosen at quantisation time (ss_qgemm_best) */
    int layers;
    ss_qweight *w;               /* [layers * SS_QL_N] */
} ss_tf_qweights;

/* Quantise tf's linear weights into tf->q (replacing none: tf->q must be NULL). */
ss_status ss_tf_quantize(struct ss_transformer *tf, ss_error *err);
void ss_tf_qweights_free(ss_tf_qweights *q);

/* y[T, n] = x[T, k] · W(layer, which)ᵀ + b on int8: x is quantised into qa
 * (row ranges over the pool), then the columns are split over the pool as in
 * the fp32 linear. qa must have been reserved for at least T rows of
 * max(hidden, intermediate) (ss_qact_reserve with q->kern->wide); nothing is
 * allocated here. */
void ss_qlinear(ss_pool *pool, const ss_tf_qweights *q, int layer, ss_ql_which which, ss_qact *qa, const float *x,
                int T, int k, const float *b, float *y, int n);

#endif
