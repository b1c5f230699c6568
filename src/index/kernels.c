/* kernels.c — scalar, AVX2, AVX-512 and AVX-512 VNNI/VPOPCNTDQ distance kernels.
 * Each SIMD function carries its own target attribute, so the library builds
 * for baseline x86-64 and picks the widest kernels this CPU runs at run time. */
#include "index/kernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#else
#define SS_X86 0
#endif


/* ---------------------------------------------------------------- scalar */

static float dot_f32_scalar(const float *a, const float *b, size_t d) {
    float s = 0;
    for (size_t i = 0; i < d; i++) s += a[i] * b[i];
    return s;
}
static float l2_f32_scalar(const float *a, const float *b, size_t d) {
    float s = 0;
    for (size_t i = 0; i < d; i++) {
        float t = a[i] - b[i];
        s += t * t;
    }
    return s;
}
static float dot_f16_scalar(const float *a, const uint16_t *b, size_t d) {
    float s = 0;
    for (size_t i = 0; i < d; i++) s += a[i] * ss_half_to_float(b[i]);
    return s;
}
static float l2_f16_scalar(const float *a, const uint16_t *b, size_t d) {
    float s = 0;
    for (size_t i = 0; i < d; i++) {
        float t = a[i] - ss_half_to_float(b[i]);
        s += t * t;
    }
    return s;
}
static int32_t dot_u8s8_scalar(const uint8_t *a, const int8_t *b, size_t d) {
    int32_t s = 0;
    for (size_t i = 0; i < d; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}
static uint32_t hamming_scalar(const uint64_t *a, const uint64_t *b, size_t n) {
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++) s += (uint32_t)__builtin_popcountll(a[i] ^ b[i]);
    return s;
}
static float dot_bits_scalar(const float *q, const uint64_t *bits, size_t d) {
    float s = 0;
    for (size_t i = 0; i < d; i++)
        if (bits[i >> 6] >> (i & 63) & 1) s += q[i];
    return s;
}
static void dot4_f32_scalar(const float *const q[4], const float *b, size_t d, float out[4]) {
    for (int i = 0; i < 4; i++) out[i] = dot_f32_scalar(q[i], b, d);
}

static const ss_kernels k_scalar = {"scalar",        dot_f32_scalar,  l2_f32_scalar,
                                    dot_f16_scalar,  l2_f16_scalar,   dot_u8s8_scalar,
                                    hamming_scalar,  dot_bits_scalar, dot4_f32_scalar};

#if SS_X86
/* ---------------------------------------------------------------- AVX2 */
#define T_AVX2 __attribute__((target("avx2,fma,f16c,popcnt")))

T_AVX2 static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
T_AVX2 static float dot_f32_avx2(const float *a, const float *b, size_t d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
           s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= d; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < d; i++) s += a[i] * b[i];
    return s;
}
T_AVX2 static float l2_f32_avx2(const float *a, const float *b, size_t d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
           s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 t2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 t3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        s0 = _mm256_fmadd_ps(t0, t0, s0);
        s1 = _mm256_fmadd_ps(t1, t1, s1);
        s2 = _mm256_fmadd_ps(t2, t2, s2);
        s3 = _mm256_fmadd_ps(t3, t3, s3);
    }
    for (; i + 8 <= d; i += 8) {
        __m256 t = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(t, t, s0);
    }
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < d; i++) {
        float t = a[i] - b[i];
        s += t * t;
    }
    return s;
}
T_AVX2 static float dot_f16_avx2(const float *a, const uint16_t *b, size_t d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m256 b0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256 b1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i + 8)));
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), b0, s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), b1, s1);
    }
    for (; i + 8 <= d; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i),
                             _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i))), s0);
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < d; i++) s += a[i] * ss_half_to_float(b[i]);
    return s;
}
T_AVX2 static float l2_f16_avx2(const float *a, const uint16_t *b, size_t d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i),
                                  _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i))));
        __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8),
                                  _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i + 8))));
        s0 = _mm256_fmadd_ps(t0, t0, s0);
        s1 = _mm256_fmadd_ps(t1, t1, s1);
    }
    for (; i + 8 <= d; i += 8) {
        __m256 t = _mm256_sub_ps(_mm256_loadu_ps(a + i),
                                 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i))));
        s0 = _mm256_fmadd_ps(t, t, s0);
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < d; i++) {
        float t = a[i] - ss_half_to_float(b[i]);
        s += t * t;
    }
    return s;
}
T_AVX2 static inline int32_t hsum256_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}
T_AVX2 static int32_t dot_u8s8_avx2(const uint8_t *a, const int8_t *b, size_t d) {
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m256i a0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256i a1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(a + i + 16)));
        __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i + 16)));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(a0, b0));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(a1, b1));
    }
    for (; i + 16 <= d; i += 16) {
        __m256i a0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(a0, b0));
    }
    int32_t s = hsum256_epi32(_mm256_add_epi32(s0, s1));
    for (; i < d; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}
