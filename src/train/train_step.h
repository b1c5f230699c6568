/* train_step.h — one gradient computation for a batch of sentence tuples:
 * encoder forward (activations kept) → Pooling → Normalize (when the model
 * has it) → loss → and all the way back into the flat parameter gradients.
 *
 * All texts of all columns run as ONE packed batch (sequences never see each
 * other in a packed forward), sequence c·B + i being column c, row i. The
 * forward is the inference code itself (ss_transformer_forward with
 * keep_all), so training and inference cannot drift apart.
 *
 * An ss_train_step is used by one thread at a time; the transformer is read only. */
#ifndef SS_TRAIN_TRAIN_STEP_H
#define SS_TRAIN_TRAIN_STEP_H

#include "model/config.h"
#include "model/transformer.h"
#include "train/bert_backward.h"
#include "train/losses.h"

typedef struct ss_train_step {
    ss_tf_work work;   /* forward activations (keep_all) */
    ss_tf_bwork bwork; /* backward scratch */
    float *pooled, *emb, *demb, *dpooled, *dhidden; /* [S, P], [S, P], [S, P], [S, P], [T, H] */
    int cap_S, cap_T, P;
    /* dropout (model.train()): set by the caller before a run; off when 0.
     * A forward over sequences [q0, q1) numbers its mask rows from token
     * seq_off[q0] and sequence q0: GradCache's mini-batches (and their
     * re-forwards) draw exactly the whole batch's masks. */
    int dropout;
    float p_hidden, p_attn;
    uint64_t drop_seed;
} ss_train_step;

void ss_train_step_free(ss_train_step *s);

/* ids / seq_off: the packed batch of n_cols·B sequences (column-major as
 * above). grads += d loss / d params (the caller zeroes them); *loss = the
 * loss; emb (optional, [n_cols·B, P]) receives the sentence embeddings.
 * labels: [B] scores, or for SS_LOSS_MSE the target embeddings [n_cols·B, P]
 * (one per sequence, in the packed order). */
ss_status ss_train_step_run(ss_train_step *s, const ss_transformer *tf, const ss_st_config *st, ss_pool *pool,
                            const int32_t *ids, const int *seq_off, int n_cols, int B, const ss_loss_config *lc,
                            const float *labels, float *grads, double *loss, float *emb, ss_error *err);

#endif
