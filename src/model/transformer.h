/* transformer.h — BERT-family encoder (BERT, MPNet): parameters, activations
 * and the forward pass, laid out the llm.c way so that a backward pass and an
 * optimiser can be written against the same buffers.
 *
 * BATCHES are "packed": the token ids of all sequences are concatenated with
 * no padding, and seq_off[b]..seq_off[b+1] delimits sequence b (T tokens in
 * all, L_b = seq_off[b+1] - seq_off[b]). Every GEMM runs over all T tokens at
 * once; attention runs per (sequence, head). With no padding there is nothing
 * to mask, and a sequence's result cannot depend on the other sequences.
 *
 * PARAMETERS: one flat, 64-byte-aligned float buffer `params` of n_params
 * floats. ss_tf_param_views() gives its table of tensor views (name, offset in
 * floats, shape), in buffer order; ss_tf_point_params() turns any buffer with
 * that layout (the weights, their gradients, Adam's m and v) into the named
 * pointers of ss_tf_params. Per-layer tensors are stacked over the layers
 * (llm.c): qkv_w is [layers, 3H, H] and layer l's slice starts at
 * qkv_w + l·3H·H; ss_tf_layer_of() computes every slice of one layer. Weights
 * are PyTorch's [out, in] row-major. Q, K and V of a layer are stacked into one
 * [3H, H] matrix (rows 0..H-1 query, H..2H-1 key, 2H..3H-1 value) so that one
 * GEMM computes all three. H = hidden, I = intermediate, V = vocab_size,
 * P = max_position, nh = heads, d = H / nh.
 *
 * ACTIVATIONS (ss_tf_acts) of one forward pass, every [T, X] buffer row-major
 * by token. Per-layer buffers have a layer stride: with keep_all (training)
 * layer l's buffer starts at base + l·stride; without it (inference, the
 * default) every layer reuses layer 0's buffers. ss_tf_acts_layer() resolves
 * layer l's pointers either way; the forward kernels are the same.
 *
 *   emb        [T, H]   word + position (+ token type 0) embeddings: LN0's input
 *   emb_mean   [T]      LN0 mean, emb_rstd [T] LN0 1/sqrt(var + eps)
 *   resid(l)   [T, H]   the residual stream: resid(0) = LN0 output, the input
 *                       of layer 0; resid(l + 1) = output of layer l; the last
 *                       hidden state is resid(layers) (ss_tf_acts_output()).
 *                       keep_all: layers + 1 buffers; else two, alternating.
 *  per layer l (stride in parentheses, 0 without keep_all):
 *   qkv        [T, 3H]  (T·3H) q | k | v; head h of token t: qkv[t, h·d + j]
 *                       (q), [t, H + h·d + j] (k), [t, 2H + h·d + j] (v)
 *   att        [nh·ΣL_b²] (att_len) softmax probabilities; sequence b, head h:
 *                       att + att_off[b] + h·L_b², row-major [query, key];
 *                       att_off[b] = nh·Σ_{b'<b} L_b'². Only with keep_all:
 *                       inference keeps one (sequence, head) at a time in
 *                       per-thread scratch and att is NULL.
 *   atty       [T, H]   (T·H) attention output, heads concatenated (pre-projection)
 *   attproj    [T, H]   (T·H) atty · attn_out_wᵀ + attn_out_b
 *   ln1_in     [T, H]   (T·H) attproj + resid(l): LN1's input
 *   ln1_mean, ln1_rstd [T] (T)
 *   ln1_out    [T, H]   (T·H) LN1's output: the FFN's input and its residual
 *   fch        [T, I]   (T·I) ln1_out · ffn_in_wᵀ + ffn_in_b: pre-activation
 *   fch_act    [T, I]   (T·I) gelu / gelu_tanh / relu of fch
 *   fcproj     [T, H]   (T·H) fch_act · ffn_out_wᵀ + ffn_out_b
 *   ln2_in     [T, H]   (T·H) fcproj + ln1_out: LN2's input
 *   ln2_mean, ln2_rstd [T] (T)
 *   (LN2's output is resid(l + 1).)
 * Strides use the capacity cap_T (>= T), not T. Without keep_all buffers
 * whose contents are dead before their next writer share memory (nothing is
 * kept for a backward pass then; the kernels are the same): emb = resid(1)'s
 * buffer; fch = fch_act = qkv's buffer (sized max(3H, I) per token); ln1_out =
 * atty; ln1_in = fcproj = ln2_in = attproj; ln2_mean / ln2_rstd = ln1_mean /
 * ln1_rstd. That is 4H + I floats per token plus per-thread attention
 * scratch.
 *
 * A forward pass writes acts only; params are read-only, so any number of
 * forward passes (each with its own ss_tf_work) may share one transformer. */
#ifndef SS_MODEL_TRANSFORMER_H
#define SS_MODEL_TRANSFORMER_H

#include <stddef.h>
#include <stdint.h>

