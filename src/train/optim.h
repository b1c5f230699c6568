/* optim.h — model.fit's optimiser: torch.optim.AdamW over a flat parameter
 * buffer, parameter groups given as ranges with or without weight decay
 * (sentence-transformers' no_decay = bias, LayerNorm.weight, LayerNorm.bias),
 * torch.nn.utils.clip_grad_norm_, and the transformers learning-rate
 * schedules behind model.fit's `scheduler` names.
 *
 * An ss_adamw is used by one thread at a time. */
#ifndef SS_TRAIN_OPTIM_H
#define SS_TRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "semsearch.h"

typedef struct ss_param_range {
    size_t off, n; /* elements [off, off + n) of the flat buffer */
    int decay;     /* 1: weight_decay applies, 0: a no_decay parameter */
} ss_param_range;

typedef struct ss_adamw {
    double lr, beta1, beta2, eps, weight_decay; /* fit: 2e-5, 0.9, 0.999, 1e-8 (torch default), 0.01;
                                                 * doubles, as the Python floats torch computes with */
    int64_t t;                                  /* steps taken */
    size_t n;
    float *m, *v; /* first and second moments [n], owned */
    ss_pool *pool; /* not owned, NULL: one thread; the update is elementwise, so any pool
                    * size gives the same parameters */
} ss_adamw;

/* model.fit's defaults; m and v zeroed for n parameters. */
ss_status ss_adamw_init(ss_adamw *o, size_t n, ss_error *err);
void ss_adamw_free(ss_adamw *o);
/* One torch.optim.AdamW step at learning rate lr (the scheduled value), in
 * torch's order and precision: p *= 1 - lr·wd; m, v updated; p -= lr/bc1 ·
 * m / (sqrt(v)/sqrt(bc2) + eps). Elements outside every range are left alone. */
void ss_adamw_step(ss_adamw *o, float *params, const float *grads, const ss_param_range *ranges, int n_ranges,
                   double lr);

/* clip_grad_norm_(max_norm): scales g by min(1, max_norm / (norm + 1e-6));
 * returns the norm before clipping. */
float ss_clip_grad_norm(float *g, size_t n, float max_norm);
/* The same over a pool: the squares are summed (in double) per fixed block of
 * elements and the block sums added in order, so the norm does not depend on
 * the pool size (it may differ from ss_clip_grad_norm's in the last bit). */
float ss_clip_grad_norm_par(ss_pool *pool, float *g, size_t n, float max_norm);

typedef enum {
    SS_SCHED_CONSTANT,        /* constantlr */
    SS_SCHED_WARMUP_CONSTANT, /* warmupconstant */
    SS_SCHED_WARMUP_LINEAR,   /* warmuplinear (fit's default) */
    SS_SCHED_WARMUP_COSINE    /* warmupcosine (half a cosine) */
} ss_schedule;

/* The multiplier of the base lr for 0-based step `step` (what the optimiser
 * uses on that step; transformers' lr_lambda). */
double ss_schedule_factor(ss_schedule s, int64_t step, int64_t warmup, int64_t total);
/* "warmuplinear" etc., case-insensitive as sentence-transformers; -1 if unknown. */
int ss_schedule_parse(const char *name);

#endif
