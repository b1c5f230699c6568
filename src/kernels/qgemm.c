/* qgemm.c — int8 GEMM kernels (scalar, AVX2 widening, AVX-512 VNNI) and the
 * blocked driver that dequantises their int32 tiles (see qgemm.h). Each SIMD
 * function carries its own target attribute, so the library builds for
 * baseline x86-64 and uses the widest kernels the CPU runs. */
#include "kernels/qgemm.h"

#include "kernels/amx.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SS_X86 1
#else
#define SS_X86 0
#endif

/* Cache blocking of the driver: a block of QB_N weight columns (QB_N · k_pad
 * bytes, <= 72 KiB at k = 1536) is reused by QB_T token rows (<= 144 KiB of
 * int16 codes), both resident in L2. Multiples of every kernel's tile. */
#define QB_T 48
#define QB_N 48
#define QTILE_MAX 16 /* mr · nr of the largest tile */

/* ---------------------------------------------------------------- scalar */

static void tile_scalar(const void *a_, size_t as, const int8_t *w, int kp, int mr, int nr, int32_t *out, int ldo) {
    const uint8_t *a = a_;
    for (int i = 0; i < mr; i++)
        for (int c = 0; c < nr; c++) {
            const uint8_t *ar = a + (size_t)i * as;
            const int8_t *wc = w + (size_t)c * kp;
            int32_t s = 0;
            for (int j = 0; j < kp; j++) s += (int32_t)ar[j] * (int32_t)wc[j];
            out[i * ldo + c] = s;
        }
}

static const ss_qgemm_kernel q_scalar = {"scalar", 0, 1, 1, tile_scalar, NULL};

#if SS_X86
/* ---------------------------------------------------------------- AVX2 */
#define T_AVX2 __attribute__((target("avx2,fma")))
#define INL __attribute__((always_inline)) inline

T_AVX2 static INL int32_t hsum_epi32_256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* MR x NR tile; called with constants, so the loops unroll and the MR·NR
 * accumulators, NR widened weight vectors and one activation vector stay in
 * the 16 ymm registers (3 x 3: 9 + 3 + 1). Per 16 codes: NR widenings, MR
 * loads, MR·NR vpmaddwd (exact int16 x int16 -> int32 pair sums). */
T_AVX2 static INL void tile_avx2_mn(const int16_t *a, size_t as, const int8_t *w, int kp, int MR, int NR,
                                    int32_t *out, int ldo) {
    __m256i acc[3][3];
    for (int i = 0; i < MR; i++)
        for (int c = 0; c < NR; c++) acc[i][c] = _mm256_setzero_si256();
    for (int j = 0; j < kp; j += 16) {
        __m256i wv[3];
        for (int c = 0; c < NR; c++)
            wv[c] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + (size_t)c * kp + j)));
        for (int i = 0; i < MR; i++) {
            __m256i av = _mm256_loadu_si256((const __m256i *)(a + (size_t)i * as + j));
            for (int c = 0; c < NR; c++) acc[i][c] = _mm256_add_epi32(acc[i][c], _mm256_madd_epi16(av, wv[c]));
        }
    }
    for (int i = 0; i < MR; i++)
        for (int c = 0; c < NR; c++) out[i * ldo + c] = hsum_epi32_256(acc[i][c]);
}

T_AVX2 static void tile_avx2(const void *a_, size_t as, const int8_t *w, int kp, int mr, int nr, int32_t *out,
                             int ldo) {
    const int16_t *a = a_;
#define T2(M, N) \
    case M * 4 + N: tile_avx2_mn(a, as, w, kp, M, N, out, ldo); return;
    switch (mr * 4 + nr) {
        T2(1, 1) T2(1, 2) T2(1, 3) T2(2, 1) T2(2, 2) T2(2, 3) T2(3, 1) T2(3, 2) T2(3, 3)
    }
#undef T2
}