T_AVX2 static uint32_t hamming_popcnt(const uint64_t *a, const uint64_t *b, size_t n) {
    uint64_t s0 = 0, s1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        s0 += (uint64_t)_mm_popcnt_u64(a[i] ^ b[i]);
        s1 += (uint64_t)_mm_popcnt_u64(a[i + 1] ^ b[i + 1]);
    }
    if (i < n) s0 += (uint64_t)_mm_popcnt_u64(a[i] ^ b[i]);
    return (uint32_t)(s0 + s1);
}
/* Bits to lane masks without a table: lane j of set1(w) shifted left by 31 - j
 * has bit j of w in its sign bit, which blendv reads. 16 dims per step (a step
 * never crosses a 64-bit word). */
T_AVX2 static float dot_bits_avx2(const float *q, const uint64_t *bits, size_t d) {
    const __m256i sh = _mm256_setr_epi32(31, 30, 29, 28, 27, 26, 25, 24);
    const __m256 zero = _mm256_setzero_ps();
    __m256 s0 = zero, s1 = zero;
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        uint32_t w = (uint32_t)(bits[i >> 6] >> (i & 63));
        __m256 m0 = _mm256_castsi256_ps(_mm256_sllv_epi32(_mm256_set1_epi32((int)w), sh));
        __m256 m1 = _mm256_castsi256_ps(_mm256_sllv_epi32(_mm256_set1_epi32((int)(w >> 8)), sh));
        s0 = _mm256_add_ps(s0, _mm256_blendv_ps(zero, _mm256_loadu_ps(q + i), m0));
        s1 = _mm256_add_ps(s1, _mm256_blendv_ps(zero, _mm256_loadu_ps(q + i + 8), m1));
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < d; i++)
        if (bits[i >> 6] >> (i & 63) & 1) s += q[i];
    return s;
}
T_AVX2 static void dot4_f32_avx2(const float *const q[4], const float *b, size_t d, float out[4]) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
           s3 = _mm256_setzero_ps();
    const float *q0 = q[0], *q1 = q[1], *q2 = q[2], *q3 = q[3];
    size_t i = 0;
    for (; i + 8 <= d; i += 8) {
        __m256 v = _mm256_loadu_ps(b + i);
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q0 + i), v, s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q1 + i), v, s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(q2 + i), v, s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(q3 + i), v, s3);
    }
    float r0 = hsum256(s0), r1 = hsum256(s1), r2 = hsum256(s2), r3 = hsum256(s3);
    for (; i < d; i++) {
        r0 += q0[i] * b[i];
        r1 += q1[i] * b[i];
        r2 += q2[i] * b[i];
        r3 += q3[i] * b[i];
    }
    out[0] = r0, out[1] = r1, out[2] = r2, out[3] = r3;
}

static const ss_kernels k_avx2 = {"avx2",       dot_f32_avx2,  l2_f32_avx2,
                                  dot_f16_avx2, l2_f16_avx2,   dot_u8s8_avx2,
                                  hamming_popcnt, dot_bits_avx2, dot4_f32_avx2};

