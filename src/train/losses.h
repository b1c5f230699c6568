/* losses.h — sentence-transformers' training losses (version 2.7.0 formulas
 * and defaults) over a batch of sentence embeddings, with their gradient
 * w.r.t. those embeddings. The model's backward pass starts from that
 * gradient (llm.c's dlosses, one level up).
 *
 * A batch has n_cols columns of B embeddings [B, D] each, the columns being
 * the dataset's text columns: (anchor, positive[, negative...]) for the
 * ranking losses, (s1, s2) + a label per row for the pair losses,
 * (anchor, positive, negative) for TripletLoss, one column + target
 * embeddings [B, D] for MSELoss.
 *
 * Stateless and reentrant; scratch is allocated per call. */
#ifndef SS_TRAIN_LOSSES_H
#define SS_TRAIN_LOSSES_H

#include "semsearch.h"

#define SS_LOSS_MAX_COLS 8
#define SS_LOSS_MAX_MATRYOSHKA 8

typedef enum {
    SS_LOSS_MNRL,               /* MultipleNegativesRankingLoss: scale 20, cos_sim; extra columns = hard negatives */
    SS_LOSS_MNSRL,              /* MultipleNegativesSymmetricRankingLoss (hard negatives only in the forward term) */
    SS_LOSS_CACHED_MNRL,        /* CachedMultipleNegativesRankingLoss: the same loss, scored mini_batch rows at a time */
    SS_LOSS_COSINE,             /* CosineSimilarityLoss: MSE(cos(u, v), label) */
    SS_LOSS_CONTRASTIVE,        /* ContrastiveLoss: cosine distance, margin 0.5, mean */
    SS_LOSS_ONLINE_CONTRASTIVE, /* OnlineContrastiveLoss: hard pairs only, cosine distance, margin 0.5, sum */
    SS_LOSS_TRIPLET,            /* TripletLoss: euclidean (pairwise_distance, eps 1e-6), margin 5 */
    SS_LOSS_COSENT,             /* CoSENTLoss: scale 20, pairwise cosine */
    SS_LOSS_MSE,                /* MSELoss: mean((emb - target)^2) against labels = target embeddings [B, D] */
    SS_LOSS_MSE_PAIR            /* mean((col0 - col1)^2), both sides trained (embedding-to-embedding MSE) */
} ss_loss_kind;

typedef struct ss_loss_config {
    ss_loss_kind kind;
    float scale;      /* MNRL family, CoSENT: 20 */
    float margin;     /* contrastive family: 0.5; triplet: 5 */
    int size_average; /* ContrastiveLoss: 1 = mean, 0 = sum */
    int mini_batch;   /* CachedMNRL: rows scored at a time (32) */
    /* MatryoshkaLoss around the loss when n_matryoshka > 0: each dim's prefix
     * re-normalised, loss = Σ weight_k · loss(prefix_k) */
    int n_matryoshka;
    int matryoshka_dims[SS_LOSS_MAX_MATRYOSHKA];
    float matryoshka_weights[SS_LOSS_MAX_MATRYOSHKA];
} ss_loss_config;

/* sentence-transformers' defaults for that loss. */
ss_loss_config ss_loss_defaults(ss_loss_kind kind);
/* "mnrl", "cached-mnrl", "mnsrl", "cosine", "contrastive", "online-contrastive", "triplet", "cosent",
 * "mse", "mse-pair"; also "simcse" (= mnrl on (s, s) pairs). -1 when unknown. */
int ss_loss_parse(const char *name);
/* Columns the loss expects (min), whether it reads labels (1 per row, 2 = [B, D] targets). */
int ss_loss_min_cols(ss_loss_kind kind);
int ss_loss_label_kind(ss_loss_kind kind);

typedef struct ss_loss_batch {
    int n_cols, B, D;
    const float *emb[SS_LOSS_MAX_COLS]; /* [B, D] each, row-major */
    const float *labels;                /* [B] or [B, D] (MSE), NULL when the loss has none */
} ss_loss_batch;

/* *loss = the loss; grad[c] ([B, D], caller-owned) = d loss / d emb[c]
 * (overwritten). grad may be NULL for forward only. */
ss_status ss_loss_compute(const ss_loss_config *cfg, const ss_loss_batch *batch, double *loss, float *const *grad,
                          ss_error *err);

#endif
