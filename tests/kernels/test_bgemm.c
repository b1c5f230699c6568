/* test_bgemm — the bf16 GEMM (src/kernels/bgemm.c) against a scalar
 * reference written here from the instruction definitions (bgemm.h):
 *   - ss_bf16_from_f32: round to nearest even (ties both ways), denormals to
 *     signed zero, NaN quiet, infinity kept, carry into infinity; and the
 *     AVX512_BF16 activation conversion gives the same bits as it;
 *   - the weight panels hold bf16(w) at every [n, j], zeros in the padding;
 *   - the AVX512_BF16 kernel equals the reference bit for bit (fp32
 *     accumulation in vdpbf16ps's order: per pair, fma with the odd element,
 *     then the even one, denormal results flushed), on odd shapes (k not a
 *     multiple of 2/32, n not a multiple of 16/48, T = 1..) and any column
 *     split; the AMX kernel (where the CPU and OS run it) is within the fp32
 *     summation bound of the exact dot product of the same bf16 operands;
 *   - vs fp32 sgemm: within the bf16 rounding bound.
 * Where the CPU has no AVX512_BF16 only the rounding is tested (the kernel
 * cannot run), and the test says so. */
#include <cblas.h>
#include <float.h>
#include <stdint.h>

#include "kernels/bgemm.h"
#include "test.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / (1ull << 24))) * 2.0f - 1.0f;
}

static float bits_f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float daz(float v) { return fpclassify(v) == FP_SUBNORMAL ? copysignf(0.0f, v) : v; }

/* One output of vdpbf16ps, a whole row · column, then the bias. */
static float ref_dot(const uint16_t *a, const ss_bweight *w, int n, int kp, const float *b) {
    float acc = 0.0f;
    for (int j = 0; j < kp; j += 2)
        for (int i = j + 1; i >= j; i--) /* the odd element of each pair first */
            acc = daz(fmaf(daz(ss_bf16_to_f32(a[i])), daz(ss_bf16_to_f32(ss_bweight_at(w, n, i))), acc));
    return b ? acc + b[n] : acc;
}

/* The exact dot product of the same bf16 operands (double: each product has
 * 16 significant bits) and the sum of |products|, for AMX: tdpbf16ps's fp32
 * accumulation does not follow the SDM pseudo-code's rounding steps bit for
 * bit on this hardware (pairwise / per-tile / fused variants were tried, none
 * matched), so its outputs are checked against the exact value within the
 * fp32 summation bound k · 2^-24 · Σ|p| — which a single wrongly rounded
 * operand (2^-9 relative) would exceed. */
static double exact_dot(const uint16_t *a, const ss_bweight *w, int n, int kp, double *mag) {
    double s = 0, m = 0;
    for (int j = 0; j < kp; j++) {
        double p = (double)ss_bf16_to_f32(a[j]) * ss_bf16_to_f32(ss_bweight_at(w, n, j));
        s += p, m += fabs(p);
    }
    *mag = m;
    return s;
}

