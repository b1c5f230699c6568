/* test_qgemm — int8 GEMM kernels (src/kernels/qgemm.c) against a scalar
 * reference written here from quant.h's definitions:
 *   - quantisation: every weight / activation code reconstructs its input to
 *     within half a step; zero is exact; ranges, zero points and padding;
 *   - every kernel set this CPU runs (scalar, avx2, avx512-vnni, amx-int8) gives the
 *     reference's int32 sums bit for bit, on odd shapes (k not a multiple of
 *     16/64, n not a multiple of the tile, T = 1..) and on any column split;
 *   - the fp32 outputs of all kernel sets are bit-identical;
 *   - dequantised outputs vs fp32 sgemm: within the analytic bound of the
 *     rounding errors, and under 3% relative (Frobenius) error overall. */
#include <cblas.h>
#include <stdint.h>

#include "kernels/qgemm.h"
#include "test.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / (1ull << 24))) * 2.0f - 1.0f;
}
static float grand(void) { return (frand() + frand() + frand()) * 0.6f; }

static const ss_qgemm_kernel *kernels[4];
static int n_kernels;

/* Reference: exact sums with the zero point removed, from the codes. */
static void ref_s32(const ss_qact *a, const ss_qweight *w, int32_t *out) {
    for (int t = 0; t < a->T; t++)
        for (int n = 0; n < w->n; n++) {
            int64_t s = 0;
            for (int j = 0; j < w->k; j++)
                s += (int64_t)(ss_qact_code(a, t, j) - a->zp[t]) * w->w[(size_t)n * w->k_pad + j];
            out[(size_t)t * w->n + n] = (int32_t)s;
        }
}

static void check_quant(const float *x, int T, int k, const ss_qact *a, const float *w, int n, const ss_qweight *q) {
    int bad = 0, padbad = 0;
    for (int t = 0; t < T; t++) {
        float s = a->scale[t];
        for (int j = 0; j < k; j++) {
            float r = (float)(ss_qact_code(a, t, j) - a->zp[t]) * s;
            if (!(fabsf(r - x[(size_t)t * k + j]) <= 0.5f * s * 1.001f + 1e-7f)) bad++;
        }
        for (int j = k; j < a->k_pad; j++) padbad += ss_qact_code(a, t, j) != 0;
        if (a->zp[t] < 0 || a->zp[t] > 255) bad++;
    }
    CHECKF(bad == 0, "T %d k %d: %d activation codes off by more than half a step", T, k, bad);
    bad = 0;
    for (int r = 0; r < n; r++) {
        int32_t sum = 0;
        for (int j = 0; j < k; j++) {
            int8_t c = q->w[(size_t)r * q->k_pad + j];
            sum += c;
            if (c < -127) bad++;
            if (!(fabsf(c * q->scale[r] - w[(size_t)r * k + j]) <= 0.5f * q->scale[r] * 1.001f + 1e-7f)) bad++;
        }
        for (int j = k; j < q->k_pad; j++) padbad += q->w[(size_t)r * q->k_pad + j] != 0;
        if (sum != q->wsum[r]) bad++;
    }
    CHECKF(bad == 0, "n %d k %d: %d weight codes / sums wrong", n, k, bad);
    CHECKF(padbad == 0, "k %d: %d padding codes are not zero", k, padbad);
}

