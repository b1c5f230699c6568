/* bflinear.h — the encoder's bf16 Linear layers (compute precision "bf16"):
 * the four GEMMs of every layer run on bf16 operands with fp32 accumulation
 * (src/kernels/bgemm.h: weights rounded once at load into the kernel's
 * panels, activations rounded at each GEMM input); embeddings, LayerNorm,
 * softmax, attention and GELU stay fp32 (transformer.c, unchanged).
 *
 * ss_tf_to_bf16 converts a loaded transformer's linear weights once; the
 * result is owned by the transformer (tf->bf, freed by ss_transformer_free)
 * and read-only afterwards. It fails with SS_ERR_UNSUPPORTED, saying why,
 * where the CPU lacks AVX512_BF16. */
#ifndef SS_MODEL_BFLINEAR_H
#define SS_MODEL_BFLINEAR_H

#include "core/threadpool.h"
#include "kernels/bgemm.h"
#include "model/qlinear.h" /* ss_ql_which: the same four linears */
#include "semsearch.h"

struct ss_transformer;

typedef struct ss_tf_bweights {
    int layers;
    ss_bweight *w; /* [layers * SS_QL_N] */
} ss_tf_bweights;

ss_status ss_tf_to_bf16(struct ss_transformer *tf, ss_error *err);
void ss_tf_bweights_free(ss_tf_bweights *q);

/* y[T, n] = x[T, k] · W(layer, which)ᵀ + b in bf16 × bf16 → fp32: x rounded
 * into ba (row ranges over the pool), then the columns split over the pool.
 * ba must have been reserved for T rows of max(hidden, intermediate). */
void ss_bflinear(ss_pool *pool, const ss_tf_bweights *q, int layer, ss_ql_which which, ss_bact *ba, const float *x,
                 int T, int k, const float *b, float *y, int n);

#endif