/* The panel kernel (what the encoder runs): MR rows × NP 8-column panels of
 * int32 accumulators, one output column per lane, so no horizontal sums.
 * Per k pair: NP vpmovsxbw of 16 weight bytes (ss_qweight.wp8: 8 columns ×
 * 2 k) into int16, MR broadcasts of a row's two int16 codes, MR·NP vpmaddwd
 * (exact int16 × int16 pair sums, no saturation: 2·255·127 < 2^31) and
 * vpaddd. 6 × 2: 12 accumulators + 2 weight vectors + 1 broadcast of the 16
 * ymm registers. Then vnni_mn's epilogue in 8 lanes: the same int32
 * correction, (s_a·s_w)·(float)v + b with separately rounded multiply and add,
 * so the fp32 outputs equal the scalar driver's bit for bit. Columns outside
 * [c_lo, c_hi) are masked off (a slice may begin or end inside a panel). */
#define AMR 6
#define ANP 2
T_AVX2 static INL void avx2_mn(const int16_t *a, int kp, const int8_t *wp, int MR, int NP, const ss_qact *qa,
                               const ss_qweight *w, const float *b, float *y, int32_t *out, int ld, int t, int c0,
                               int c_lo, int c_hi) {
    __m256i acc[AMR][ANP];
    for (int i = 0; i < MR; i++)
        for (int p = 0; p < NP; p++) acc[i][p] = _mm256_setzero_si256();
    const size_t ps = (size_t)8 * kp; /* bytes per panel */
    const int kg = kp / 2;
    for (int g = 0; g < kg; g++) {
        __m256i wv[ANP];
        for (int p = 0; p < NP; p++)
            wv[p] = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(wp + p * ps + (size_t)g * 16)));
        for (int i = 0; i < MR; i++) {
            int32_t two;
            memcpy(&two, a + (size_t)i * kp + 2 * (size_t)g, 4);
            __m256i av = _mm256_set1_epi32(two);
            for (int p = 0; p < NP; p++) acc[i][p] = _mm256_add_epi32(acc[i][p], _mm256_madd_epi16(av, wv[p]));
        }
    }
    for (int p = 0; p < NP; p++) {
        int c = c0 + 8 * p;
        __m256i lane = _mm256_add_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256i m = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(c_lo), lane),
                                        _mm256_cmpgt_epi32(_mm256_set1_epi32(c_hi), lane));
        __m256i ws = _mm256_maskload_epi32(w->wsum + c, m);
        __m256 sw = _mm256_maskload_ps(w->scale + c, m);
        __m256 bv = b ? _mm256_maskload_ps(b + c, m) : _mm256_setzero_ps();
        for (int i = 0; i < MR; i++) {
            __m256i v = _mm256_sub_epi32(acc[i][p], _mm256_mullo_epi32(_mm256_set1_epi32(qa->zp[t + i]), ws));
            size_t o = (size_t)(t + i) * ld + c;
            if (out) {
                _mm256_maskstore_epi32(out + o, m, v);
            } else {
                __m256 sc = _mm256_mul_ps(_mm256_set1_ps(qa->scale[t + i]), sw);
                _mm256_maskstore_ps(y + o, m, _mm256_add_ps(_mm256_mul_ps(sc, _mm256_cvtepi32_ps(v)), bv));
            }
        }
    }
}

/* The full 6 × 2 tile with named accumulators: as the generic avx2_mn, GCC
 * 12 keeps part of acc[6][2] on the stack (objdump); 12 named variables stay
 * in ymm registers. Same sums; the epilogue is avx2_mn's, on the stored
 * accumulators. */
T_AVX2 static void avx2_6x2(const int16_t *a, int kp, const int8_t *wp, const ss_qact *qa, const ss_qweight *w,
                            const float *b, float *y, int32_t *out, int ld, int t, int c0, int c_lo, int c_hi) {
#define Z2(i) __m256i a##i##0 = _mm256_setzero_si256(), a##i##1 = a##i##0;
    Z2(0) Z2(1) Z2(2) Z2(3) Z2(4) Z2(5)
#undef Z2
    const int8_t *w0 = wp, *w1 = wp + (size_t)8 * kp;
    const int16_t *r0 = a, *r1 = a + kp, *r2 = a + 2 * (size_t)kp, *r3 = a + 3 * (size_t)kp,
                  *r4 = a + 4 * (size_t)kp, *r5 = a + 5 * (size_t)kp;
    for (int g = 0; g < kp / 2; g++) {
        __m256i v0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(w0 + (size_t)g * 16)));
        __m256i v1 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(w1 + (size_t)g * 16)));
        int32_t two;
