/* ops.c — forward kernels of the transformer (see ops.h for the contract).
 *
 * GELU needs erf and softmax needs exp; libm's scalar erff/expf would cost as
 * much as a third of the GEMM time, so both are evaluated with branch-free
 * polynomial approximations in 8-wide AVX2+FMA code:
 *   exp:  x = n·ln2 + r, |r| ≤ ln2/2, exp(r) by a degree-6 Taylor polynomial
 *         (relative error < 2e-7), times 2^n built in the exponent bits.
 *   erf:  Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), which needs exp(-x²).
 *
 * Position independence: the ragged tail of a buffer (n % 8 elements) goes
 * through the same vector code on a zero-padded 8-float copy, so every
 * element gets the same instruction sequence wherever it sits. The scalar
 * fallback (machines without AVX2+FMA) mirrors the vector code operation for
 * operation, with fmaf() where the vector code fuses, so it computes the same
 * values too. */
#include "kernels/ops.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>

#include "semsearch.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SS_HAVE_X86 1
#endif

/* ---- GEMM (OpenBLAS) ---------------------------------------------------- */

/* The one place the library may change OpenBLAS's process-wide setting, and
 * only when the caller asks (semsearch.h). */
void ss_blas_set_single_threaded(void) {
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

void ss_blas_single_threaded(void) { ss_blas_set_single_threaded(); }

int ss_blas_threads(void) { return openblas_get_num_threads(); }

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

static void layernorm_row(float *o, float *mean_out, float *rstd_out, const float *x, const float *gamma,
                          const float *beta, int n, float eps) {
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    double mean = sum / n;
    for (int i = 0; i < n; i++) {
        double d = x[i] - mean;
        sq += d * d;
    }
    float rstd = (float)(1.0 / sqrt(sq / n + eps));
    float fm = (float)mean;
    for (int i = 0; i < n; i++) o[i] = (x[i] - fm) * rstd * gamma[i] + beta[i];
    if (mean_out) *mean_out = fm;
    if (rstd_out) *rstd_out = rstd;
}

void ss_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *gamma,
                          const float *beta, int rows, int n, float eps) {
    for (int r = 0; r < rows; r++)
        layernorm_row(out + (size_t)r * n, mean ? mean + r : NULL, rstd ? rstd + r : NULL, inp + (size_t)r * n,
                      gamma, beta, n, eps);
}

void ss_residual_layernorm_forward(float *out, float *sum, float *mean, float *rstd, const float *a,
                                   const float *res, const float *gamma, const float *beta, int rows, int n,
                                   float eps) {
    for (int r = 0; r < rows; r++) {
        const float *ar = a + (size_t)r * n, *rr = res + (size_t)r * n;
        float *s = sum + (size_t)r * n;
        for (int i = 0; i < n; i++) s[i] = ar[i] + rr[i];
        layernorm_row(out + (size_t)r * n, mean ? mean + r : NULL, rstd ? rstd + r : NULL, s, gamma, beta, n,
                      eps);
    }
}

/* ---- exp / erf approximations, scalar (mirrors the vector code) ---------- */

static const float EXP_HI = 88.3762626647949f, EXP_LO = -87.3365447504019f;
static const float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
static const float AS_P = 0.3275911f, AS_A1 = 0.254829592f, AS_A2 = -0.284496736f, AS_A3 = 1.421413741f,
                   AS_A4 = -1.453152027f, AS_A5 = 1.061405429f;
static const float RSQRT2 = 0.70710678118654752f, GT_C0 = 0.7978845608028654f, GT_C1 = 0.044715f;

