/* bert_backward.h — the backward pass of the BERT / MPNet encoder over the
 * activations its forward pass kept (model/transformer.h, acts.keep_all = 1),
 * llm.c style: the layer's ops in reverse, gradients accumulated (+=) into a
 * flat buffer with the parameters' layout (ss_tf_param_views), so that
 * clipping and AdamW run over one array.
 *
 * An ss_tf_bwork holds the activation-gradient scratch; one backward at a
 * time per bwork. The transformer and the forward's ss_tf_work are only read. */
#ifndef SS_TRAIN_BERT_BACKWARD_H
#define SS_TRAIN_BERT_BACKWARD_H

#include <stddef.h>
#include <stdint.h>

#include "model/transformer.h"

typedef struct ss_tf_bwork {
    int cap_T;
    size_t cap_att;
    float *dres, *dres2; /* [T, H] gradient of the residual stream (two, alternating) */
    float *dln;          /* [T, H] gradient of a LayerNorm input */
    float *dh;           /* [T, H] gradient of atty / ln1_out */
    float *dff;          /* [T, I] gradient of fch_act */
    float *dfch;         /* [T, I] gradient of fch */
    float *dqkv;         /* [T, 3H] */
    float *datt;         /* [att_len] gradient of the attention scores (MPNet's bias) */
    float *scratch;      /* [threads × Lmax] */
    int cap_L;
    ss_pool *pool;       /* set by the caller (NULL: one thread); the work is spread over it, with
                          * results bit-identical for every pool size (kernels/backward.h, *_par) */
} ss_tf_bwork;

/* Frees the buffers; the pool (not owned) is kept. */
void ss_tf_bwork_free(ss_tf_bwork *b);

/* grads (n_params floats, tf's layout) += d loss / d params, given dout =
 * d loss / d last hidden state [T, H] of the forward kept in w (same ids,
 * seq_off, n_seq). dout is read only. */
ss_status ss_transformer_backward(const ss_transformer *tf, const ss_tf_work *w, const int32_t *ids,
                                  const int *seq_off, int n_seq, const float *dout, float *grads, ss_tf_bwork *bw,
                                  ss_error *err);

/* Parameter groups for AdamW as sentence-transformers' fit builds them:
 * every bias and LayerNorm weight without decay, all other tensors with it;
 * the alignment padding between tensors in no range. ranges needs
 * 2 * SS_TF_N_TENSORS entries; returns the count. */
struct ss_param_range;
int ss_tf_param_groups(const ss_transformer *tf, struct ss_param_range *ranges);

#endif
