/* optim.c — see optim.h. The arithmetic follows PyTorch 1.13's single-tensor
 * AdamW (torch/optim/adamw.py, _single_tensor_adamw): float32 tensor ops
 * with Python-double scalars rounded to float where the op takes them. */
#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "core/error.h"
#include "core/threadpool.h"

enum { OPT_BLOCK = 1 << 16 }; /* elements per task: fixed, so results do not depend on the pool */

ss_status ss_adamw_init(ss_adamw *o, size_t n, ss_error *err) {
    o->lr = 2e-5, o->beta1 = 0.9, o->beta2 = 0.999, o->eps = 1e-8, o->weight_decay = 0.01;
    o->t = 0;
    o->pool = NULL; /* the caller may set one */
    o->n = n;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || !o->v) {
        ss_adamw_free(o);
        return ss_fail(err, SS_ERR_NOMEM, "AdamW: cannot allocate moments for %zu parameters", n);
    }
    return SS_OK;
}

void ss_adamw_free(ss_adamw *o) {
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

typedef struct adam_job {
    ss_adamw *o;
    float *params;
    const float *grads;
    const ss_param_range *ranges;
    int n_ranges;
    float step_size, bc2_sqrt, one_m_b1, one_m_b2, fb1, fb2, eps;
    double lr;
} adam_job;

/* Elements [i0, i1) of the flat buffer that fall in the ranges. */
static void adam_block(const adam_job *j, size_t i0, size_t i1) {
    ss_adamw *o = j->o;
    for (int r = 0; r < j->n_ranges; r++) {
        size_t a = j->ranges[r].off, b = a + j->ranges[r].n;
        if (a < i0) a = i0;
        if (b > i1) b = i1;
        if (a >= b) continue;
        float decay = j->ranges[r].decay ? (float)(1.0 - j->lr * o->weight_decay) : 1.0f;
        for (size_t i = a; i < b; i++) {
            float g = j->grads[i];
            float p = j->params[i] * decay;
            float m = o->m[i] * j->fb1 + g * j->one_m_b1;
            float v = o->v[i] * j->fb2 + g * g * j->one_m_b2;
            float denom = sqrtf(v) / j->bc2_sqrt + j->eps;
            j->params[i] = p + (-j->step_size) * (m / denom);
            o->m[i] = m;
            o->v[i] = v;
        }
    }
}

static void adam_task(void *arg, size_t i, int thread) {
    (void)thread;
    const adam_job *j = arg;
    size_t i0 = i * OPT_BLOCK, i1 = i0 + OPT_BLOCK < j->o->n ? i0 + OPT_BLOCK : j->o->n;
    adam_block(j, i0, i1);
}

void ss_adamw_step(ss_adamw *o, float *params, const float *grads, const ss_param_range *ranges, int n_ranges,
                   double lr) {
    o->t++;
    /* torch computes these from Python floats (double): beta ** step */
    double b1 = o->beta1, b2 = o->beta2;
    double bc1 = 1.0 - pow(b1, (double)o->t), bc2 = 1.0 - pow(b2, (double)o->t);
    adam_job j = {.o = o, .params = params, .grads = grads, .ranges = ranges, .n_ranges = n_ranges,
                  .step_size = (float)(lr / bc1), .bc2_sqrt = (float)sqrt(bc2), .one_m_b1 = (float)(1.0 - b1),
                  .one_m_b2 = (float)(1.0 - b2), .fb1 = (float)b1, .fb2 = (float)b2, .eps = (float)o->eps, .lr = lr};
    ss_pool_for(o->pool, (o->n + OPT_BLOCK - 1) / OPT_BLOCK, adam_task, &j);
}

float ss_clip_grad_norm(float *g, size_t n, float max_norm) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    float norm = (float)sqrt(s);
    float coef = max_norm / (norm + 1e-6f);
    if (coef < 1.0f)
        for (size_t i = 0; i < n; i++) g[i] *= coef;
    return norm;
}

typedef struct clip_job {
    float *g;
    size_t n;
    double *part;
    float coef;
} clip_job;

static void sq_task(void *arg, size_t i, int thread) {
    (void)thread;
    clip_job *j = arg;
    size_t i0 = i * OPT_BLOCK, i1 = i0 + OPT_BLOCK < j->n ? i0 + OPT_BLOCK : j->n;
    /* 8 interleaved sums, added in a fixed order: vectorisable, and still independent of the pool */
    double acc[8] = {0};
    size_t k = i0;
    for (; k + 8 <= i1; k += 8)
        for (int u = 0; u < 8; u++) acc[u] += (double)j->g[k + u] * j->g[k + u];
    for (; k < i1; k++) acc[0] += (double)j->g[k] * j->g[k];
    j->part[i] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static void scale_task(void *arg, size_t i, int thread) {
    (void)thread;
    clip_job *j = arg;
    size_t i0 = i * OPT_BLOCK, i1 = i0 + OPT_BLOCK < j->n ? i0 + OPT_BLOCK : j->n;
    for (size_t k = i0; k < i1; k++) j->g[k] *= j->coef;
}

float ss_clip_grad_norm_par(ss_pool *pool, float *g, size_t n, float max_norm) {
    size_t nb = (n + OPT_BLOCK - 1) / OPT_BLOCK;
    double *part = malloc((nb ? nb : 1) * sizeof(double));
    if (!part) return ss_clip_grad_norm(g, n, max_norm); /* the serial path needs no memory */
    clip_job j = {g, n, part, 1.0f};
    ss_pool_for(pool, nb, sq_task, &j);
    double s = 0;
    for (size_t i = 0; i < nb; i++) s += part[i];
    free(part);
    float norm = (float)sqrt(s);
    j.coef = max_norm / (norm + 1e-6f);
    if (j.coef < 1.0f) ss_pool_for(pool, nb, scale_task, &j);
    return norm;
}

double ss_schedule_factor(ss_schedule s, int64_t step, int64_t warmup, int64_t total) {
    if (s == SS_SCHED_CONSTANT) return 1.0;
    if (step < warmup) return (double)step / (double)(warmup > 1 ? warmup : 1);
    if (s == SS_SCHED_WARMUP_CONSTANT) return 1.0;
    int64_t rest = total - warmup > 1 ? total - warmup : 1;
    if (s == SS_SCHED_WARMUP_LINEAR) {
        double f = (double)(total - step) / (double)rest;
        return f > 0 ? f : 0;
    }
    double progress = (double)(step - warmup) / (double)rest;
    double f = 0.5 * (1.0 + cos(M_PI * 0.5 * 2.0 * progress)); /* num_cycles = 0.5 */
    return f > 0 ? f : 0;
}

int ss_schedule_parse(const char *name) {
    if (!strcasecmp(name, "constantlr")) return SS_SCHED_CONSTANT;
    if (!strcasecmp(name, "warmupconstant")) return SS_SCHED_WARMUP_CONSTANT;
    if (!strcasecmp(name, "warmuplinear")) return SS_SCHED_WARMUP_LINEAR;
    if (!strcasecmp(name, "warmupcosine")) return SS_SCHED_WARMUP_COSINE;
    return -1;
}