#include "core/threadpool.h"
#include "kernels/bgemm.h"
#include "kernels/quant.h"
#include "model/config.h"
#include "semsearch.h"

/* ---- parameters ----------------------------------------------------------- */

/* Tensor kinds, in buffer order. */
typedef enum {
    SS_TF_WORD_EMB,   /* [V, H] */
    SS_TF_POS_EMB,    /* [P, H] */
    SS_TF_TYPE_EMB,   /* [type_vocab, H] (BERT) or empty */
    SS_TF_EMB_LN_G,   /* [H] */
    SS_TF_EMB_LN_B,   /* [H] */
    SS_TF_REL_BIAS,   /* MPNet: [rel_buckets, nh], else empty */
    SS_TF_QKV_W,      /* [layers, 3H, H] */
    SS_TF_QKV_B,      /* [layers, 3H] */
    SS_TF_ATTN_OUT_W, /* [layers, H, H] */
    SS_TF_ATTN_OUT_B, /* [layers, H] */
    SS_TF_LN1_G,      /* [layers, H] */
    SS_TF_LN1_B,      /* [layers, H] */
    SS_TF_FFN_IN_W,   /* [layers, I, H] */
    SS_TF_FFN_IN_B,   /* [layers, I] */
    SS_TF_FFN_OUT_W,  /* [layers, H, I] */
    SS_TF_FFN_OUT_B,  /* [layers, H] */
    SS_TF_LN2_G,      /* [layers, H] */
    SS_TF_LN2_B,      /* [layers, H] */
    SS_TF_N_TENSORS
} ss_tf_tensor_id;

typedef struct ss_tf_view {
    const char *name;  /* "qkv_w", ... (semsearch's name, not the checkpoint's) */
    size_t offset;     /* in floats from the buffer start; a multiple of 16 */
    size_t numel;      /* 0 for a tensor this architecture lacks */
    int ndim;
    int shape[3];
} ss_tf_view;

/* Named pointers into one buffer of the layout (NULL for empty tensors). */
typedef struct ss_tf_params {
    float *word_emb, *pos_emb, *type_emb, *emb_ln_g, *emb_ln_b, *rel_bias;
    float *qkv_w, *qkv_b, *attn_out_w, *attn_out_b, *ln1_g, *ln1_b;
    float *ffn_in_w, *ffn_in_b, *ffn_out_w, *ffn_out_b, *ln2_g, *ln2_b;
} ss_tf_params;

/* One layer's slices of an ss_tf_params. */
typedef struct ss_tf_layer {
    float *qkv_w, *qkv_b, *attn_out_w, *attn_out_b, *ln1_g, *ln1_b;
    float *ffn_in_w, *ffn_in_b, *ffn_out_w, *ffn_out_b, *ln2_g, *ln2_b;
} ss_tf_layer;

/* Fill views[SS_TF_N_TENSORS]; returns the buffer size in floats. */
size_t ss_tf_param_views(const ss_tf_config *c, ss_tf_view views[SS_TF_N_TENSORS]);
/* Point p's fields into base (a buffer of ss_tf_param_views' size). */
void ss_tf_point_params(const ss_tf_config *c, float *base, ss_tf_params *p);
ss_tf_layer ss_tf_layer_of(const ss_tf_config *c, const ss_tf_params *p, int l);

typedef struct ss_transformer {
    ss_tf_config cfg;
    float *params;   /* the flat buffer, n_params floats, read-only after load */
    size_t n_params;
    ss_tf_view views[SS_TF_N_TENSORS];
    ss_tf_params w;  /* named pointers into params */
    /* int8 hook (perf branch, model/qlinear.h): int8 linear weights, NULL for
     * fp32 compute; set by ss_tf_quantize, freed by ss_transformer_free */
    struct ss_tf_qweights *q;
    /* bf16 hook (kern branch, model/bflinear.h): bf16 linear weights, NULL
     * unless compute bf16; set by ss_tf_to_bf16, freed by ss_transformer_free */
    struct ss_tf_bweights *bf;
} ss_transformer;

/* Load weights from DIR/model.safetensors for the given config; tensor names
 * are accepted bare or with the "bert." / "mpnet." / "model." prefix. F32,
 * F16 and BF16 tensors are converted into the flat buffer (copied, not
 * mapped: Q/K/V are restacked, the file's data offsets need not be aligned,
 * and gradients / Adam moments share one layout with the weights). */
ss_status ss_transformer_load(ss_transformer *tf, const ss_tf_config *cfg, const char *dir, ss_error *err);
void ss_transformer_free(ss_transformer *tf);

/* ---- activations ---------------------------------------------------------- */

