/* bgemm.c — bf16 weights, activations and the AVX512_BF16 GEMM (see bgemm.h).
 * The SIMD functions carry their own target attribute, so the library still
 * builds for baseline x86-64; the kernel runs only where the CPU has
 * AVX512_BF16 (ss_bgemm_available). */
#include "kernels/bgemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "kernels/amx.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SS_BX86 1
#else
#define SS_BX86 0
#endif

static void *alloc64(size_t bytes) {
    size_t b = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, b ? b : 64);
}

uint16_t ss_bf16_from_f32(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t e = u & 0x7F800000u;
    if (e == 0) return (uint16_t)((u >> 16) & 0x8000u);            /* zero, denormal: signed zero */
    if (e == 0x7F800000u) {
        if (u & 0x007FFFFFu) return (uint16_t)((u >> 16) | 0x0040u); /* NaN: quiet */
        return (uint16_t)(u >> 16);                                /* infinity */
    }
    u += 0x7FFFu + ((u >> 16) & 1u); /* round to nearest even (may carry into infinity) */
    return (uint16_t)(u >> 16);
}

float ss_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

ss_status ss_bweight_init(ss_bweight *q, const float *w, int n, int k, ss_error *err) {
    return ss_bweight_init_isa(q, w, n, k, -1, err);
}

static int amx_default(void) {
    const char *e = getenv("SEMSEARCH_BF16");
    return !(e && !strcmp(e, "avx512")) && ss_bgemm_amx_available();
}

ss_status ss_bweight_init_isa(ss_bweight *q, const float *w, int n, int k, int amx, ss_error *err) {
    memset(q, 0, sizeof *q);
    if (n <= 0 || k <= 0) return ss_fail(err, SS_ERR_INVALID, "bf16 weights: bad shape [%d, %d]", n, k);
    const int kp = ss_bk_pad(k);
    const size_t panels = (size_t)(n + 15) / 16, elems = panels * 16 * (size_t)kp;
    q->wp = alloc64(elems * sizeof(uint16_t));
    if (!q->wp) return ss_fail(err, SS_ERR_NOMEM, "bf16 weights: out of memory for [%d, %d]", n, k);
    memset(q->wp, 0, elems * sizeof(uint16_t));
    q->n = n, q->k = k, q->k_pad = kp;
    q->amx = amx < 0 ? amx_default() : (amx && ss_bgemm_amx_available());
    for (int r = 0; r < n; r++)
        for (int j = 0; j < k; j++) {
            float v = w[(size_t)r * k + j];
            if (!isfinite(v)) {
                ss_bweight_free(q);
                return ss_fail(err, SS_ERR_FORMAT, "bf16 weights: non-finite weight at row %d, column %d", r, j);
            }
            q->wp[((size_t)(r / 16) * (kp / 2) + j / 2) * 32 + (r % 16) * 2 + j % 2] = ss_bf16_from_f32(v);
        }
    return SS_OK;
}

void ss_bweight_free(ss_bweight *q) {
    free(q->wp);
    memset(q, 0, sizeof *q);
}

ss_status ss_bact_reserve(ss_bact *a, int T, int k, ss_error *err) {
    const int kp = ss_bk_pad(k);
    size_t bytes = (size_t)(T + 31) / 32 * 32 * kp * sizeof(uint16_t);
    if (bytes > a->cap_bytes) {
        void *d = alloc64(bytes);
        if (!d) return ss_fail(err, SS_ERR_NOMEM, "bf16 activations: out of memory for [%d, %d]", T, k);
        memset(d, 0, bytes); /* the rows past T that AMX tiles read: defined values */
        free(a->data);
        a->data = d, a->cap_bytes = bytes;
    }
    a->T = T, a->k = k, a->k_pad = kp;
    return SS_OK;
}

void ss_bact_free(ss_bact *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}

int ss_bgemm_available(void) {
#if SS_BX86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

int ss_bgemm_amx_available(void) { return ss_bgemm_available() && ss_amx_available(0, 1); }

const char *ss_bgemm_name(void) { return amx_default() ? "amx-bf16" : "avx512-bf16"; }

#if SS_BX86
#define T_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define INL __attribute__((always_inline)) inline

T_BF16 static void convert_rows_avx512(ss_bact *a, const float *x, int t0, int t1) {
    const int k = a->k, kp = a->k_pad;
    for (int t = t0; t < t1; t++) {
        const float *xr = x + (size_t)t * k;
        uint16_t *o = a->data + (size_t)t * kp;
        for (int j = 0; j < kp; j += 16) {
            __mmask16 m = j + 16 <= k ? (__mmask16)0xFFFF : (j < k ? (__mmask16)((1u << (k - j)) - 1) : 0);
            __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, xr + j)); /* padding: bf16(+0) = 0 */
            __m256i hi;
            memcpy(&hi, &h, sizeof hi);
            _mm256_store_si256((__m256i *)(o + j), hi);
        }
    }
}

