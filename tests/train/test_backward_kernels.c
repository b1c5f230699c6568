/* test_backward_kernels.c — every *_backward kernel against PyTorch autograd
 * (tests/golden/train/kernels.bin from tools/reference/make_train_goldens.py):
 * the reference computes sum(out * dout) for a random dout and dumps the
 * gradients; we run forward + backward in C and compare with a relative
 * tolerance of 1e-5 (elements below 0.1 in magnitude: 1e-6 absolute). */
#include "kernels/backward.h"
#include "model/config.h"
#include "model/pooling.h"

#include "golden.h"
#include "test.h"

#define RTOL 1e-5
#define ATOL 1e-6
#define CMP(what, got, want, n) CHECK(gt_compare(what, got, want, n, RTOL, ATOL) <= RTOL)

static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static void test_layernorm(gt_file *g) {
    gt_tensor *tx = gt_get(g, "ln.x");
    int N = tx->dims[0], C = tx->dims[1];
    float *out = zeros((size_t)N * C), *mean = zeros(N), *rstd = zeros(N);
    float *dx = zeros((size_t)N * C), *dw = zeros(C), *db = zeros(C);
    ss_ref_layernorm_forward(out, mean, rstd, gt_f(g, "ln.x"), gt_f(g, "ln.w"), gt_f(g, "ln.b"), N, C, 1e-12f);
    CMP("layernorm out", out, gt_f(g, "ln.out"), (size_t)N * C);
    ss_layernorm_backward(dx, dw, db, gt_f(g, "ln.dout"), gt_f(g, "ln.x"), gt_f(g, "ln.w"), mean, rstd, N, C);
    CMP("layernorm dinp", dx, gt_f(g, "ln.dx"), (size_t)N * C);
    CMP("layernorm dweight", dw, gt_f(g, "ln.dw"), C);
    CMP("layernorm dbias", db, gt_f(g, "ln.db"), C);
    /* += semantics: a second backward doubles the gradients */
    ss_layernorm_backward(dx, dw, db, gt_f(g, "ln.dout"), gt_f(g, "ln.x"), gt_f(g, "ln.w"), mean, rstd, N, C);
    CHECK(fabsf(db[0] - 2 * gt_f(g, "ln.db")[0]) <= 1e-5f * fabsf(db[0]) + 1e-6f);
    free(out), free(mean), free(rstd), free(dx), free(dw), free(db);
}

static void test_gelu(gt_file *g) {
    size_t n = gt_get(g, "gelu.x")->n;
    float *dx = zeros(n);
    ss_gelu_backward(dx, gt_f(g, "gelu.x"), gt_f(g, "gelu.dout"), n);
    CMP("gelu (erf) dinp", dx, gt_f(g, "gelu.dx"), n);
    memset(dx, 0, n * sizeof(float));
    ss_gelu_tanh_backward(dx, gt_f(g, "gelu.x"), gt_f(g, "gelu.dout"), n);
    CMP("gelu (tanh) dinp", dx, gt_f(g, "gelu_tanh.dx"), n);
    free(dx);
}

static void test_softmax(gt_file *g) {
    gt_tensor *ts = gt_get(g, "sm.s");
    int R = ts->dims[0], n = ts->dims[1];
    float scale = gt_f(g, "sm.scale")[0];
    float *p = zeros((size_t)R * n), *ds = zeros((size_t)R * n);
    uint8_t *mask = malloc((size_t)n);
    for (int r = 0; r < R; r++) {
        for (int j = 0; j < n; j++) mask[j] = (uint8_t)gt_i(g, "sm.mask")[r * n + j];
        ss_softmax_masked_forward(p + r * n, gt_f(g, "sm.s") + r * n, mask, n, scale);
        ss_softmax_backward(ds + r * n, p + r * n, gt_f(g, "sm.dp") + r * n, n, scale);
    }
    CMP("softmax probs", p, gt_f(g, "sm.p"), (size_t)R * n);
    CMP("softmax dscores", ds, gt_f(g, "sm.ds"), (size_t)R * n);
    free(p), free(ds), free(mask);
}