typedef struct ss_tf_acts {
    int keep_all;            /* set before the first forward: keep every layer's buffers */
    int T, n_seq;            /* of the last forward */
    int cap_T, cap_seq;      /* allocated capacity (tokens, sequences) */
    size_t att_len, cap_att; /* floats of att per layer (used, allocated) */
    int n_resid;             /* resid buffers: layers + 1 (keep_all) or 2 */
    int n_layer_bufs;        /* per-layer buffer copies allocated: layers or 1 (0: none) */
    int aliased;             /* inference layout: buffers shared as transformer.h says */
    float *emb, *emb_mean, *emb_rstd;
    float *resid;
    float *qkv, *att, *atty, *attproj, *ln1_in, *ln1_mean, *ln1_rstd, *ln1_out;
    float *fch, *fch_act, *fcproj, *ln2_in, *ln2_mean, *ln2_rstd;
    size_t *att_off;         /* [n_seq + 1] */
    /* Dropout masks of the last forward (training only, see ss_tf_work.dropout;
     * 1 = kept, scaled by 1/(1-p)): drop_emb [T, H] on LN0's output (resid(0));
     * per layer (strides cap_att, cap_T·H) drop_att on the attention
     * probabilities (att's layout; att itself stays the undropped softmax),
     * drop_attn_out on attproj and drop_ffn_out on fcproj, both dropped in
     * place before their residual LayerNorm. dropped: the last forward used
     * them (else they are stale or NULL). */
    uint8_t *drop_emb, *drop_att, *drop_attn_out, *drop_ffn_out;
    int drop_cap_T;
    size_t drop_cap_att;
    int dropped;
    float drop_hidden, drop_attn; /* the p's of the last forward */
} ss_tf_acts;

/* Layer l's activation pointers (see the layout above). */
typedef struct ss_tf_layer_acts {
    float *in;  /* resid(l) */
    float *qkv, *att, *atty, *attproj, *ln1_in, *ln1_mean, *ln1_rstd, *ln1_out;
    float *fch, *fch_act, *fcproj, *ln2_in, *ln2_mean, *ln2_rstd;
    float *out; /* resid(l + 1) */
    uint8_t *drop_att, *drop_attn_out, *drop_ffn_out; /* NULL unless acts.dropped */
} ss_tf_layer_acts;

float *ss_tf_acts_resid(const ss_tf_acts *a, int H, int l);
ss_tf_layer_acts ss_tf_acts_layer(const ss_tf_acts *a, const ss_tf_config *c, int l);
/* The last hidden state [T, H] of the last forward. */
float *ss_tf_acts_output(const ss_tf_acts *a, const ss_tf_config *c);

/* Everything one forward pass writes: activations plus per-thread attention
 * scratch. Zero-initialise it ({0}: inference mode, or set acts.keep_all = 1),
 * pass it to ss_transformer_forward (buffers grow on demand), and release it
 * with ss_tf_work_free. One ss_tf_work is used by one forward at a time. */
typedef struct ss_tf_work {
    ss_tf_acts acts;
    float *x;            /* after a forward: the last hidden state [T, H] */
    int scratch_threads, scratch_len;
    float *scores;       /* per thread: [Lmax, Lmax] pre-softmax scores (inference:
                            then the probabilities, in place) */
    float *kt;           /* per thread: one head's keys transposed [d, Lmax] */
    float *bias;         /* per thread: MPNet relative bias by q - k [2·Lmax] */
    ss_qact qact;        /* int8 hook: the quantised input of the current linear */
    ss_bact bact;        /* bf16 hook: the rounded input of the current linear */
    /* Training dropout, exactly where HF BertModel / MPNetModel apply it:
     * LN0's output, the attention probabilities, the attention output
     * projection and the FFN output. Only with acts.keep_all and dropout set
     * (inference never drops). p_hidden / p_attn as config.json's
     * hidden_dropout_prob / attention_probs_dropout_prob. Every mask row is
     * drawn from its own ss_rng seeded by (drop_seed, site, layer, token or
     * sequence·heads + head), so the masks depend on the seed and the batch
     * only, never on threads. drop_tok0 / drop_seq0 are added to the token /
     * sequence numbers: a forward over part of a larger batch (GradCache's
     * mini-batches) draws exactly the masks the whole batch would. With
     * p = 0 the result is bit-identical to no dropout. */
    int dropout;
    float p_hidden, p_attn;
    uint64_t drop_seed, drop_tok0, drop_seq0;
} ss_tf_work;

/* The seed of mask row `idx` of dropout site `site` (0 embeddings, 1
 * attention probabilities, 2 attention output, 3 FFN output) of layer
 * `layer` (0 for the embeddings); tools/reference/make_dropout_golden.py
 * reimplements it. */
uint64_t ss_tf_dropout_key(uint64_t drop_seed, int site, int layer, uint64_t idx);

void ss_tf_work_free(ss_tf_work *w);

/* Run the encoder over a packed batch. On return w->x (= the last resid)
 * holds the last hidden state [n_tokens, H]. */
ss_status ss_transformer_forward(const ss_transformer *tf, ss_pool *pool, ss_tf_work *w, const int32_t *ids,
                                 const int *seq_off, int n_seq, ss_error *err);

#endif
