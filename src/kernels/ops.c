/* ops.c — elementwise / row kernels for the transformer forward pass.
 *
 * GELU needs erf and softmax needs exp; libm's scalar erff/expf would cost as
 * much as a third of the GEMM time, so both are evaluated with branch-free
 * polynomial approximations in 8-wide AVX2+FMA code:
 *   exp:  x = n·ln2 + r, |r| ≤ ln2/2, exp(r) by a degree-6 Taylor polynomial
 *         (relative error < 2e-7), times 2^n built in the exponent bits.
 *   erf:  Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), which needs exp(-x²).
 * The scalar fallback (machines without AVX2, and tails) uses the same
 * formulas so that a value never depends on where in a buffer it sits. */
#include "kernels/ops.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SS_HAVE_X86 1
#endif

/* ---- GEMM (OpenBLAS) ---------------------------------------------------- */

void ss_blas_single_threaded(void) {
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1); /* called per batched search too */
}

void ss_linear_cols(const float *x, int m, int k, const float *w, const float *b, float *y, int n_total,
                    int n0, int n1) {
    int n = n1 - n0;
    if (n <= 0 || m <= 0) return;
    if (b) {
        for (int r = 0; r < m; r++) memcpy(y + (size_t)r * n_total + n0, b + n0, (size_t)n * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k, w + (size_t)n0 * k, k,
                b ? 1.0f : 0.0f, y + n0, n_total);
}

/* ---- LayerNorm ---------------------------------------------------------- */

void ss_layernorm_rows(float *out, const float *a, const float *res, const float *gamma, const float *beta,
                       int rows, int n, float eps) {
    for (int r = 0; r < rows; r++) {
        const float *ar = a + (size_t)r * n;
        const float *rr = res ? res + (size_t)r * n : NULL;
        float *o = out + (size_t)r * n;
        double sum = 0, sq = 0;
        for (int i = 0; i < n; i++) {
            float v = rr ? ar[i] + rr[i] : ar[i];
            o[i] = v;
            sum += v;
        }
        double mean = sum / n;
        for (int i = 0; i < n; i++) {
            double d = o[i] - mean;
            sq += d * d;
        }
        float rstd = (float)(1.0 / sqrt(sq / n + eps));
        float fm = (float)mean;
        for (int i = 0; i < n; i++) o[i] = (o[i] - fm) * rstd * gamma[i] + beta[i];
    }
}

/* ---- exp / erf approximations, scalar ----------------------------------- */

static const float EXP_HI = 88.3762626647949f, EXP_LO = -87.3365447504019f;
static const float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
static const float AS_P = 0.3275911f, AS_A1 = 0.254829592f, AS_A2 = -0.284496736f, AS_A3 = 1.421413741f,
                   AS_A4 = -1.453152027f, AS_A5 = 1.061405429f;

static inline float exp_s(float x) {
    if (x != x) return x; /* NaN (from NaN weights): the int conversion below would be undefined */
    x = x > EXP_HI ? EXP_HI : (x < EXP_LO ? EXP_LO : x);
    float n = nearbyintf(x * LOG2E);
    float r = x - n * LN2_HI - n * LN2_LO;
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

static inline float erf_s(float x) {
    float ax = fabsf(x);
    float t = 1.0f / (1.0f + AS_P * ax);
    float poly = ((((AS_A5 * t + AS_A4) * t + AS_A3) * t + AS_A2) * t + AS_A1) * t;
    float y = 1.0f - poly * exp_s(-ax * ax);
    return copysignf(y, x);
}

static inline float gelu_s(float x) { return 0.5f * x * (1.0f + erf_s(x * 0.70710678118654752f)); }

static inline float gelu_tanh_s(float x) {
    float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    float th = 1.0f - 2.0f / (exp_s(2.0f * u) + 1.0f);
    return 0.5f * x * (1.0f + th);
}

/* ---- AVX2 + FMA versions ------------------------------------------------ */

#ifdef SS_HAVE_X86
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __m256 exp_v(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2 static inline __m256 erf_v(__m256 x) {
    __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(AS_P), ax, _mm256_set1_ps(1.0f)));
    __m256 poly = _mm256_fmadd_ps(_mm256_set1_ps(AS_A5), t, _mm256_set1_ps(AS_A4));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(AS_A3));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(AS_A2));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(AS_A1));
    poly = _mm256_mul_ps(poly, t);
    __m256 e = exp_v(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)));
    __m256 y = _mm256_fnmadd_ps(poly, e, _mm256_set1_ps(1.0f));
    return _mm256_or_ps(y, sign);
}

AVX2 static void gelu_avx2(float *x, size_t n) {
    size_t i = 0;
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), rs2 = _mm256_set1_ps(0.70710678118654752f);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = erf_v(_mm256_mul_ps(v, rs2));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) x[i] = gelu_s(x[i]);
}

AVX2 static void gelu_tanh_avx2(float *x, size_t n) {
    size_t i = 0;
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    const __m256 c0 = _mm256_set1_ps(0.7978845608028654f), c1 = _mm256_set1_ps(0.044715f);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
        __m256 u = _mm256_mul_ps(c0, _mm256_fmadd_ps(c1, v3, v));
        __m256 th = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp_v(_mm256_mul_ps(two, u)), one)));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, th)));
    }
    for (; i < n; i++) x[i] = gelu_tanh_s(x[i]);
}

AVX2 static void softmax_avx2(float *x, int n) {
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    int i = 0;
    __m256 vm = _mm256_set1_ps(mx), acc = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp_v(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float buf[8], sum = 0;
    _mm256_storeu_ps(buf, acc);
    for (int j = 0; j < 8; j++) sum += buf[j];
    for (; i < n; i++) {
        x[i] = exp_s(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (i = 0; i < n; i++) x[i] *= inv;
}

static int have_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static int have_avx2(void) { return 0; }
#endif

/* ---- dispatch ----------------------------------------------------------- */

void ss_gelu(float *x, size_t n) {
#ifdef SS_HAVE_X86
    if (have_avx2()) {
        gelu_avx2(x, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) x[i] = gelu_s(x[i]);
}

void ss_gelu_tanh(float *x, size_t n) {
#ifdef SS_HAVE_X86
    if (have_avx2()) {
        gelu_tanh_avx2(x, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) x[i] = gelu_tanh_s(x[i]);
}

void ss_softmax_row(float *x, int n) {
    if (n <= 0) return;
#ifdef SS_HAVE_X86
    if (have_avx2()) {
        softmax_avx2(x, n);
        return;
    }
#endif
    float mx = x[0], sum = 0;
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < n; i++) {
        x[i] = exp_s(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) x[i] *= inv;
}

float ss_dot(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return (float)s;
}

void ss_l2_normalize(float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    double norm = sqrt(s);
    if (norm < 1e-12) norm = 1e-12; /* torch.nn.functional.normalize's eps */
    float inv = (float)(1.0 / norm);
    for (int i = 0; i < n; i++) x[i] *= inv;
}
