/* qlinear.c — int8 Linear layers of the encoder (see qlinear.h). */
#include "model/qlinear.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/transformer.h"

ss_status ss_tf_quantize(ss_transformer *tf, ss_error *err) {
    const ss_tf_config *c = &tf->cfg;
    if (tf->q) return ss_fail(err, SS_ERR_INVALID, "int8: transformer already quantised");
    ss_tf_qweights *q = calloc(1, sizeof *q);
    if (q) q->w = calloc((size_t)c->layers * SS_QL_N, sizeof *q->w);
    if (!q || !q->w) {
        free(q);
        return ss_fail(err, SS_ERR_NOMEM, "int8: out of memory");
    }
    q->kern = ss_qgemm_best();
    const int H = c->hidden, FF = c->intermediate;
    for (int l = 0; l < c->layers; l++) {
        ss_tf_layer ly = ss_tf_layer_of(c, &tf->w, l);
        const struct { const float *w; int n, k; } m[SS_QL_N] = {
            {ly.qkv_w, 3 * H, H}, {ly.attn_out_w, H, H}, {ly.ffn_in_w, FF, H}, {ly.ffn_out_w, H, FF}};
        for (int i = 0; i < SS_QL_N; i++) {
            ss_status s = ss_qweight_init(&q->w[l * SS_QL_N + i], m[i].w, m[i].n, m[i].k, err);
            if (s != SS_OK) {
                q->layers = l + 1;
                ss_tf_qweights_free(q);
                ss_error_prefix(err, "layer %d: ", l);
                return s;
            }
        }
        q->layers = l + 1;
    }
    tf->q = q;
    return SS_OK;
}

void ss_tf_qweights_free(ss_tf_qweights *q) {
    if (!q) return;
    for (int i = 0; i < q->layers * SS_QL_N; i++) ss_qweight_free(&q->w[i]);
    free(q->w);
    free(q);
}

typedef struct qjob {
    const ss_qgemm_kernel *kern;
    const ss_qweight *w;
    ss_qact *qa;
    const float *x, *b;
    float *y;
    int T, n, rows, chunk;
} qjob;

static void quant_task(void *arg, size_t i, int thread) {
    (void)thread;
    qjob *j = arg;
    int t0 = (int)i * j->rows, t1 = t0 + j->rows < j->T ? t0 + j->rows : j->T;
    ss_qact_quantize_rows(j->qa, j->x, t0, t1);
}

static void gemm_task(void *arg, size_t i, int thread) {
    (void)thread;
    qjob *j = arg;
    int n0 = (int)i * j->chunk, n1 = n0 + j->chunk < j->n ? n0 + j->chunk : j->n;
    ss_qgemm_cols(j->kern, j->qa, j->w, j->b, j->y, j->n, n0, n1);
}

void ss_qlinear(ss_pool *pool, const ss_tf_qweights *q, int layer, ss_ql_which which, ss_qact *qa, const float *x,
                int T, int k, const float *b, float *y, int n) {
    const ss_qweight *w = &q->w[layer * SS_QL_N + which];
    /* reserved by the caller for these sizes: sets the shape, cannot fail */
    ss_qact_reserve(qa, T, k, q->kern->wide, NULL);
    int nt = ss_pool_threads(pool);
    qjob j = {.kern = q->kern, .w = w, .qa = qa, .x = x, .b = b, .y = y, .T = T, .n = n};
    j.rows = (T + nt * 4 - 1) / (nt * 4);
    if (j.rows < 1) j.rows = 1;
    ss_pool_for(pool, (size_t)((T + j.rows - 1) / j.rows), quant_task, &j);
    /* whole 48-column blocks (the kernel's cache block), one slice per thread;
     * results do not depend on the split (exact int32 sums) */
    j.chunk = ((n + nt - 1) / nt + 47) / 48 * 48;
    ss_pool_for(pool, (size_t)((n + j.chunk - 1) / j.chunk), gemm_task, &j);
}

int ss_compute_parse(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "fp32") || !strcmp(name, "float32")) return SS_COMPUTE_FP32;
    if (!strcmp(name, "int8")) return SS_COMPUTE_INT8;
    if (!strcmp(name, "bf16") || !strcmp(name, "bfloat16")) return SS_COMPUTE_BF16;
    return -1;
}