static void rounding(void) {
    CHECK(ss_bf16_from_f32(1.0f) == 0x3F80);
    CHECK(ss_bf16_from_f32(bits_f(0x3F808000u)) == 0x3F80); /* tie, even stays */
    CHECK(ss_bf16_from_f32(bits_f(0x3F818000u)) == 0x3F82); /* tie, odd rounds up */
    CHECK(ss_bf16_from_f32(bits_f(0x3F808001u)) == 0x3F81); /* above the tie */
    CHECK(ss_bf16_from_f32(bits_f(0x3F807FFFu)) == 0x3F80); /* below the tie */
    CHECK(ss_bf16_from_f32(-0.0f) == 0x8000);
    CHECK(ss_bf16_from_f32(bits_f(0x00400000u)) == 0x0000);  /* denormal -> +0 */
    CHECK(ss_bf16_from_f32(bits_f(0x80000001u)) == 0x8000);  /* denormal -> -0 */
    CHECK(ss_bf16_from_f32(INFINITY) == 0x7F80 && ss_bf16_from_f32(-INFINITY) == 0xFF80);
    CHECK(ss_bf16_from_f32(bits_f(0x7F800001u)) == 0x7FC0);  /* signalling NaN -> quiet */
    CHECK(ss_bf16_from_f32(FLT_MAX) == 0x7F80);              /* rounds up into infinity */
    CHECK(ss_bf16_to_f32(0x3F80) == 1.0f && ss_bf16_to_f32(0xC000) == -2.0f);
    /* the SIMD conversion: random finite values of every magnitude, ties, specials */
    enum { K = 1000 };
    static float x[2 * K];
    for (int i = 0; i < 2 * K; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        uint32_t u = (uint32_t)(rng >> 32);
        if (i % 7 == 0) u = (u & 0xFFFF0000u) | 0x8000u; /* exact ties */
        x[i] = bits_f(u);
    }
    x[3] = NAN, x[5] = INFINITY, x[9] = -0.0f, x[11] = bits_f(0x00000001u);
    ss_bact a = {0};
    ss_error err = {0};
    REQUIRE(ss_bact_reserve(&a, 2, K, &err) == SS_OK);
    ss_bact_convert_rows(&a, x, 0, 2);
    int bad = 0;
    for (int t = 0; t < 2; t++) {
        for (int j = 0; j < K; j++) {
            uint16_t want = ss_bf16_from_f32(x[t * K + j]), got = a.data[(size_t)t * a.k_pad + j];
            /* NaN payloads: only quietness is defined */
            if (isnan(x[t * K + j])) bad += (got & 0x7FC0) != 0x7FC0;
            else bad += got != want;
        }
        for (int j = K; j < a.k_pad; j++) bad += a.data[(size_t)t * a.k_pad + j] != 0;
    }
    CHECKF(bad == 0, "%s conversion: %d of %d values differ from ss_bf16_from_f32",
           ss_bgemm_available() ? "AVX512_BF16" : "scalar", bad, 2 * K);
    ss_bact_free(&a);
}

