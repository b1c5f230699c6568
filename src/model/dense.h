/* dense.h — sentence-transformers' models.Dense modules after Pooling:
 * y = activation(W x + b) per sentence embedding, W [out_features, in_features],
 * weights from DIR/<path>/model.safetensors as "linear.weight" / "linear.bias".
 *
 * A loaded ss_dense_stack is immutable: ss_dense_forward may be called from
 * many threads at once, each with its own buffers. */
#ifndef SS_MODEL_DENSE_H
#define SS_MODEL_DENSE_H

#include "model/config.h"
#include "semsearch.h"

typedef struct ss_dense {
    ss_dense_config cfg;
    float *w; /* [out, in] */
    float *b; /* [out] or NULL (bias false) */
} ss_dense;

typedef struct ss_dense_stack {
    int n;
    ss_dense layers[SS_MAX_DENSE];
    int max_dim; /* largest in/out size: the buffers ss_dense_forward needs */
} ss_dense_stack;

/* Load the weights of every Dense module st names (none: an empty stack).
 * Shapes are checked against each module's config.json; a folder with only
 * pytorch_model.bin is refused (a pickle). */
ss_status ss_dense_load(ss_dense_stack *d, const ss_st_config *st, const char *dir, ss_error *err);
void ss_dense_free(ss_dense_stack *d);

/* Run the stack over one pooled embedding: x holds in_features of the first
 * module on entry and out_features of the last on return; x and tmp each hold
 * at least max_dim floats. No-op for an empty stack. */
void ss_dense_forward(const ss_dense_stack *d, float *x, float *tmp);

#endif