#define R(i)                                                              \
    memcpy(&two, r##i + 2 * (size_t)g, 4);                                \
    {                                                                     \
        __m256i av = _mm256_set1_epi32(two);                              \
        a##i##0 = _mm256_add_epi32(a##i##0, _mm256_madd_epi16(av, v0));   \
        a##i##1 = _mm256_add_epi32(a##i##1, _mm256_madd_epi16(av, v1));   \
    }
        R(0) R(1) R(2) R(3) R(4) R(5)
#undef R
    }
    __m256i acc[AMR][ANP] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}};
    for (int p = 0; p < ANP; p++) {
        int c = c0 + 8 * p;
        __m256i lane = _mm256_add_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256i m = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(c_lo), lane),
                                        _mm256_cmpgt_epi32(_mm256_set1_epi32(c_hi), lane));
        __m256i ws = _mm256_maskload_epi32(w->wsum + c, m);
        __m256 sw = _mm256_maskload_ps(w->scale + c, m);
        __m256 bv = b ? _mm256_maskload_ps(b + c, m) : _mm256_setzero_ps();
        for (int i = 0; i < AMR; i++) {
            __m256i v = _mm256_sub_epi32(acc[i][p], _mm256_mullo_epi32(_mm256_set1_epi32(qa->zp[t + i]), ws));
            size_t o = (size_t)(t + i) * ld + c;
            if (out) {
                _mm256_maskstore_epi32(out + o, m, v);
            } else {
                __m256 sc = _mm256_mul_ps(_mm256_set1_ps(qa->scale[t + i]), sw);
                _mm256_maskstore_ps(y + o, m, _mm256_add_ps(_mm256_mul_ps(sc, _mm256_cvtepi32_ps(v)), bv));
            }
        }
    }
}

/* Rows in blocks of QB_T (their int16 codes, <= 144 KiB at k = 1536, stay in
 * L2), within a block one NP-panel column block at a time (<= 24 KiB of
 * weights) over every row tile of the block. */
T_AVX2 static void avx2_cols(const ss_qact *qa, const ss_qweight *w, const float *b, float *y, int32_t *out, int ld,
                             int n0, int n1) {
    const int T = qa->T, kp = w->k_pad;
    const int16_t *a = qa->data;
    for (int tb = 0; tb < T; tb += QB_T) {
        int te = tb + QB_T < T ? tb + QB_T : T;
        for (int p0 = n0 / 8; p0 * 8 < n1; p0 += ANP) {
            int np = (n1 - p0 * 8 + 7) / 8;
            if (np > ANP) np = ANP;
            const int8_t *wp = w->wp8 + (size_t)p0 * 8 * kp;
            for (int t = tb; t < te; t += AMR) {
                int mr = te - t < AMR ? te - t : AMR;
                const int16_t *ar = a + (size_t)t * kp;
                if (mr == AMR && np == ANP) {
                    avx2_6x2(ar, kp, wp, qa, w, b, y, out, ld, t, p0 * 8, n0, n1);
                    continue;
                }
#define AK(M, N) \
    case (M) * 4 + (N): avx2_mn(ar, kp, wp, M, N, qa, w, b, y, out, ld, t, p0 * 8, n0, n1); break;
                switch (mr * 4 + np) {
                    AK(1, 1) AK(1, 2) AK(2, 1) AK(2, 2) AK(3, 1) AK(3, 2) AK(4, 1) AK(4, 2) AK(5, 1) AK(5, 2)
                    AK(6, 1) AK(6, 2)
                }
#undef AK
            }
        }
    }
}

static const ss_qgemm_kernel q_avx2 = {"avx2", 1, 3, 3, tile_avx2, avx2_cols};