static inline float exp_s(float x) {
    x = fminf(fmaxf(x, EXP_LO), EXP_HI);
    float n = nearbyintf(x * LOG2E);
    float r = fmaf(-n, LN2_HI, x);
    r = fmaf(-n, LN2_LO, r);
    float p = 1.0f / 720;
    p = fmaf(p, r, 1.0f / 120);
    p = fmaf(p, r, 1.0f / 24);
    p = fmaf(p, r, 1.0f / 6);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

static inline float erf_s(float x) {
    float ax = fabsf(x);
    float t = 1.0f / fmaf(AS_P, ax, 1.0f);
    float poly = fmaf(AS_A5, t, AS_A4);
    poly = fmaf(poly, t, AS_A3);
    poly = fmaf(poly, t, AS_A2);
    poly = fmaf(poly, t, AS_A1);
    poly = poly * t;
    float e = exp_s(0.0f - ax * ax);
    float y = fmaf(-poly, e, 1.0f);
    return copysignf(y, x);
}

static inline float gelu_s(float x) { return (0.5f * x) * (1.0f + erf_s(x * RSQRT2)); }

static inline float gelu_tanh_s(float x) {
    float x3 = (x * x) * x;
    float u = GT_C0 * fmaf(GT_C1, x3, x);
    float th = 1.0f - 2.0f / (exp_s(2.0f * u) + 1.0f);
    return (0.5f * x) * (1.0f + th);
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

AVX2 static inline __m256 gelu_v(__m256 v) {
    __m256 e = erf_v(_mm256_mul_ps(v, _mm256_set1_ps(RSQRT2)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

AVX2 static inline __m256 gelu_tanh_v(__m256 v) {
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    __m256 u = _mm256_mul_ps(_mm256_set1_ps(GT_C0), _mm256_fmadd_ps(_mm256_set1_ps(GT_C1), v3, v));
    __m256 th = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp_v(_mm256_mul_ps(two, u)), one)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(one, th));
}

/* Apply OP to n floats: whole vectors in place, then the tail through the
 * same OP on a zero-padded copy (the position-independence rule). */
#define MAP_V(OP, out, inp, n)                                            \
    do {                                                                  \
        size_t i_ = 0;                                                    \
        for (; i_ + 8 <= (n); i_ += 8)                                    \
            _mm256_storeu_ps((out) + i_, OP(_mm256_loadu_ps((inp) + i_))); \
        if (i_ < (n)) {                                                   \
            float pad_[8] = {0};                                          \
            memcpy(pad_, (inp) + i_, ((n) - i_) * sizeof(float));         \
            _mm256_storeu_ps(pad_, OP(_mm256_loadu_ps(pad_)));            \
            memcpy((out) + i_, pad_, ((n) - i_) * sizeof(float));         \
        }                                                                 \
    } while (0)

AVX2 static void gelu_avx2(float *out, const float *inp, size_t n) { MAP_V(gelu_v, out, inp, n); }
AVX2 static void gelu_tanh_avx2(float *out, const float *inp, size_t n) { MAP_V(gelu_tanh_v, out, inp, n); }

AVX2 static void exp_avx2(float *out, const float *inp, float shift, size_t n) {
    const __m256 s = _mm256_set1_ps(shift);
#define EXP_SHIFTED(v) exp_v(_mm256_sub_ps((v), s))
    MAP_V(EXP_SHIFTED, out, inp, n);
#undef EXP_SHIFTED
}

/* Sum with 8 lane accumulators (element i into lane i % 8), lanes then added
 * 0..7: the scalar fallback below adds in exactly this order. */
AVX2 static float sum8_avx2(const float *x, size_t n) {
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    for (size_t j = 0; i + j < n; j++) lanes[j] += x[i + j];
    float s = 0;
    for (int j = 0; j < 8; j++) s += lanes[j];
    return s;
}

static int have_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static int have_avx2(void) { return 0; }
#endif

static float sum8_s(const float *x, size_t n) {
    float lanes[8] = {0};
    for (size_t i = 0; i < n; i++) lanes[i % 8] += x[i];
    float s = 0;
    for (int j = 0; j < 8; j++) s += lanes[j];
    return s;
}

/* ---- dispatch ----------------------------------------------------------- */

void ss_gelu_forward(float *out, const float *inp, size_t n) {
#ifdef SS_HAVE_X86
    if (have_avx2()) {
        gelu_avx2(out, inp, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) out[i] = gelu_s(inp[i]);
}

void ss_gelu_tanh_forward(float *out, const float *inp, size_t n) {
#ifdef SS_HAVE_X86
    if (have_avx2()) {
        gelu_tanh_avx2(out, inp, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) out[i] = gelu_tanh_s(inp[i]);
}

void ss_relu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
}

void ss_exp_forward(float *out, const float *inp, float shift, size_t n) {
#ifdef SS_HAVE_X86
    if (have_avx2()) {
        exp_avx2(out, inp, shift, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) out[i] = exp_s(inp[i] - shift);
}

void ss_softmax_forward(float *out, const float *inp, int n) {
    if (n <= 0) return;
    float mx = inp[0];
    for (int i = 1; i < n; i++) mx = inp[i] > mx ? inp[i] : mx;
    ss_exp_forward(out, inp, mx, (size_t)n);
    float sum;
#ifdef SS_HAVE_X86
    if (have_avx2())
        sum = sum8_avx2(out, (size_t)n);
    else
#endif
        sum = sum8_s(out, (size_t)n);
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) out[i] *= inv;
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
