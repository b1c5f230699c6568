/* transformer.h — BERT-family encoder weights and forward pass (BERT, MPNet).
 *
 * A batch is "packed": the token ids of all sequences are concatenated with no
 * padding, and seq_off[b]..seq_off[b+1] delimits sequence b. Every GEMM runs
 * over all real tokens at once; attention runs per (sequence, head). With no
 * padding there is nothing to mask, and a sequence's result cannot depend on
 * the other sequences in its batch.
 *
 * Activations live in ss_tf_acts so that a backward pass can address them
 * later (llm.c style); for inference, layers reuse one set of buffers. */
#ifndef SS_MODEL_TRANSFORMER_H
#define SS_MODEL_TRANSFORMER_H

#include <stdint.h>

#include "core/threadpool.h"
#include "model/config.h"
#include "semsearch.h"

typedef struct ss_tf_layer {
    float *qkv_w, *qkv_b;      /* [3H, H], [3H]: query, key, value stacked */
    float *attn_out_w, *attn_out_b; /* [H, H], [H] */
    float *ln1_g, *ln1_b;      /* [H] */
    float *ffn_in_w, *ffn_in_b;   /* [I, H], [I] */
    float *ffn_out_w, *ffn_out_b; /* [H, I], [H] */
    float *ln2_g, *ln2_b;      /* [H] */
} ss_tf_layer;

typedef struct ss_transformer {
    ss_tf_config cfg;
    float *word_emb;   /* [V, H] */
    float *pos_emb;    /* [P, H] */
    float *type_emb;   /* [T, H] (BERT) or NULL */
    float *emb_ln_g, *emb_ln_b;
    float *rel_bias;   /* MPNet: [buckets, heads] or NULL */
    ss_tf_layer *layers;
} ss_transformer;

/* Load weights from DIR/model.safetensors for the given config; tensor names
 * are accepted bare or with the "bert." / "mpnet." / "model." prefix. */
ss_status ss_transformer_load(ss_transformer *tf, const ss_tf_config *cfg, const char *dir, ss_error *err);
void ss_transformer_free(ss_transformer *tf);

/* Scratch and activations for forward passes; grows on demand. */
typedef struct ss_tf_work {
    int cap_tokens, cap_seq_len, n_threads;
    float *x;      /* [T, H] hidden state (input and output of each layer) */
    float *qkv;    /* [T, 3H] */
    float *ctx;    /* [T, H] attention context */
    float *tmp;    /* [T, H] */
    float *ffn;    /* [T, I] */
    float *scores; /* per thread: [Lmax, Lmax] */
    float *bias;   /* MPNet relative bias per thread: [2*Lmax] */
    float *kt;     /* per thread: one head's keys transposed [d, Lmax] */
    int max_head_dim;
} ss_tf_work;

void ss_tf_work_free(ss_tf_work *w);

/* Run the encoder over a packed batch. On return w->x holds the last hidden
 * state [n_tokens, H]. */
ss_status ss_transformer_forward(const ss_transformer *tf, ss_pool *pool, ss_tf_work *w, const int32_t *ids,
                                 const int *seq_off, int n_seq, ss_error *err);

#endif