/* ---------------------------------------------------------------- AVX-512 VNNI */
#define T_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))

/* The panel kernel: MR rows × NP 16-column panels of accumulators (8 × 3 =
 * 24 zmm, plus NP weight vectors and one broadcast: 28 of 32). Per 4-byte
 * k group: NP aligned 64-byte weight loads, MR broadcast loads, MR·NP
 * vpdpbusd. Then the epilogue of the scalar driver, lane-wise: the same
 * int32 correction, the same (s_a·s_w)·(float)v + b in the same order with
 * separately rounded multiply and add (ISO C mode: no FMA contraction), so
 * results are bit-identical to the scalar kernels'. Columns outside
 * [c_lo, c_hi) are masked off (a slice may begin or end inside a panel). */
/* acc += u8(a) · s8(w), four bytes per lane. As inline asm because GCC 12
 * copies each accumulator into zmm0-15 and spills it to the stack around
 * every _mm512_dpbusd_epi32 of a large unrolled tile (perf annotate). */
#define DPBUSD(acc, av, wv) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(av), "v"(wv))
#define VMR 8
#define VNP 3
T_VNNI static INL void vnni_mn(const uint8_t *a, int kp, const int8_t *wp, int MR, int NP, const ss_qact *qa,
                               const ss_qweight *w, const float *b, float *y, int32_t *out, int ld, int t, int c0,
                               int c_lo, int c_hi) {
    __m512i acc[VMR][VNP];
    for (int i = 0; i < MR; i++)
        for (int p = 0; p < NP; p++) acc[i][p] = _mm512_setzero_si512();
    const size_t ps = (size_t)16 * kp; /* bytes per panel */
    const int kg = kp / 4;
    for (int g = 0; g < kg; g++) {
        __m512i wv[VNP];
        for (int p = 0; p < NP; p++) wv[p] = _mm512_load_si512((const void *)(wp + p * ps + (size_t)g * 64));
        for (int i = 0; i < MR; i++) {
            int32_t four;
            memcpy(&four, a + (size_t)i * kp + 4 * (size_t)g, 4);
            __m512i av = _mm512_set1_epi32(four);
            for (int p = 0; p < NP; p++) DPBUSD(acc[i][p], av, wv[p]);
        }
    }
    for (int p = 0; p < NP; p++) {
        int c = c0 + 16 * p, lo = c_lo > c ? c_lo - c : 0, hi = c_hi - c < 16 ? c_hi - c : 16;
        __mmask16 m = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
        __m512i ws = _mm512_maskz_loadu_epi32(m, w->wsum + c);
        __m512 sw = _mm512_maskz_loadu_ps(m, w->scale + c);
        __m512 bv = b ? _mm512_maskz_loadu_ps(m, b + c) : _mm512_setzero_ps();
        for (int i = 0; i < MR; i++) {
            __m512i v = _mm512_sub_epi32(acc[i][p], _mm512_mullo_epi32(_mm512_set1_epi32(qa->zp[t + i]), ws));
            size_t o = (size_t)(t + i) * ld + c;
            if (out) {
                _mm512_mask_storeu_epi32(out + o, m, v);
            } else {
                __m512 sc = _mm512_mul_ps(_mm512_set1_ps(qa->scale[t + i]), sw);
                _mm512_mask_storeu_ps(y + o, m, _mm512_add_ps(_mm512_mul_ps(sc, _mm512_cvtepi32_ps(v)), bv));
            }
        }
    }
}

/* The full 8 × 3 tile with named accumulators: written as the generic
 * vnni_mn, GCC keeps acc[8][3] partly on the stack and copies registers
 * around every vpdpbusd (seen in perf annotate); 24 named variables stay in
 * zmm registers. Same arithmetic, same epilogue (vnni_store). */
