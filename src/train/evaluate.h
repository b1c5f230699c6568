/* evaluate.h — EmbeddingSimilarityEvaluator over a model being trained:
 * embeds (s1, s2) pairs with the transformer's current weights (inference
 * forward, its own scratch), cosine vs gold, Spearman and Pearson x100.
 * Reentrant; the transformer is only read. */
#ifndef SS_TRAIN_EVALUATE_H
#define SS_TRAIN_EVALUATE_H

#include "model/config.h"
#include "model/transformer.h"
#include "semsearch.h"
#include "train/data.h"
#include "train/ir_eval.h"

/* d: two text columns and labels. m: the tokenizer (ss_model_tokenize). */
ss_status ss_eval_sts(const ss_transformer *tf, const ss_st_config *st, ss_model *m, ss_pool *pool,
                      const ss_dataset *d, double *spearman, double *pearson, ss_error *err);

/* InformationRetrievalEvaluator (cos_sim) on d with the current weights. */
ss_status ss_eval_ir(const ss_transformer *tf, const ss_st_config *st, ss_model *m, ss_pool *pool,
                     const ss_ir_data *d, ss_ir_result *r, ss_error *err);

/* TripletEvaluator on d's (anchor, positive, negative) columns (the model's
 * Normalize applied, as encode's output, for the Manhattan / Euclidean figures). */
ss_status ss_eval_triplet(const ss_transformer *tf, const ss_st_config *st, ss_model *m, ss_pool *pool,
                          const ss_dataset *d, ss_triplet_result *r, ss_error *err);

#endif
