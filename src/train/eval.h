/* eval.h — sentence-transformers' EmbeddingSimilarityEvaluator figures:
 * Pearson and Spearman correlation (×100 by the caller) of cosine scores
 * against gold scores, Spearman with average ranks for ties (scipy's
 * spearmanr). Pure functions. */
#ifndef SS_TRAIN_EVAL_H
#define SS_TRAIN_EVAL_H

#include <stddef.h>

double ss_pearson(const double *x, const double *y, size_t n);
/* Spearman = Pearson of the average ranks; scratch-free (allocates). NaN on OOM. */
double ss_spearman(const double *x, const double *y, size_t n);

#endif