T_VNNI static INL void vnni_store(__m512i acc, const ss_qact *qa, const ss_qweight *w, const float *b, float *y,
                                  int32_t *out, int ld, int t, int c) {
    __m512i v = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(qa->zp[t]), _mm512_loadu_si512(w->wsum + c)));
    size_t o = (size_t)t * ld + c;
    if (out) {
        _mm512_storeu_si512(out + o, v);
    } else {
        __m512 sc = _mm512_mul_ps(_mm512_set1_ps(qa->scale[t]), _mm512_loadu_ps(w->scale + c));
        __m512 bv = b ? _mm512_loadu_ps(b + c) : _mm512_setzero_ps();
        _mm512_storeu_ps(y + o, _mm512_add_ps(_mm512_mul_ps(sc, _mm512_cvtepi32_ps(v)), bv));
    }
}


T_VNNI static void vnni_8x3(const uint8_t *a, int kp, const int8_t *wp, const ss_qact *qa, const ss_qweight *w,
                            const float *b, float *y, int32_t *out, int ld, int t, int c0) {
#define Z3(i) __m512i a##i##0 = _mm512_setzero_si512(), a##i##1 = a##i##0, a##i##2 = a##i##0;
    Z3(0) Z3(1) Z3(2) Z3(3) Z3(4) Z3(5) Z3(6) Z3(7)
#undef Z3
    const size_t ps = (size_t)16 * kp;
    const int8_t *w0 = wp, *w1 = wp + ps, *w2 = wp + 2 * ps;
    const size_t as = (size_t)kp;
    for (int g = 0; g < kp / 4; g++) {
        __m512i v0 = _mm512_load_si512((const void *)(w0 + (size_t)g * 64));
        __m512i v1 = _mm512_load_si512((const void *)(w1 + (size_t)g * 64));
        __m512i v2 = _mm512_load_si512((const void *)(w2 + (size_t)g * 64));
        const uint8_t *ag = a + 4 * (size_t)g;
        int32_t four;
#define R(i)                                                  \
    memcpy(&four, ag + (i) * as, 4);                          \
    {                                                         \
        __m512i av = _mm512_set1_epi32(four);                 \
        DPBUSD(a##i##0, av, v0);                              \
        DPBUSD(a##i##1, av, v1);                              \
        DPBUSD(a##i##2, av, v2);                              \
    }
        R(0) R(1) R(2) R(3) R(4) R(5) R(6) R(7)
#undef R
    }
#define S(i)                                                        \
    vnni_store(a##i##0, qa, w, b, y, out, ld, t + (i), c0);         \
    vnni_store(a##i##1, qa, w, b, y, out, ld, t + (i), c0 + 16);    \
    vnni_store(a##i##2, qa, w, b, y, out, ld, t + (i), c0 + 32);
    S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7)
#undef S
}

T_VNNI static void vnni_cols(const ss_qact *qa, const ss_qweight *w, const float *b, float *y, int32_t *out, int ld,
                             int n0, int n1) {
    const int T = qa->T, kp = w->k_pad;
    const uint8_t *a = qa->data;
    /* Column blocks of NP panels (<= 72 KiB of weights at k = 1536, L2),
     * every row tile over one block before the next (the activations,
     * <= T·k_pad bytes, stay in L2 across blocks). */
    for (int p0 = n0 / 16; p0 * 16 < n1; p0 += VNP) {
        int np = (n1 - p0 * 16 + 15) / 16;
        if (np > VNP) np = VNP;
        const int8_t *wp = w->wp + (size_t)p0 * 16 * kp;
        for (int t = 0; t < T; t += VMR) {
            int mr = T - t < VMR ? T - t : VMR;
            const uint8_t *ar = a + (size_t)t * kp;
            if (mr == VMR && np == VNP && p0 * 16 >= n0 && p0 * 16 + 16 * VNP <= n1) {
                vnni_8x3(ar, kp, wp, qa, w, b, y, out, ld, t, p0 * 16);
                continue;
            }
#define VK(M, N) \
    case (M) * 4 + (N): vnni_mn(ar, kp, wp, M, N, qa, w, b, y, out, ld, t, p0 * 16, n0, n1); break;
            switch (mr * 4 + np) {
                VK(1, 1) VK(1, 2) VK(1, 3) VK(2, 1) VK(2, 2) VK(2, 3) VK(3, 1) VK(3, 2) VK(3, 3) VK(4, 1) VK(4, 2)
                VK(4, 3) VK(5, 1) VK(5, 2) VK(5, 3) VK(6, 1) VK(6, 2) VK(6, 3) VK(7, 1) VK(7, 2) VK(7, 3)
                VK(8, 1) VK(8, 2) VK(8, 3)
            }
#undef VK
        }
    }
}

static const ss_qgemm_kernel q_vnni = {"avx512-vnni", 0, VMR, 16 * VNP, NULL, vnni_cols};

/* ---------------------------------------------------------------- AMX-INT8 */
#define T_AMX __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni")))

typedef struct amx_cfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_cfg;

/* Tiles 0-3: C (16 × 16 int32) for rows {0-15, 16-31} × panels {0, 1};
 * 4, 5: A (16 rows × 64 u8 codes, ss_qact rows: padded to 32 rows by
 * ss_qact_reserve); 6, 7: B (16 groups × 16 columns × 4 s8: 1 KiB of a
 * VNNI panel). The int32 sums are exact, so they equal every other kernel's. */
T_AMX static void amx_cols(const ss_qact *qa, const ss_qweight *w, const float *b, float *y, int32_t *out, int ld,
                           int n0, int n1) {
    amx_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 8; i++) cfg.rows[i] = 16, cfg.colsb[i] = 64;
    _tile_loadconfig(&cfg);
    const int T = qa->T, kp = w->k_pad;
    const uint8_t *a = qa->data;
    int32_t c[32 * 32];
    for (int p0 = n0 / 16; p0 * 16 < n1; p0 += 2) {
        const int two = p0 * 16 + 16 < n1;
        const int8_t *w0 = w->wp + (size_t)p0 * 16 * kp, *w1 = w0 + (size_t)16 * kp;
        for (int t = 0; t < T; t += 32) {
            const uint8_t *a0 = a + (size_t)t * kp, *a1 = a0 + (size_t)16 * kp;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (int k0 = 0; k0 < kp; k0 += 64) {
                _tile_loadd(4, a0 + k0, kp);
                _tile_loadd(5, a1 + k0, kp);
                _tile_loadd(6, w0 + (size_t)k0 * 16, 64);
                _tile_dpbusd(0, 4, 6);
                _tile_dpbusd(2, 5, 6);
                if (two) {
                    _tile_loadd(7, w1 + (size_t)k0 * 16, 64);
                    _tile_dpbusd(1, 4, 7);
                    _tile_dpbusd(3, 5, 7);
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
                __m512i ws = _mm512_maskz_loadu_epi32(m, w->wsum + cc);
                __m512 sw = _mm512_maskz_loadu_ps(m, w->scale + cc);
                __m512 bv = b ? _mm512_maskz_loadu_ps(m, b + cc) : _mm512_setzero_ps();
                for (int i = 0; i < mr; i++) {
                    __m512i acc = _mm512_loadu_si512(c + i * 32 + p * 16);
                    __m512i v = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(qa->zp[t + i]), ws));
                    size_t o = (size_t)(t + i) * ld + cc;
                    if (out) {
                        _mm512_mask_storeu_epi32(out + o, m, v);
                    } else { /* vnni_mn's epilogue, the same operations */
                        __m512 sc = _mm512_mul_ps(_mm512_set1_ps(qa->scale[t + i]), sw);
                        _mm512_mask_storeu_ps(y + o, m, _mm512_add_ps(_mm512_mul_ps(sc, _mm512_cvtepi32_ps(v)), bv));
                    }
                }
            }
        }
    }
    _tile_release();
}

static const ss_qgemm_kernel q_amx = {"amx-int8", 0, 32, 32, NULL, amx_cols};
#endif

/* ---------------------------------------------------------------- dispatch */

static int cpu_has(ss_qisa isa) {
#if SS_X86
    __builtin_cpu_init();
    switch (isa) {
    case SS_QISA_SCALAR: return 1;
    case SS_QISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SS_QISA_AVX512_VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    case SS_QISA_AMX: return cpu_has(SS_QISA_AVX512_VNNI) && ss_amx_available(1, 0);
    }
    return 0;
#else
    return isa == SS_QISA_SCALAR;
#endif
}

const ss_qgemm_kernel *ss_qgemm_for(ss_qisa isa) {
    if (!cpu_has(isa)) return NULL;
    switch (isa) {
    case SS_QISA_SCALAR: return &q_scalar;
#if SS_X86
    case SS_QISA_AVX2: return &q_avx2;
    case SS_QISA_AVX512_VNNI: return &q_vnni;
    case SS_QISA_AMX: return &q_amx;
#else
    default: return NULL;
#endif
    }
    return NULL;
}

const ss_qgemm_kernel *ss_qgemm_best(void) {
    int cap = SS_QISA_AMX;
    const char *env = getenv("SEMSEARCH_QISA");
    if (env) {
        if (!strcmp(env, "scalar")) cap = SS_QISA_SCALAR;
        else if (!strcmp(env, "avx2")) cap = SS_QISA_AVX2;
        else if (!strcmp(env, "avx512-vnni")) cap = SS_QISA_AVX512_VNNI;
    }
    for (int i = cap; i >= 0; i--) {
        const ss_qgemm_kernel *k = ss_qgemm_for((ss_qisa)i);
        if (k) return k;
    }
    return &q_scalar;
}

/* ---------------------------------------------------------------- driver */

/* One loop nest for both outputs: y (fp32, dequantised) or acc (int32). The
 * dequantisation is this one scalar expression whatever the kernel, so the
 * fp32 result depends only on the (exact) int32 sums. */
static void qgemm(const ss_qgemm_kernel *kern, const ss_qact *a, const ss_qweight *w, const float *b, float *y,
                  int32_t *acc, int ld, int n0, int n1) {
    const int T = a->T, kp = w->k_pad, mr = kern->mr, nr = kern->nr;
    const size_t esz = a->wide ? 2 : 1;
    int32_t c[QTILE_MAX];
    for (int nb = n0; nb < n1; nb += QB_N) {
        int ne = nb + QB_N < n1 ? nb + QB_N : n1;
        for (int tb = 0; tb < T; tb += QB_T) {
            int te = tb + QB_T < T ? tb + QB_T : T;
            for (int n = nb; n < ne; n += nr) {
                int nn = ne - n < nr ? ne - n : nr;
                for (int t = tb; t < te; t += mr) {
                    int mm = te - t < mr ? te - t : mr;
                    kern->tile((const char *)a->data + (size_t)t * kp * esz, (size_t)kp, w->w + (size_t)n * kp, kp,
                               mm, nn, c, nn);
                    for (int i = 0; i < mm; i++) {
                        int32_t z = a->zp[t + i];
                        float sa = a->scale[t + i];
                        for (int q = 0; q < nn; q++) {
                            int32_t v = c[i * nn + q] - z * w->wsum[n + q];
                            size_t o = (size_t)(t + i) * ld + n + q;
                            if (acc) acc[o] = v;
                            else y[o] = (sa * w->scale[n + q]) * (float)v + (b ? b[n + q] : 0.0f);
                        }
                    }
                }
            }
        }
    }
}

void ss_qgemm_cols(const ss_qgemm_kernel *kern, const ss_qact *a, const ss_qweight *w, const float *b, float *y,
                   int n_total, int n0, int n1) {
    if (n1 <= n0 || a->T <= 0) return;
    if (kern->cols) {
        kern->cols(a, w, b, y, NULL, n_total, n0, n1);
        return;
    }
    qgemm(kern, a, w, b, y, NULL, n_total, n0, n1);
}

void ss_qgemm_cols_s32(const ss_qgemm_kernel *kern, const ss_qact *a, const ss_qweight *w, int32_t *acc, int ld,
                       int n0, int n1) {
    if (n1 <= n0 || a->T <= 0) return;
    if (kern->cols) {
        kern->cols(a, w, NULL, NULL, acc, ld, n0, n1);
        return;
    }
    qgemm(kern, a, w, NULL, NULL, acc, ld, n0, n1);
}
