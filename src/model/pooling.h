/* pooling.h — sentence-transformers' Pooling module over one sequence. */
#ifndef SS_MODEL_POOLING_H
#define SS_MODEL_POOLING_H

#include "model/config.h"

/* Pool the last hidden state h [L, H] of one sequence into out
 * [ss_pooling_count(p) * H], modes concatenated in sentence-transformers'
 * order (cls, max, mean, mean_sqrt_len, weightedmean, lasttoken). The first
 * `skip` tokens are masked out of mean/max/weighted/last (a prompt with
 * include_prompt = false); cls always takes token 0. */
void ss_pool_sequence(const ss_pooling_config *p, const float *h, int L, int H, int skip, float *out);

#endif
