/* trainer.h — model.fit in C: data → seeded (no-duplicates) batches →
 * train step (forward, loss, backward) → clip_grad_norm_ → AdamW with a
 * warmup schedule, for N epochs or max_steps; then the sentence-transformers
 * folder is saved (save.h).
 *
 * ss_train_run is reentrant (everything it uses it owns); its callback runs
 * on the calling thread. */
#ifndef SS_TRAIN_TRAINER_H
#define SS_TRAIN_TRAINER_H

#include <stdint.h>

#include "train/data.h"
#include "train/losses.h"
#include "train/optim.h"

typedef struct ss_train_options {
    const char *model_dir, *data_path, *out_dir; /* out_dir NULL: do not save */
    ss_data_options data;
    ss_loss_config loss;
    int simcse;           /* one text column paired with itself (MNRL); see docs/training.md on dropout */
    /* MSELoss to a teacher's embeddings (loss SS_LOSS_MSE): the teacher model folder embeds column 0
     * of every row once, before training; the student learns that embedding for every column of the
     * row (one column: distillation; source, translation: the multilingual ParallelSentences form) */
    const char *teacher;
    int epochs;           /* 1 */
    int batch_size;       /* 32 */
    double lr;            /* 2e-5 */
    double weight_decay;  /* 0.01 */
    double warmup_ratio;  /* used when warmup_steps < 0: ceil(ratio * total steps); default 0.1 */
    int64_t warmup_steps; /* -1 */
    int64_t max_steps;    /* 0: epochs decide; else stop after this many steps (and schedule over them) */
    float max_grad_norm;  /* 1.0 */
    ss_schedule schedule; /* WarmupLinear */
    uint64_t seed;        /* 42 */
    int no_duplicates;    /* -1: on for the in-batch-negative losses (MNRL family) */
    int n_threads;        /* 0: all cores */
    int dropout;          /* 1 (default): config.json's dropout in the training forward, as model.train(); 0: off */
    const char *log_csv;  /* optional: step,epoch,loss,lr,grad_norm per step */
    /* checkpoints: the whole training state (parameters, Adam moments and step, the batcher's
     * order, position and RNG) so that a resumed run continues bit-identically */
    const char *checkpoint;     /* path written every checkpoint_every steps and at a stop_after stop */
    int64_t checkpoint_every;   /* 0: only when stopping early */
    int64_t stop_after;         /* 0: run to the end; else stop after this many steps (checkpoint written) */
    const char *resume;         /* a checkpoint to continue from (same data and options) */
    /* EmbeddingSimilarityEvaluator during training (fit's evaluator + save_best_model): every
     * eval_steps steps and at each epoch's end; out_dir then receives the best-scoring model */
    const char *eval_sts;       /* (s1, s2, score) file; eval_data describes its columns */
    ss_data_options eval_data;
    int64_t eval_steps;         /* 0: at epoch ends only */
    /* or (one evaluator per run) InformationRetrievalEvaluator: eval_ir = "QUERIES,CORPUS,QRELS" or a BEIR
     * folder (ir_eval.h); its score is MAP@100 x100 (2.7's main score), second NDCG@10 x100 */
    const char *eval_ir;
    /* or TripletEvaluator on an (anchor, positive, negative) file (eval_data: its columns); score: cosine
     * accuracy x100, second: Euclidean accuracy x100 */
    const char *eval_triplet;
    /* spearman / pearson for STS; the score and the second figure above for IR and triplets */
    void (*on_eval)(void *user, int64_t step, double spearman, double pearson);
    /* called after every step (NULL: silent) */
    void (*on_step)(void *user, int64_t step, int64_t total, int epoch, double loss, double lr);
    void *user;
} ss_train_options;

typedef struct ss_train_result {
    int64_t steps;
    int stopped; /* stop_after ended the run early (a checkpoint was written when asked) */
    int n_evals;
    double first_eval, best_eval; /* the evaluator's score (Spearman x100 for STS): before training, the best seen */
    int64_t best_step;
    double first_loss, last_loss, mean_last_epoch_loss;
    size_t rows, skipped_rows;
    double seconds;
    size_t tokens;
} ss_train_result;

void ss_train_options_default(ss_train_options *o);
ss_status ss_train_run(const ss_train_options *o, ss_train_result *res, ss_error *err);

#endif