static void run_shape(int T, int k, int n, int with_bias) {
    float *x = malloc(sizeof(float) * T * k), *w = malloc(sizeof(float) * n * k), *b = malloc(sizeof(float) * n);
    float *yf = malloc(sizeof(float) * T * n), *y0 = malloc(sizeof(float) * T * n), *y = malloc(sizeof(float) * T * n);
    int32_t *ref = malloc(sizeof(int32_t) * T * n), *acc = malloc(sizeof(int32_t) * T * n);
    REQUIRE(x && w && b && yf && y0 && y && ref && acc);
    for (int i = 0; i < T * k; i++) x[i] = grand() * 2.0f;
    /* GELU-like rows (skewed, >= -0.17) on odd rows: the FFN-out input */
    for (int t = 1; t < T; t += 2)
        for (int j = 0; j < k; j++) {
            float v = x[(size_t)t * k + j];
            x[(size_t)t * k + j] = v > 0 ? v * v : -0.17f * fabsf(frand());
        }
    for (int i = 0; i < n * k; i++) w[i] = grand() * 0.05f;
    for (int i = 0; i < n; i++) b[i] = frand();
    ss_qweight q;
    ss_error err = {0};
    REQUIRE(ss_qweight_init(&q, w, n, k, &err) == SS_OK);

    /* fp32 reference */
    for (int t = 0; t < T; t++) memcpy(yf + (size_t)t * n, b, sizeof(float) * n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, k, 1.0f, x, k, w, k, with_bias ? 1.0f : 0.0f, yf, n);

    for (int ki = 0; ki < n_kernels; ki++) {
        const ss_qgemm_kernel *kern = kernels[ki];
        ss_qact a = {0};
        REQUIRE(ss_qact_quantize(&a, x, T, k, kern->wide, &err) == SS_OK);
        if (ki == 0 || kern->wide != kernels[0]->wide) check_quant(x, T, k, &a, w, n, &q);
        /* the SIMD quantisers (the best one, then AVX2) write the scalar one's codes */
        for (int simd = 1; simd <= 2 && ss_qact_simd_available(); simd++) {
            ss_qact s0 = {0};
            REQUIRE(ss_qact_reserve(&s0, T, k, kern->wide, &err) == SS_OK);
            ss_qact_quantize_rows_isa(&s0, x, 0, T, 0);
            ss_qact_quantize_rows_isa(&a, x, 0, T, simd);
            CHECKF(!memcmp(s0.data, a.data, (size_t)T * a.k_pad * (kern->wide ? 2 : 1)) &&
                       !memcmp(s0.scale, a.scale, sizeof(float) * T) && !memcmp(s0.zp, a.zp, sizeof(int32_t) * T),
                   "T %d k %d wide %d: SIMD quantisation %d and scalar differ", T, k, kern->wide, simd);
            ss_qact_free(&s0);
        }
        ref_s32(&a, &q, ref);
        /* full range, then three uneven column slices (as the encoder's pool splits them) */
        memset(acc, 0x55, sizeof(int32_t) * T * n);
        ss_qgemm_cols_s32(kern, &a, &q, acc, n, 0, n);
        CHECKF(!memcmp(acc, ref, sizeof(int32_t) * T * n), "%s T %d k %d n %d: int32 sums differ", kern->name, T, k,
               n);
        memset(acc, 0x55, sizeof(int32_t) * T * n);
        int c1 = n / 3, c2 = c1 + (n - c1) / 2 + 1 > n ? n : c1 + (n - c1) / 2 + 1;
        ss_qgemm_cols_s32(kern, &a, &q, acc, n, 0, c1);
        ss_qgemm_cols_s32(kern, &a, &q, acc, n, c1, c2);
        ss_qgemm_cols_s32(kern, &a, &q, acc, n, c2, n);
        CHECKF(!memcmp(acc, ref, sizeof(int32_t) * T * n), "%s T %d k %d n %d: split columns differ", kern->name, T,
               k, n);
        ss_qgemm_cols(kern, &a, &q, with_bias ? b : NULL, ki ? y : y0, n, 0, n);
        if (ki) {
            CHECKF(!memcmp(y, y0, sizeof(float) * T * n), "%s T %d k %d n %d: fp32 output differs from %s",
                   kern->name, T, k, n, kernels[0]->name);
        } else {
            /* analytic bound: |Δy| <= Σ_j |Δa_j||w_j| + |a_j||Δw_j| + |Δa_j||Δw_j| + fp32 rounding */
            int over = 0;
            double e2 = 0, f2 = 0;
            for (int t = 0; t < T; t++)
                for (int c = 0; c < n; c++) {
                    double bound = 0, mag = 0;
                    for (int j = 0; j < k; j++) {
                        double ha = 0.5 * a.scale[t], hw = 0.5 * q.scale[c];
                        double xa = fabs(x[(size_t)t * k + j]), wa = fabs(w[(size_t)c * k + j]);
                        bound += ha * wa + xa * hw + ha * hw;
                        mag += xa * wa;
                    }
                    bound += 1e-5 * (mag + fabs(b[c])) + 1e-6;
                    double d = (double)y0[(size_t)t * n + c] - yf[(size_t)t * n + c];
                    if (fabs(d) > bound) over++;
                    e2 += d * d;
                    f2 += (double)yf[(size_t)t * n + c] * yf[(size_t)t * n + c];
                }
            double rel = sqrt(e2 / (f2 > 0 ? f2 : 1));
            CHECKF(over == 0, "T %d k %d n %d: %d outputs outside the quantisation error bound", T, k, n, over);
            /* (a handful of outputs can cancel to near 0: only the bound applies there) */
            if (T * n >= 64) CHECKF(rel < 0.03, "T %d k %d n %d: relative error %.4f vs fp32 sgemm", T, k, n, rel);
            if (T * k * n >= 100000)
                printf("  T %4d k %4d n %4d: relative error vs fp32 sgemm %.4f\n", T, k, n, rel);
        }
        ss_qact_free(&a);
    }
    ss_qweight_free(&q);
    free(x), free(w), free(b), free(yf), free(y0), free(y), free(ref), free(acc);
}

