/* quant.c — per-channel weight and per-token activation quantisation (see quant.h). */
#include "kernels/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static void *alloc64(size_t bytes) {
    size_t b = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, b ? b : 64);
}

ss_status ss_qweight_init(ss_qweight *q, const float *w, int n, int k, ss_error *err) {
    memset(q, 0, sizeof *q);
    if (n <= 0 || k <= 0) return ss_fail(err, SS_ERR_INVALID, "int8 weights: bad shape [%d, %d]", n, k);
    int kp = ss_qk_pad(k);
    q->w = alloc64((size_t)n * kp);
    q->scale = malloc((size_t)n * sizeof(float));
    q->wsum = malloc((size_t)n * sizeof(int32_t));
    const size_t panels = (size_t)(n + 15) / 16;
    q->wp = alloc64(panels * 16 * (size_t)kp);
    const size_t panels8 = (size_t)(n + 7) / 8;
    q->wp8 = alloc64(panels8 * 8 * (size_t)kp);
    if (!q->w || !q->scale || !q->wsum || !q->wp || !q->wp8) {
        ss_qweight_free(q);
        return ss_fail(err, SS_ERR_NOMEM, "int8 weights: out of memory for [%d, %d]", n, k);
    }
    q->n = n, q->k = k, q->k_pad = kp;
    for (int r = 0; r < n; r++) {
        const float *wr = w + (size_t)r * k;
        int8_t *qr = q->w + (size_t)r * kp;
        float amax = 0;
        for (int j = 0; j < k; j++) {
            if (!isfinite(wr[j])) {
                ss_qweight_free(q);
                return ss_fail(err, SS_ERR_FORMAT, "int8 weights: non-finite weight at row %d, column %d", r, j);
            }
            float a = fabsf(wr[j]);
            if (a > amax) amax = a;
        }
        /* An all-zero row: any scale works; 1 keeps the dequantisation finite. */
        float s = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / s;
        int32_t sum = 0;
        for (int j = 0; j < k; j++) {
            float v = nearbyintf(wr[j] * inv);
            v = v > 127 ? 127 : (v < -127 ? -127 : v);
            qr[j] = (int8_t)v;
            sum += qr[j];
        }
        memset(qr + k, 0, (size_t)(kp - k));
        q->scale[r] = s;
        q->wsum[r] = sum;
    }
    /* VNNI panels (quant.h): zero for the columns past n */
    memset(q->wp, 0, panels * 16 * (size_t)kp);
    for (int r = 0; r < n; r++) {
        int8_t *panel = q->wp + (size_t)(r / 16) * 16 * kp;
        const int8_t *qr = q->w + (size_t)r * kp;
        for (int j = 0; j < kp; j++) panel[(size_t)(j / 4) * 64 + (r % 16) * 4 + j % 4] = qr[j];
    }
    /* AVX2 panels (quant.h), the same way */
    memset(q->wp8, 0, panels8 * 8 * (size_t)kp);
    for (int r = 0; r < n; r++) {
        int8_t *panel = q->wp8 + (size_t)(r / 8) * 8 * kp;
        const int8_t *qr = q->w + (size_t)r * kp;
        for (int j = 0; j < kp; j++) panel[(size_t)(j / 2) * 16 + (r % 8) * 2 + j % 2] = qr[j];
    }
    return SS_OK;
}

void ss_qweight_free(ss_qweight *q) {
    free(q->w);
    free(q->scale);
    free(q->wsum);
    free(q->wp);
    free(q->wp8);
    memset(q, 0, sizeof *q);
}

/* Round to nearest, ties to even, for |v| < 2^22, without a libm call:
 * nearbyintf is a function call on baseline x86-64 (roundss needs SSE4.1)
 * that also saves and restores the FP environment — as slow as the GEMM it
 * feeds on the FFN-out shape. Adding and subtracting 1.5·2^23 rounds in the
 * FPU's default mode; NaN stays NaN. (No -ffast-math here, so the compiler
 * keeps both operations; the loops still vectorise.) */
static inline float round_even(float v) {
    const float magic = 12582912.0f;
    return (v + magic) - magic;
}

ss_status ss_qact_reserve(ss_qact *q, int T, int k, int wide, ss_error *err) {
    int kp = ss_qk_pad(k);
    /* rows rounded up to 32: the AMX kernel loads whole 16-row tiles (the
     * outputs of the extra rows are never stored) */
    size_t esz = wide ? 2 : 1, bytes = (size_t)(T + 31) / 32 * 32 * kp * esz;
    if (bytes > q->cap_bytes) {
        void *d = alloc64(bytes);
        if (!d) return ss_fail(err, SS_ERR_NOMEM, "int8 activations: out of memory for [%d, %d]", T, k);
        memset(d, 0, bytes);
        free(q->data);
        q->data = d, q->cap_bytes = bytes;
    }
    if ((size_t)T > q->cap_rows) {
        float *s = malloc((size_t)T * sizeof(float));
        int32_t *z = malloc((size_t)T * sizeof(int32_t));
        if (!s || !z) {
            free(s);
            free(z);
            return ss_fail(err, SS_ERR_NOMEM, "int8 activations: out of memory for %d rows", T);
        }
        free(q->scale);
        free(q->zp);
        q->scale = s, q->zp = z, q->cap_rows = (size_t)T;
    }
    q->T = T, q->k = k, q->k_pad = kp, q->wide = wide;
    return SS_OK;
}