/* ---------------------------------------------------------------- AVX-512 */
#define T_512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c,popcnt")))
#define T_VNNI                                                                               \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vpopcntdq,avx2,fma,f16c,popcnt")))

T_512 static inline __mmask16 tailmask16(size_t r) { return (__mmask16)((1u << r) - 1u); }

T_512 static float dot_f32_512(const float *a, const float *b, size_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= d; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < d) {
        __mmask16 m = tailmask16(d - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
T_512 static float l2_f32_512(const float *a, const float *b, size_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
        s1 = _mm512_fmadd_ps(t1, t1, s1);
    }
    for (; i + 16 <= d; i += 16) {
        __m512 t = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_fmadd_ps(t, t, s0);
    }
    if (i < d) {
        __mmask16 m = tailmask16(d - i);
        __m512 t = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s1 = _mm512_fmadd_ps(t, t, s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
T_512 static float dot_f16_512(const float *a, const uint16_t *b, size_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m512 b0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i)));
        __m512 b1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i + 16)));
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), b0, s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), b1, s1);
    }
    for (; i + 16 <= d; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i),
                             _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i))), s0);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; i < d; i++) s += a[i] * ss_half_to_float(b[i]);
    return s;
}
T_512 static float l2_f16_512(const float *a, const uint16_t *b, size_t d) {
    __m512 s0 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m512 t = _mm512_sub_ps(_mm512_loadu_ps(a + i),
                                 _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i))));
        s0 = _mm512_fmadd_ps(t, t, s0);
    }
    float s = _mm512_reduce_add_ps(s0);
    for (; i < d; i++) {
        float t = a[i] - ss_half_to_float(b[i]);
        s += t * t;
    }
    return s;
}
T_512 static int32_t dot_u8s8_512(const uint8_t *a, const int8_t *b, size_t d) {
    __m512i s0 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m512i a0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(a + i)));
        __m512i b0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + i)));
        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(a0, b0));
    }
    int32_t s = _mm512_reduce_add_epi32(s0);
    for (; i < d; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}
T_512 static void dot4_f32_512(const float *const q[4], const float *b, size_t d, float out[4]) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(),
           s3 = _mm512_setzero_ps();
    const float *q0 = q[0], *q1 = q[1], *q2 = q[2], *q3 = q[3];
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m512 v = _mm512_loadu_ps(b + i);
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q0 + i), v, s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q1 + i), v, s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(q2 + i), v, s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(q3 + i), v, s3);
    }
    if (i < d) {
        __mmask16 m = tailmask16(d - i);
        __m512 v = _mm512_maskz_loadu_ps(m, b + i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q0 + i), v, s0);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q1 + i), v, s1);
        s2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q2 + i), v, s2);
        s3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q3 + i), v, s3);
    }
    out[0] = _mm512_reduce_add_ps(s0);
    out[1] = _mm512_reduce_add_ps(s1);
    out[2] = _mm512_reduce_add_ps(s2);
    out[3] = _mm512_reduce_add_ps(s3);
}
T_VNNI static int32_t dot_u8s8_vnni(const uint8_t *a, const int8_t *b, size_t d) {
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 128 <= d; i += 128) {
        s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
        s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(a + i + 64), _mm512_loadu_si512(b + i + 64));
    }
    for (; i + 64 <= d; i += 64)
        s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
    if (i < d) {
        __mmask64 m = (__mmask64)((~0ULL) >> (64 - (d - i)));
        s1 = _mm512_dpbusd_epi32(s1, _mm512_maskz_loadu_epi8(m, a + i), _mm512_maskz_loadu_epi8(m, b + i));
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}
T_VNNI static uint32_t hamming_vpopcnt(const uint64_t *a, const uint64_t *b, size_t n) {
    __m512i s = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + i),
                                                                     _mm512_loadu_si512(b + i))));
    if (i < n) {
        __mmask8 m = (__mmask8)((1u << (n - i)) - 1u);
        s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_xor_si512(
                                    _mm512_maskz_loadu_epi64(m, a + i), _mm512_maskz_loadu_epi64(m, b + i))));
    }
    return (uint32_t)_mm512_reduce_add_epi64(s);
}