/* The reference runs on a padded batch [B, Lm, H]; C runs packed. */
static void test_attention(gt_file *g) {
    gt_tensor *tq = gt_get(g, "att.q"), *tb = gt_get(g, "att.bias");
    int B = tq->dims[0], Lm = tq->dims[1], H = tq->dims[2], nh = tb->dims[1], d = H / nh;
    const int32_t *lens = gt_i(g, "att.lens");
    int *off = malloc(sizeof(int) * (B + 1));
    off[0] = 0;
    for (int b = 0; b < B; b++) off[b + 1] = off[b] + lens[b];
    int T = off[B];
    /* packed qkv [T, 3H] as the encoder keeps it, and ctx/dctx [T, H] */
    float *qkv = zeros((size_t)T * 3 * H), *dqkv = zeros((size_t)T * 3 * H);
    float *dctx = zeros((size_t)T * H), *ctx = zeros((size_t)T * H);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < lens[b]; i++) {
            size_t src = ((size_t)b * Lm + i) * H, dst = (size_t)(off[b] + i);
            memcpy(qkv + dst * 3 * H, gt_f(g, "att.q") + src, H * sizeof(float));
            memcpy(qkv + dst * 3 * H + H, gt_f(g, "att.k") + src, H * sizeof(float));
            memcpy(qkv + dst * 3 * H + 2 * H, gt_f(g, "att.v") + src, H * sizeof(float));
            memcpy(dctx + dst * H, gt_f(g, "att.dctx") + src, H * sizeof(float));
        }
    size_t na = ss_attention_att_size(off, B, nh);
    float *att = zeros(na), *bias = zeros(na), *dsc = zeros(na), *scratch = zeros(Lm);
    size_t a = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < nh; h++)
            for (int i = 0; i < lens[b]; i++)
                for (int j = 0; j < lens[b]; j++)
                    bias[a++] = gt_f(g, "att.bias")[(((size_t)b * nh + h) * Lm + i) * Lm + j];
    ss_ref_attention_forward(ctx, H, att, qkv, qkv + H, qkv + 2 * H, 3 * H, bias, off, B, nh, d);
    ss_attention_backward(dqkv, dqkv + H, dqkv + 2 * H, 3 * H, dsc, dctx, H, att, qkv, qkv + H, qkv + 2 * H, 3 * H,
                          off, B, nh, d, scratch);
    /* unpack into padded zero tensors: padded rows/keys must get zero gradient, as in torch */
    size_t np = (size_t)B * Lm * H, npa = (size_t)B * nh * Lm * Lm;
    float *P = zeros(npa), *DB = zeros(npa), *C = zeros(np), *DQ = zeros(np), *DK = zeros(np), *DV = zeros(np);
    a = 0;
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < nh; h++)
            for (int i = 0; i < lens[b]; i++)
                for (int j = 0; j < lens[b]; j++, a++) {
                    size_t idx = (((size_t)b * nh + h) * Lm + i) * Lm + j;
                    P[idx] = att[a];
                    DB[idx] = dsc[a];
                }
        for (int i = 0; i < lens[b]; i++) {
            size_t dst = ((size_t)b * Lm + i) * H, src = (size_t)(off[b] + i);
            memcpy(C + dst, ctx + src * H, H * sizeof(float));
            memcpy(DQ + dst, dqkv + src * 3 * H, H * sizeof(float));
            memcpy(DK + dst, dqkv + src * 3 * H + H, H * sizeof(float));
            memcpy(DV + dst, dqkv + src * 3 * H + 2 * H, H * sizeof(float));
        }
    }
    /* padded query rows of the reference's P are a softmax over real keys too; compare real rows only */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < nh; h++)
            for (int i = lens[b]; i < Lm; i++)
                memcpy(P + (((size_t)b * nh + h) * Lm + i) * Lm, gt_f(g, "att.p") + (((size_t)b * nh + h) * Lm + i) * Lm,
                       Lm * sizeof(float));
    CMP("attention probs", P, gt_f(g, "att.p"), npa);
    /* ctx of padded query rows is meaningless (no gradient reaches them): take the reference's */
    for (int b = 0; b < B; b++)
        for (int i = lens[b]; i < Lm; i++)
            memcpy(C + ((size_t)b * Lm + i) * H, gt_f(g, "att.ctx") + ((size_t)b * Lm + i) * H, H * sizeof(float));
    CMP("attention ctx", C, gt_f(g, "att.ctx"), np);
    CMP("attention dq", DQ, gt_f(g, "att.dq"), np);
    CMP("attention dk", DK, gt_f(g, "att.dk"), np);
    CMP("attention dv", DV, gt_f(g, "att.dv"), np);
    CMP("attention dbias", DB, gt_f(g, "att.dbias"), npa);
    free(off), free(qkv), free(dqkv), free(dctx), free(ctx), free(att), free(bias), free(dsc), free(scratch);
    free(P), free(DB), free(C), free(DQ), free(DK), free(DV);
}

static void test_linear(gt_file *g) {
    gt_tensor *tx = gt_get(g, "lin.x"), *tw = gt_get(g, "lin.w");
    int m = tx->dims[0], k = tx->dims[1], n = tw->dims[0];
    float *dx = zeros((size_t)m * k), *dw = zeros((size_t)n * k), *db = zeros(n);
    ss_linear_backward(dx, dw, db, gt_f(g, "lin.dout"), gt_f(g, "lin.x"), gt_f(g, "lin.w"), m, k, n);
    CMP("linear dinp", dx, gt_f(g, "lin.dx"), (size_t)m * k);
    CMP("linear dweight", dw, gt_f(g, "lin.dw"), (size_t)n * k);
    CMP("linear dbias", db, gt_f(g, "lin.db"), n);
    free(dx), free(dw), free(db);
}