static void quantize_rows_scalar(ss_qact *q, const float *x, int t0, int t1) {
    const int k = q->k, kp = q->k_pad;
    for (int t = t0; t < t1; t++) {
        const float *xr = x + (size_t)t * k;
        float lo = 0, hi = 0;
        for (int j = 0; j < k; j++) {
            lo = xr[j] < lo ? xr[j] : lo;
            hi = xr[j] > hi ? xr[j] : hi;
        }
        float s = hi > lo ? (hi - lo) / 255.0f : 1.0f, inv = 1.0f / s;
        float zf = round_even(-lo * inv);
        int32_t zp = (int32_t)(zf < 0 ? 0 : (zf > 255 ? 255 : zf));
        q->scale[t] = s, q->zp[t] = zp;
        /* The clamp also maps NaN (a comparison that fails) to 0: a NaN input
         * must not become undefined behaviour in the int conversion. */
        if (q->wide) {
            int16_t *o = (int16_t *)q->data + (size_t)t * kp;
            for (int j = 0; j < k; j++) {
                float v = round_even(xr[j] * inv) + (float)zp;
                o[j] = (int16_t)(v >= 0 ? (v <= 255 ? v : 255) : 0);
            }
            memset(o + k, 0, (size_t)(kp - k) * 2);
        } else {
            uint8_t *o = (uint8_t *)q->data + (size_t)t * kp;
            for (int j = 0; j < k; j++) {
                float v = round_even(xr[j] * inv) + (float)zp;
                o[j] = (uint8_t)(v >= 0 ? (v <= 255 ? v : 255) : 0);
            }
            memset(o + k, 0, (size_t)(kp - k));
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define T_Q512 __attribute__((target("avx512f,avx512bw")))

/* The scalar loop's arithmetic, 16 lanes at a time: exact min / max (vminps
 * returns its second operand for a NaN, as the scalar comparison keeps lo),
 * the same products, round-to-nearest-even (vrndscaleps, where the scalar
 * code uses the 1.5·2^23 trick: both are exact RNE for |v| <= 255), the same
 * clamp (vmaxps(v, 0) maps NaN to 0 like the scalar comparison). */
T_Q512 static void quantize_rows_avx512(ss_qact *q, const float *x, int t0, int t1) {
    const int k = q->k, kp = q->k_pad;
    const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.0f);
    for (int t = t0; t < t1; t++) {
        const float *xr = x + (size_t)t * k;
        __m512 lo = zero, hi = zero;
        int j = 0;
        for (; j + 16 <= k; j += 16) {
            __m512 v = _mm512_loadu_ps(xr + j);
            lo = _mm512_min_ps(v, lo), hi = _mm512_max_ps(v, hi);
        }
        if (j < k) {
            __mmask16 m = (__mmask16)((1u << (k - j)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(m, xr + j);
            lo = _mm512_min_ps(v, lo), hi = _mm512_max_ps(v, hi);
        }
        float l = _mm512_reduce_min_ps(lo), h = _mm512_reduce_max_ps(hi);
        float s = h > l ? (h - l) / 255.0f : 1.0f, inv = 1.0f / s;
        float zf = round_even(-l * inv);
        int32_t zp = (int32_t)(zf < 0 ? 0 : (zf > 255 ? 255 : zf));
        q->scale[t] = s, q->zp[t] = zp;
        const __m512 vinv = _mm512_set1_ps(inv), vzp = _mm512_set1_ps((float)zp);
        for (j = 0; j < kp; j += 16) {
            __mmask16 m = j + 16 <= k ? (__mmask16)0xFFFF : (j < k ? (__mmask16)((1u << (k - j)) - 1) : 0);
            __m512 v = _mm512_maskz_loadu_ps(m, xr + j);
            v = _mm512_roundscale_ps(_mm512_mul_ps(v, vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, vzp), zero), top);
            __m512i c = _mm512_maskz_mov_epi32(m, _mm512_cvttps_epi32(v)); /* padding codes are 0 */
            if (q->wide) _mm256_store_si256((__m256i *)((int16_t *)q->data + (size_t)t * kp + j), _mm512_cvtepi32_epi16(c));
            else _mm_store_si128((__m128i *)((uint8_t *)q->data + (size_t)t * kp + j), _mm512_cvtepi32_epi8(c));
        }
    }
}

#define T_Q256 __attribute__((target("avx2,fma")))

/* The same arithmetic as the AVX-512 version, 8 lanes at a time; the lane
 * min / max are combined exactly (min and max are order-independent, and a
 * lane never holds -0: vminps(v, lo) keeps lo = +0 against v = -0), and the
 * 8-wide rounding vroundps is the same RNE. The ragged tail goes through a
 * zero-padded copy (zeros change neither the min <= 0 nor the max >= 0). */
T_Q256 static void quantize_rows_avx2(ss_qact *q, const float *x, int t0, int t1) {
    const int k = q->k, kp = q->k_pad;
    const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.0f);
    for (int t = t0; t < t1; t++) {
        const float *xr = x + (size_t)t * k;
        __m256 lo = zero, hi = zero;
        int j = 0;
        for (; j + 8 <= k; j += 8) {
            __m256 v = _mm256_loadu_ps(xr + j);
            lo = _mm256_min_ps(v, lo), hi = _mm256_max_ps(v, hi);
        }
        float tail[8] = {0};
        if (j < k) {
            memcpy(tail, xr + j, (size_t)(k - j) * sizeof(float));
            __m256 v = _mm256_loadu_ps(tail);
            lo = _mm256_min_ps(v, lo), hi = _mm256_max_ps(v, hi);
        }
        float ll[8], hh[8];
        _mm256_storeu_ps(ll, lo);
        _mm256_storeu_ps(hh, hi);
        float l = 0, h = 0;
        for (int i = 0; i < 8; i++) {
            l = ll[i] < l ? ll[i] : l;
            h = hh[i] > h ? hh[i] : h;
        }
        float s = h > l ? (h - l) / 255.0f : 1.0f, inv = 1.0f / s;
        float zf = round_even(-l * inv);
        int32_t zp = (int32_t)(zf < 0 ? 0 : (zf > 255 ? 255 : zf));
        q->scale[t] = s, q->zp[t] = zp;
        const __m256 vinv = _mm256_set1_ps(inv), vzp = _mm256_set1_ps((float)zp);
        for (j = 0; j < kp; j += 16) {
            __m256i c[2];
            for (int h2 = 0; h2 < 2; h2++) {
                int jj = j + 8 * h2;
                __m256 v;
                if (jj + 8 <= k) {
                    v = _mm256_loadu_ps(xr + jj);
                } else {
                    float pad[8] = {0};
                    if (jj < k) memcpy(pad, xr + jj, (size_t)(k - jj) * sizeof(float));
                    v = _mm256_loadu_ps(pad);
                }
                v = _mm256_round_ps(_mm256_mul_ps(v, vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, vzp), zero), top);
                c[h2] = _mm256_cvttps_epi32(v);
                if (jj + 8 > k) { /* padding codes are 0 */
                    int nv = k - jj < 0 ? 0 : k - jj;
                    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                    c[h2] = _mm256_and_si256(c[h2], _mm256_cmpgt_epi32(_mm256_set1_epi32(nv), lane));
                }
            }
            /* 16 codes in 0..255: packus per 128-bit lane, then restore the order */
            __m256i p16 = _mm256_permute4x64_epi64(_mm256_packus_epi32(c[0], c[1]), _MM_SHUFFLE(3, 1, 2, 0));
            if (q->wide) {
                _mm256_store_si256((__m256i *)((int16_t *)q->data + (size_t)t * kp + j), p16);
            } else {
                __m128i p8 = _mm_packus_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1));
                _mm_store_si128((__m128i *)((uint8_t *)q->data + (size_t)t * kp + j), p8);
            }
        }
    }
}