/* acc += pairs of bf16 products (vdpbf16ps); inline asm for the same reason
 * as qgemm.c's vpdpbusd: GCC 12 spills accumulators around the intrinsic. */
#define DPBF16(acc, av, wv) __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(av), "v"(wv))

T_BF16 static INL void bstore(__m512 acc, const float *b, float *y, int ld, int t, int c, __mmask16 m) {
    if (b) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, b + c));
    _mm512_mask_storeu_ps(y + (size_t)t * ld + c, m, acc);
}

/* 8 rows × 3 panels (48 columns): 24 zmm accumulators, named (see qgemm.c). */
T_BF16 static void bf16_8x3(const uint16_t *a, int kp, const uint16_t *wp, const float *b, float *y, int ld, int t,
                            int c0) {
#define Z3(i) __m512 a##i##0 = _mm512_setzero_ps(), a##i##1 = a##i##0, a##i##2 = a##i##0;
    Z3(0) Z3(1) Z3(2) Z3(3) Z3(4) Z3(5) Z3(6) Z3(7)
#undef Z3
    const size_t ps = (size_t)16 * kp; /* elements per panel */
    const uint16_t *w0 = wp, *w1 = wp + ps, *w2 = wp + 2 * ps;
    for (int g = 0; g < kp / 2; g++) {
        __m512 v0 = _mm512_load_ps((const void *)(w0 + (size_t)g * 32));
        __m512 v1 = _mm512_load_ps((const void *)(w1 + (size_t)g * 32));
        __m512 v2 = _mm512_load_ps((const void *)(w2 + (size_t)g * 32));
        const uint16_t *ag = a + 2 * (size_t)g;
        int32_t two;
#define R(i)                                   \
    memcpy(&two, ag + (size_t)(i) * kp, 4);    \
    {                                          \
        __m512 av = _mm512_castsi512_ps(_mm512_set1_epi32(two)); \
        DPBF16(a##i##0, av, v0);               \
        DPBF16(a##i##1, av, v1);               \
        DPBF16(a##i##2, av, v2);               \
    }
        R(0) R(1) R(2) R(3) R(4) R(5) R(6) R(7)
#undef R
    }
#define S(i)                                              \
    bstore(a##i##0, b, y, ld, t + (i), c0, 0xFFFF);        \
    bstore(a##i##1, b, y, ld, t + (i), c0 + 16, 0xFFFF);   \
    bstore(a##i##2, b, y, ld, t + (i), c0 + 32, 0xFFFF);
    S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7)
#undef S
}

/* Edge tiles: up to 8 rows × one panel, columns masked to [c_lo, c_hi). */
T_BF16 static void bf16_edge(const uint16_t *a, int kp, const uint16_t *wp, int mr, const float *b, float *y, int ld,
                             int t, int c, int c_lo, int c_hi) {
    __m512 acc[8];
    for (int i = 0; i < 8; i++) acc[i] = _mm512_setzero_ps();
    for (int g = 0; g < kp / 2; g++) {
        __m512 v = _mm512_load_ps((const void *)(wp + (size_t)g * 32));
        for (int i = 0; i < mr; i++) {
            int32_t two;
            memcpy(&two, a + (size_t)i * kp + 2 * (size_t)g, 4);
            __m512 av = _mm512_castsi512_ps(_mm512_set1_epi32(two));
            DPBF16(acc[i], av, v);
        }
    }
    int lo = c_lo > c ? c_lo - c : 0, hi = c_hi - c < 16 ? c_hi - c : 16;
    __mmask16 m = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
    for (int i = 0; i < mr; i++) bstore(acc[i], b, y, ld, t + i, c, m);
}

T_BF16 static void bgemm_cols_avx512(const ss_bact *qa, const ss_bweight *w, const float *b, float *y, int ld, int n0,
                                     int n1) {
    const int T = qa->T, kp = w->k_pad;
    for (int p0 = n0 / 16; p0 * 16 < n1; p0 += 3) {
        int c0 = p0 * 16;
        const uint16_t *wp = w->wp + (size_t)p0 * 16 * kp;
        int full = c0 >= n0 && c0 + 48 <= n1;
        for (int t = 0; t < T; t += 8) {
            int mr = T - t < 8 ? T - t : 8;
            const uint16_t *ar = qa->data + (size_t)t * kp;
            if (full && mr == 8) {
                bf16_8x3(ar, kp, wp, b, y, ld, t, c0);
                continue;
            }
            for (int p = 0; p < 3 && c0 + 16 * p < n1; p++)
                bf16_edge(ar, kp, wp + (size_t)p * 16 * kp, mr, b, y, ld, t, c0 + 16 * p, n0, n1);
        }
    }
}

/* ---- AMX-BF16 ------------------------------------------------------------ */
#define T_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))

typedef struct amx_cfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_cfg;

/* Tiles 0-3: C (16 × 16 fp32) for rows {0-15, 16-31} × panels {0, 1};
 * 4, 5: A (16 rows × 32 bf16); 6, 7: B (16 pairs × 16 columns × 2). */
T_AMX static void bgemm_cols_amx(const ss_bact *qa, const ss_bweight *w, const float *b, float *y, int ld, int n0,
                                 int n1) {
    amx_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 8; i++) cfg.rows[i] = 16, cfg.colsb[i] = 64;
    _tile_loadconfig(&cfg);
    const int T = qa->T, kp = w->k_pad;
    const size_t as = (size_t)kp * 2; /* bytes per activation row */
    float c[32 * 32];
    for (int p0 = n0 / 16; p0 * 16 < n1; p0 += 2) {
        const int two = p0 * 16 + 16 < n1;
        const uint16_t *w0 = w->wp + (size_t)p0 * 16 * kp, *w1 = w0 + (size_t)16 * kp;
        for (int t = 0; t < T; t += 32) {
            const uint16_t *a0 = qa->data + (size_t)t * kp, *a1 = a0 + (size_t)16 * kp;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (int k0 = 0; k0 < kp; k0 += 32) {
                _tile_loadd(4, a0 + k0, as);
                _tile_loadd(5, a1 + k0, as);
                _tile_loadd(6, w0 + (size_t)k0 * 16, 64);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(2, 5, 6);
                if (two) {
                    _tile_loadd(7, w1 + (size_t)k0 * 16, 64);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_dpbf16ps(3, 5, 7);
                }
            }
            _tile_stored(0, c, 128);
            _tile_stored(2, c + 16 * 32, 128);
            if (two) {
                _tile_stored(1, c + 16, 128);
                _tile_stored(3, c + 16 * 32 + 16, 128);
            }
            int mr = T - t < 32 ? T - t : 32;
            for (int p = 0; p < 1 + two; p++) {
                int cc = (p0 + p) * 16, lo = n0 > cc ? n0 - cc : 0, hi = n1 - cc < 16 ? n1 - cc : 16;
                __mmask16 m = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
                for (int i = 0; i < mr; i++) bstore(_mm512_loadu_ps(c + i * 32 + p * 16), b, y, ld, t + i, cc, m);
            }
        }
    }
    _tile_release();
}
#endif

void ss_bact_convert_rows(ss_bact *a, const float *x, int t0, int t1) {
#if SS_BX86
    if (ss_bgemm_available()) {
        convert_rows_avx512(a, x, t0, t1);
        return;
    }
#endif
    const int k = a->k, kp = a->k_pad;
    for (int t = t0; t < t1; t++) {
        uint16_t *o = a->data + (size_t)t * kp;
        for (int j = 0; j < k; j++) o[j] = ss_bf16_from_f32(x[(size_t)t * k + j]);
        memset(o + k, 0, (size_t)(kp - k) * sizeof(uint16_t));
    }
}

void ss_bgemm_cols(const ss_bact *a, const ss_bweight *w, const float *b, float *y, int ld, int n0, int n1) {
    if (n1 <= n0 || a->T <= 0) return;
#if SS_BX86
    if (w->amx) bgemm_cols_amx(a, w, b, y, ld, n0, n1);
    else bgemm_cols_avx512(a, w, b, y, ld, n0, n1);
#else
    (void)w, (void)b, (void)y, (void)ld;
#endif
}
