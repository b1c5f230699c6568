/* attention.h — scaled dot-product self-attention of one (sequence, head),
 * the forward half (a backward sibling will read att, the probabilities). */
#ifndef SS_MODEL_ATTENTION_H
#define SS_MODEL_ATTENTION_H

#include <stdint.h>

/* Per-call scratch, each sized for sequences of up to Lmax tokens. */
typedef struct ss_attn_scratch {
    float *scores; /* [Lmax, Lmax] QKᵀ/√d (+ bias), before softmax */
    float *kt;     /* [d, Lmax] this head's keys, transposed */
    float *bias;   /* [2·Lmax] MPNet relative bias by q - k (unused for BERT) */
} ss_attn_scratch;

/* Head h of one sequence of L tokens:
 *   att  [L, L] = softmax(Q Kᵀ / √d + bias)   (row-major [query, key])
 *   atty [t, h·d .. h·d + d) = att · V        for each of the L tokens t
 * qkv points at the sequence's first row of the [T, 3H] q | k | v buffer and
 * atty at its first row of [T, H]. rel_bias is MPNet's [rel_buckets, nh]
 * table (NULL for BERT). att may equal s->scores (nothing kept). */
/* MPNet / T5 bidirectional relative-position bucket of n = query - key
 * (MPNet uses max_distance 128). One formula for the forward pass and the
 * training backward, so every score's gradient lands in the bucket it read. */
int ss_rel_bucket(int n, int num_buckets, int max_distance);

/* drop (training, NULL otherwise): this head's [L, L] dropout mask on the
 * probabilities, as HF's attention_probs = dropout(softmax): atty is then
 * (att ⊙ drop · keep) · V while att keeps the undropped softmax that the
 * backward needs. keep = 1 / (1 - p). */
void ss_attention_forward(float *atty, float *att, const float *qkv, int L, int H, int nh, int h,
                          const float *rel_bias, int rel_buckets, const uint8_t *drop, float keep,
                          const ss_attn_scratch *s);

#endif