static int q256_ok(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int q512_ok(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}
#else
static int q512_ok(void) { return 0; }
static int q256_ok(void) { return 0; }
#endif

int ss_qact_simd_available(void) { return q512_ok() || q256_ok(); }

void ss_qact_quantize_rows_isa(ss_qact *q, const float *x, int t0, int t1, int simd) {
#if defined(__x86_64__)
    if (simd == 1 && q512_ok()) {
        quantize_rows_avx512(q, x, t0, t1);
        return;
    }
    if (simd && q256_ok()) {
        quantize_rows_avx2(q, x, t0, t1);
        return;
    }
#endif
    (void)simd;
    quantize_rows_scalar(q, x, t0, t1);
}

void ss_qact_quantize_rows(ss_qact *q, const float *x, int t0, int t1) {
    ss_qact_quantize_rows_isa(q, x, t0, t1, 1);
}

ss_status ss_qact_quantize(ss_qact *q, const float *x, int T, int k, int wide, ss_error *err) {
    ss_status s = ss_qact_reserve(q, T, k, wide, err);
    if (s == SS_OK) ss_qact_quantize_rows(q, x, 0, T);
    return s;
}

void ss_qact_free(ss_qact *q) {
    free(q->data);
    free(q->scale);
    free(q->zp);
    memset(q, 0, sizeof *q);
}