static void test_embedding(gt_file *g) {
    gt_tensor *tt = gt_get(g, "emb.dtable"), *ti = gt_get(g, "emb.ids");
    float *dt = zeros(tt->n);
    ss_embedding_backward(dt, gt_f(g, "emb.dout"), gt_i(g, "emb.ids"), (int)ti->n, tt->dims[1]);
    CMP("embedding dtable", dt, gt_f(g, "emb.dtable"), tt->n);
    free(dt);
}

static void test_pooling(gt_file *g) {
    gt_tensor *th = gt_get(g, "pool.h"), *to = gt_get(g, "pool.out");
    int B = th->dims[0], Lm = th->dims[1], H = th->dims[2], P = to->dims[1];
    const int32_t *lens = gt_i(g, "pool.lens");
    ss_pooling_config pc = {.cls = 1, .max = 1, .mean = 1, .mean_sqrt_len = 1, .weightedmean = 1, .lasttoken = 1};
    ss_pool_modes pm = {1, 1, 1, 1, 1, 1};
    REQUIRE(ss_pooling_count(&pc) * H == P);
    float *out = zeros((size_t)B * P), *dh = zeros(th->n);
    for (int b = 0; b < B; b++) {
        const float *h = gt_f(g, "pool.h") + (size_t)b * Lm * H;
        ss_pool_sequence(&pc, h, lens[b], H, 0, out + (size_t)b * P);
        ss_pool_backward(&pm, dh + (size_t)b * Lm * H, gt_f(g, "pool.dout") + (size_t)b * P, h, lens[b], H, 0);
    }
    CMP("pooling out (6 modes)", out, gt_f(g, "pool.out"), (size_t)B * P);
    CMP("pooling dh (6 modes)", dh, gt_f(g, "pool.dh"), th->n);
    free(out), free(dh);
}

static void test_normalize(gt_file *g) {
    gt_tensor *tx = gt_get(g, "norm.x");
    float *dx = zeros(tx->n);
    ss_normalize_backward(dx, gt_f(g, "norm.dy"), gt_f(g, "norm.x"), tx->dims[0], tx->dims[1]);
    CMP("normalize dx", dx, gt_f(g, "norm.dx"), tx->n);
    free(dx);
}

/* Dropout cannot match torch's RNG; check what defines it: the keep rate, the
 * 1/(1-p) scale, replay from the same seed, and a backward through the mask. */
static void test_dropout(void) {
    size_t n = 100000;
    float p = 0.1f, *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float)), *y2 = malloc(n * sizeof(float));
    float *dx = zeros(n);
    uint8_t *m = malloc(n), *m2 = malloc(n);
    for (size_t i = 0; i < n; i++) x[i] = (float)i * 1e-3f + 1.0f;
    ss_rng r, r2;
    ss_rng_seed(&r, 42);
    ss_rng_seed(&r2, 42);
    ss_dropout_forward(y, m, x, n, p, &r);
    ss_dropout_forward(y2, m2, x, n, p, &r2);
    CHECK(memcmp(m, m2, n) == 0 && memcmp(y, y2, n * sizeof(float)) == 0);
    size_t kept = 0;
    int scale_ok = 1, back_ok = 1;
    for (size_t i = 0; i < n; i++) {
        kept += m[i];
        if (m[i] ? y[i] != x[i] * (1.0f / (1.0f - p)) : y[i] != 0.0f) scale_ok = 0;
    }
    double rate = (double)kept / n, sigma = sqrt(p * (1 - p) / n);
    printf("  dropout p=0.1: kept %.4f (expect 0.9 +- %.4f)\n", rate, 4 * sigma);
    CHECK(fabs(rate - 0.9) < 4 * sigma);
    CHECK(scale_ok);
    ss_dropout_backward(dx, x, m, n, p);
    for (size_t i = 0; i < n; i++)
        if (dx[i] != y[i]) back_ok = 0; /* the op is linear: backward of dout = x equals forward of x */
    CHECK(back_ok);
    ss_rng_seed(&r2, 43);
    ss_dropout_forward(y2, m2, x, n, p, &r2);
    CHECK(memcmp(m, m2, n) != 0);
    ss_dropout_forward(y2, m2, x, n, 0.0f, &r2);
    CHECK(memcmp(y2, x, n * sizeof(float)) == 0);
    free(x), free(y), free(y2), free(dx), free(m), free(m2);
}

int main(void) {
    gt_file g;
    REQUIRE(gt_load(&g, SEMSEARCH_TESTS_DIR "/golden/train/kernels.bin") == 0);
    test_layernorm(&g);
    test_gelu(&g);
    test_softmax(&g);
    test_attention(&g);
    test_linear(&g);
    test_embedding(&g);
    test_pooling(&g);
    test_normalize(&g);
    test_dropout();
    gt_free(&g);
    return TEST_REPORT();
}