static void run_shape_isa(int T, int k, int n, int with_bias, int amx) {
    float *x = malloc(sizeof(float) * T * k), *w = malloc(sizeof(float) * n * k), *b = malloc(sizeof(float) * n);
    float *y = malloc(sizeof(float) * T * n), *yf = malloc(sizeof(float) * T * n);
    REQUIRE(x && w && b && y && yf);
    for (int i = 0; i < T * k; i++) x[i] = frand() * 3.0f;
    for (int i = 0; i < n * k; i++) w[i] = frand() * 0.1f;
    for (int i = 0; i < n; i++) b[i] = frand();
    ss_bweight q;
    ss_bact a = {0};
    ss_error err = {0};
    REQUIRE(ss_bweight_init_isa(&q, w, n, k, amx, &err) == SS_OK);
    REQUIRE(q.amx == amx);
    REQUIRE(ss_bact_reserve(&a, T, k, &err) == SS_OK);
    ss_bact_convert_rows(&a, x, 0, T);
    int bad = 0;
    for (int c = 0; c < n; c++) {
        for (int j = 0; j < k; j++) bad += ss_bweight_at(&q, c, j) != ss_bf16_from_f32(w[(size_t)c * k + j]);
        for (int j = k; j < q.k_pad; j++) bad += ss_bweight_at(&q, c, j) != 0;
    }
    CHECKF(bad == 0, "n %d k %d: %d weight panel entries wrong", n, k, bad);
    const float *bb = with_bias ? b : NULL;
    for (int split = 0; split < 2; split++) {
        memset(y, 0x55, sizeof(float) * T * n);
        if (!split) {
            ss_bgemm_cols(&a, &q, bb, y, n, 0, n);
        } else { /* three uneven slices, as a pool would cut them */
            int c1 = n / 3, c2 = c1 + (n - c1) / 2 + 1 > n ? n : c1 + (n - c1) / 2 + 1;
            ss_bgemm_cols(&a, &q, bb, y, n, 0, c1);
            ss_bgemm_cols(&a, &q, bb, y, n, c1, c2);
            ss_bgemm_cols(&a, &q, bb, y, n, c2, n);
        }
        int diff = 0;
        for (int t = 0; t < T; t++)
            for (int c = 0; c < n; c++) {
                const uint16_t *ar = a.data + (size_t)t * a.k_pad;
                float got = y[(size_t)t * n + c];
                if (!amx) {
                    float r = ref_dot(ar, &q, c, a.k_pad, bb);
                    diff += memcmp(&r, &got, 4) != 0;
                } else {
                    double mag, e = exact_dot(ar, &q, c, a.k_pad, &mag), bv = bb ? bb[c] : 0;
                    double bound = (k + 2) * 0x1p-24 * (mag + fabs(bv)) + 1e-30;
                    diff += !(fabs((double)got - (e + bv)) <= bound);
                }
            }
        CHECKF(diff == 0, "%s T %d k %d n %d%s: %d outputs differ from the scalar reference (avx512: bit for bit; amx: fp32 summation bound)",
               amx ? "amx" : "avx512", T, k, n, split ? " (split columns)" : "", diff);
    }
    /* vs fp32: each product is off by at most 2^-8 relative per operand */
    for (int t = 0; t < T; t++) memcpy(yf + (size_t)t * n, b, sizeof(float) * n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, k, 1.0f, x, k, w, k, with_bias ? 1.0f : 0.0f, yf, n);
    int over = 0;
    for (int t = 0; t < T; t++)
        for (int c = 0; c < n; c++) {
            double mag = 0;
            for (int j = 0; j < k; j++) mag += fabs((double)x[(size_t)t * k + j] * w[(size_t)c * k + j]);
            double bound = mag * (2 * 0.00390625 + 1e-5) + 1e-6;
            over += fabs((double)y[(size_t)t * n + c] - yf[(size_t)t * n + c]) > bound;
        }
    CHECKF(over == 0, "T %d k %d n %d: %d outputs outside the bf16 rounding bound vs sgemm", T, k, n, over);
    ss_bact_free(&a);
    ss_bweight_free(&q);
    free(x), free(w), free(b), free(y), free(yf);
}

static int amx_too;
static void run_shape(int T, int k, int n, int with_bias) {
    run_shape_isa(T, k, n, with_bias, 0);
    if (amx_too) run_shape_isa(T, k, n, with_bias, 1);
}

int main(void) {
    rounding();
    if (!ss_bgemm_available()) {
        printf("this CPU has no AVX512_BF16: the bf16 kernel cannot run here; rounding tested only\n");
        return TEST_REPORT();
    }
    amx_too = ss_bgemm_amx_available();
    printf("kernel avx512-bf16 runs on this CPU: tested against the scalar reference\n");
    printf("kernel amx-bf16 %s\n", amx_too ? "runs on this CPU: tested against the exact dot product"
                                             : "not available (CPU or OS): not run");
    ss_bweight q;
    ss_error err = {0};
    float bad[4] = {1, 2, NAN, 4};
    CHECK(ss_bweight_init(&q, bad, 2, 2, &err) == SS_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "row 1, column 0");
    static const int Ts[] = {1, 2, 3, 7, 8, 9, 17};
    static const int ks[] = {1, 2, 3, 31, 32, 33, 64, 100};
    static const int ns[] = {1, 5, 16, 17, 33, 48, 49, 97};
    for (size_t i = 0; i < sizeof Ts / sizeof *Ts; i++)
        for (size_t j = 0; j < sizeof ks / sizeof *ks; j++)
            for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) run_shape(Ts[i], ks[j], ns[c], (i + j + c) & 1);
    run_shape(97, 384, 1152, 1); /* MiniLM-like */
    run_shape(50, 1536, 384, 1);
    run_shape(33, 64, 40, 1); /* AMX: a 32-row block plus 1, an odd panel count */
    return TEST_REPORT();
}