static void edge_cases(void) {
    ss_error err = {0};
    /* rows: all zero, constant positive, all negative, one huge value */
    enum { T = 4, K = 70, N = 5 };
    float x[T * K], w[N * K];
    for (int j = 0; j < K; j++) {
        x[j] = 0, x[K + j] = 3.0f, x[2 * K + j] = -1.0f - j * 0.01f, x[3 * K + j] = j == 5 ? 1e6f : 0.001f * j;
    }
    for (int i = 0; i < N * K; i++) w[i] = frand();
    for (int j = 0; j < K; j++) w[2 * K + j] = 0; /* an all-zero weight row */
    ss_qweight q;
    REQUIRE(ss_qweight_init(&q, w, N, K, &err) == SS_OK);
    CHECK(q.scale[2] == 1.0f && q.wsum[2] == 0);
    for (int ki = 0; ki < n_kernels; ki++) {
        ss_qact a = {0};
        REQUIRE(ss_qact_quantize(&a, x, T, K, kernels[ki]->wide, &err) == SS_OK);
        CHECK(a.zp[0] == 0 && a.scale[0] == 1.0f);         /* zero row */
        CHECK(a.zp[1] == 0 && ss_qact_code(&a, 1, 0) == 255); /* [0, 3] */
        CHECK(a.zp[2] == 255 && ss_qact_code(&a, 2, 0) < 255); /* [-1.69, 0] */
        float y[T * N];
        int32_t acc[T * N], ref[T * N];
        ss_qgemm_cols(kernels[ki], &a, &q, NULL, y, N, 0, N);
        ss_qgemm_cols_s32(kernels[ki], &a, &q, acc, N, 0, N);
        ref_s32(&a, &q, ref);
        CHECKF(!memcmp(acc, ref, sizeof acc), "%s: edge-case int32 sums differ", kernels[ki]->name);
        for (int c = 0; c < N; c++) CHECK(y[c] == 0.0f); /* zero row -> exactly 0 */
        for (int i = 0; i < T * N; i++) CHECK(isfinite(y[i]));
        ss_qact_free(&a);
    }
    ss_qweight_free(&q);
    /* a NaN weight is refused, naming where */
    w[3 * K + 9] = NAN;
    CHECK(ss_qweight_init(&q, w, N, K, &err) == SS_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "row 3, column 9");
    CHECK(q.w == NULL);
    CHECK(ss_qweight_init(&q, w, 0, K, &err) == SS_ERR_INVALID);
    /* NaN activations quantise to some code (no undefined behaviour), the rest stays exact */
    x[K + 3] = NAN;
    ss_qact a = {0};
    CHECK(ss_qact_quantize(&a, x, T, K, 0, &err) == SS_OK);
    CHECK(ss_qact_code(&a, 1, 4) == 255);
    ss_qact_free(&a);
}

int main(void) {
    static const ss_qisa isas[] = {SS_QISA_SCALAR, SS_QISA_AVX2, SS_QISA_AVX512_VNNI, SS_QISA_AMX};
    static const char *names[] = {"scalar", "avx2", "avx512-vnni", "amx-int8"};
    for (int i = 0; i < 4; i++) {
        const ss_qgemm_kernel *k = ss_qgemm_for(isas[i]);
        printf("kernel set %-12s %s\n", names[i], k ? "runs on this CPU: tested" : "not supported by this CPU: not run");
        if (k) kernels[n_kernels++] = k;
    }
    REQUIRE(n_kernels >= 1 && !strcmp(kernels[0]->name, "scalar"));
    printf("best: %s; activation quantiser: %s\n", ss_qgemm_best()->name,
           ss_qact_simd_available() ? "simd (avx512 and/or avx2, tested against scalar)" : "scalar");
    edge_cases();
    static const int Ts[] = {1, 2, 3, 4, 5, 7, 13};
    static const int ks[] = {1, 15, 16, 17, 31, 33, 63, 64, 65, 100, 129};
    static const int ns[] = {1, 2, 3, 4, 5, 7, 10, 49};
    for (size_t a = 0; a < sizeof Ts / sizeof *Ts; a++)
        for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
            for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) run_shape(Ts[a], ks[b], ns[c], (a + b + c) & 1);
    /* MiniLM-like shapes (block edges at 48 rows / columns) */
    run_shape(97, 384, 1152, 1);
    run_shape(50, 1536, 384, 1);
    run_shape(129, 384, 99, 0);
    run_shape(33, 64, 40, 1); /* AMX: a 32-row block plus 1, an odd panel count */
    return TEST_REPORT();
}