static const ss_kernels k_avx512 = {"avx512",      dot_f32_512,   l2_f32_512,
                                    dot_f16_512,   l2_f16_512,    dot_u8s8_512,
                                    hamming_popcnt, dot_bits_avx2, dot4_f32_512};
static const ss_kernels k_vnni = {"avx512-vnni", dot_f32_512,   l2_f32_512,
                                  dot_f16_512,   l2_f16_512,    dot_u8s8_vnni,
                                  hamming_vpopcnt, dot_bits_avx2, dot4_f32_512};
#endif /* SS_X86 */

/* ---------------------------------------------------------------- binary LUT */

void ss_bits_lut_build(const float *q, size_t d, float *lut) {
    size_t nb = (d + 7) / 8;
    for (size_t i = 0; i < nb; i++) {
        /* sums over the low and the high nibble, then every byte = hi + lo
         * (16 independent adds per row: vectorised) */
        float lo[16], hi[16], v[8];
        for (size_t j = 0; j < 8; j++) v[j] = 8 * i + j < d ? q[8 * i + j] : 0.0f;
        lo[0] = hi[0] = 0;
        for (unsigned b = 1; b < 16; b++) {
            unsigned j = (unsigned)__builtin_ctz(b);
            lo[b] = lo[b & (b - 1)] + v[j];
            hi[b] = hi[b & (b - 1)] + v[4 + j];
        }
        float *t = lut + i * 256;
        for (unsigned h = 0; h < 16; h++)
            for (unsigned l = 0; l < 16; l++) t[h * 16 + l] = hi[h] + lo[l];
    }
}

float ss_bits_lut_dot(const float *lut, const uint8_t *code, size_t nbytes) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= nbytes; i += 4) {
        s0 += lut[i * 256 + code[i]];
        s1 += lut[(i + 1) * 256 + code[i + 1]];
        s2 += lut[(i + 2) * 256 + code[i + 2]];
        s3 += lut[(i + 3) * 256 + code[i + 3]];
    }
    for (; i < nbytes; i++) s0 += lut[i * 256 + code[i]];
    return (s0 + s1) + (s2 + s3);
}

static int cpu_has(ss_isa isa) {
#if SS_X86
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("popcnt");
    int a512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl");
    switch (isa) {
    case SS_ISA_SCALAR: return 1;
    case SS_ISA_AVX2: return avx2;
    case SS_ISA_AVX512: return a512;
    case SS_ISA_AVX512_VNNI:
        return a512 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vpopcntdq");
    }
    return 0;
#else
    return isa == SS_ISA_SCALAR;
#endif
}

const ss_kernels *ss_kernels_for(ss_isa isa) {
    if (!cpu_has(isa)) return NULL;
    switch (isa) {
    case SS_ISA_SCALAR: return &k_scalar;
#if SS_X86
    case SS_ISA_AVX2: return &k_avx2;
    case SS_ISA_AVX512: return &k_avx512;
    case SS_ISA_AVX512_VNNI: return &k_vnni;
#else
    default: return NULL;
#endif
    }
    return NULL;
}

const ss_kernels *ss_kernels_best(void) {
    int cap = SS_ISA_AVX512_VNNI;
    const char *env = getenv("SEMSEARCH_ISA");
    if (env) {
        if (!strcmp(env, "scalar")) cap = SS_ISA_SCALAR;
        else if (!strcmp(env, "avx2")) cap = SS_ISA_AVX2;
        else if (!strcmp(env, "avx512")) cap = SS_ISA_AVX512;
    }
    for (int i = cap; i >= 0; i--) {
        const ss_kernels *k = ss_kernels_for((ss_isa)i);
        if (k) return k;
    }
    return &k_scalar;
}
