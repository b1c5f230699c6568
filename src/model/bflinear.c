/* bflinear.c — bf16 Linear layers of the encoder (see bflinear.h). */
#include "model/bflinear.h"

#include <stdlib.h>

#include "core/error.h"
#include "model/transformer.h"

ss_status ss_tf_to_bf16(ss_transformer *tf, ss_error *err) {
    const ss_tf_config *c = &tf->cfg;
    if (tf->bf || tf->q) return ss_fail(err, SS_ERR_INVALID, "bf16: transformer already converted");
    if (!ss_bgemm_available())
        return ss_fail(err, SS_ERR_UNSUPPORTED,
                       "compute bf16 needs a CPU with AVX512_BF16 (vdpbf16ps), which this one lacks; use fp32 or int8");
    ss_tf_bweights *q = calloc(1, sizeof *q);
    if (q) q->w = calloc((size_t)c->layers * SS_QL_N, sizeof *q->w);
    if (!q || !q->w) {
        free(q);
        return ss_fail(err, SS_ERR_NOMEM, "bf16: out of memory");
    }
    const int H = c->hidden, FF = c->intermediate;
    for (int l = 0; l < c->layers; l++) {
        ss_tf_layer ly = ss_tf_layer_of(c, &tf->w, l);
        const struct { const float *w; int n, k; } m[SS_QL_N] = {
            {ly.qkv_w, 3 * H, H}, {ly.attn_out_w, H, H}, {ly.ffn_in_w, FF, H}, {ly.ffn_out_w, H, FF}};
        q->layers = l + 1;
        for (int i = 0; i < SS_QL_N; i++) {
            ss_status s = ss_bweight_init(&q->w[l * SS_QL_N + i], m[i].w, m[i].n, m[i].k, err);
            if (s != SS_OK) {
                ss_tf_bweights_free(q);
                ss_error_prefix(err, "layer %d: ", l);
                return s;
            }
        }
    }
    tf->bf = q;
    return SS_OK;
}

void ss_tf_bweights_free(ss_tf_bweights *q) {
    if (!q) return;
    for (int i = 0; i < q->layers * SS_QL_N; i++) ss_bweight_free(&q->w[i]);
    free(q->w);
    free(q);
}

typedef struct bjob {
    const ss_bweight *w;
    ss_bact *ba;
    const float *x, *b;
    float *y;
    int T, n, rows, chunk;
} bjob;

static void conv_task(void *arg, size_t i, int thread) {
    (void)thread;
    bjob *j = arg;
    int t0 = (int)i * j->rows, t1 = t0 + j->rows < j->T ? t0 + j->rows : j->T;
    ss_bact_convert_rows(j->ba, j->x, t0, t1);
}

static void gemm_task(void *arg, size_t i, int thread) {
    (void)thread;
    bjob *j = arg;
    int n0 = (int)i * j->chunk, n1 = n0 + j->chunk < j->n ? n0 + j->chunk : j->n;
    ss_bgemm_cols(j->ba, j->w, j->b, j->y, j->n, n0, n1);
}

void ss_bflinear(ss_pool *pool, const ss_tf_bweights *q, int layer, ss_ql_which which, ss_bact *ba, const float *x,
                 int T, int k, const float *b, float *y, int n) {
    const ss_bweight *w = &q->w[layer * SS_QL_N + which];
    ss_bact_reserve(ba, T, k, NULL); /* reserved by the caller: sets the shape, cannot fail */
    int nt = ss_pool_threads(pool);
    bjob j = {.w = w, .ba = ba, .x = x, .b = b, .y = y, .T = T, .n = n};
    j.rows = (T + nt * 4 - 1) / (nt * 4);
    if (j.rows < 1) j.rows = 1;
    ss_pool_for(pool, (size_t)((T + j.rows - 1) / j.rows), conv_task, &j);
    /* whole 48-column blocks (the kernel's tile), one slice per thread; each
     * output's sum does not depend on the split */
    j.chunk = ((n + nt - 1) / nt + 47) / 48 * 48;
    ss_pool_for(pool, (size_t)((n + j.chunk - 1) / j.chunk), gemm_task, &j);
}
