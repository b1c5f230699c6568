/* optim.c — see optim.h. The arithmetic follows PyTorch 1.13's single-tensor
 * AdamW (torch/optim/adamw.py, _single_tensor_adamw): float32 tensor ops
 * with Python-double scalars rounded to float where the op takes them. */
#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "core/error.h"

ss_status ss_adamw_init(ss_adamw *o, size_t n, ss_error *err) {
    o->lr = 2e-5, o->beta1 = 0.9, o->beta2 = 0.999, o->eps = 1e-8, o->weight_decay = 0.01;
    o->t = 0;
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

void ss_adamw_step(ss_adamw *o, float *params, const float *grads, const ss_param_range *ranges, int n_ranges,
                   double lr) {
    o->t++;
    /* torch computes these from Python floats (double): beta ** step */
    double b1 = o->beta1, b2 = o->beta2;
    double bc1 = 1.0 - pow(b1, (double)o->t), bc2 = 1.0 - pow(b2, (double)o->t);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float one_m_b1 = (float)(1.0 - b1), one_m_b2 = (float)(1.0 - b2), fb1 = (float)b1, fb2 = (float)b2;
    float eps = (float)o->eps;
    for (int r = 0; r < n_ranges; r++) {
        float decay = ranges[r].decay ? (float)(1.0 - lr * o->weight_decay) : 1.0f;
        for (size_t i = ranges[r].off; i < ranges[r].off + ranges[r].n; i++) {
            float g = grads[i];
            float p = params[i] * decay;
            float m = o->m[i] * fb1 + g * one_m_b1;
            float v = o->v[i] * fb2 + g * g * one_m_b2;
            float denom = sqrtf(v) / bc2_sqrt + eps;
            params[i] = p + (-step_size) * (m / denom);
            o->m[i] = m;
            o->v[i] = v;
        }
    }
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
