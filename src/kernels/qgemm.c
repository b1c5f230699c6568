/* qgemm.c — int8 GEMM kernels (scalar, AVX2 widening, AVX-512 VNNI) and the
 * blocked driver that dequantises their int32 tiles (see qgemm.h). Each SIMD
 * function carries its own target attribute, so the library builds for
 * baseline x86-64 and uses the widest kernels the CPU runs. */
#include "kernels/qgemm.h"

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

static const ss_qgemm_kernel q_scalar = {"scalar", 0, 1, 1, tile_scalar};

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

static const ss_qgemm_kernel q_avx2 = {"avx2", 1, 3, 3, tile_avx2};

/* ---------------------------------------------------------------- AVX-512 VNNI */
#define T_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))

/* 4 x 4 tile: 16 zmm accumulators + 4 weight vectors + 1 activation vector of
 * the 32 registers. Per 64 codes: one vpdpbusd per (row, column). */
T_VNNI static INL void tile_vnni_mn(const uint8_t *a, size_t as, const int8_t *w, int kp, int MR, int NR,
                                    int32_t *out, int ldo) {
    __m512i acc[4][4];
    for (int i = 0; i < MR; i++)
        for (int c = 0; c < NR; c++) acc[i][c] = _mm512_setzero_si512();
    for (int j = 0; j < kp; j += 64) {
        __m512i wv[4];
        for (int c = 0; c < NR; c++) wv[c] = _mm512_loadu_si512((const void *)(w + (size_t)c * kp + j));
        for (int i = 0; i < MR; i++) {
            __m512i av = _mm512_loadu_si512((const void *)(a + (size_t)i * as + j));
            for (int c = 0; c < NR; c++) acc[i][c] = _mm512_dpbusd_epi32(acc[i][c], av, wv[c]);
        }
    }
    for (int i = 0; i < MR; i++)
        for (int c = 0; c < NR; c++) out[i * ldo + c] = _mm512_reduce_add_epi32(acc[i][c]);
}

T_VNNI static void tile_vnni(const void *a_, size_t as, const int8_t *w, int kp, int mr, int nr, int32_t *out,
                             int ldo) {
    const uint8_t *a = a_;
#define TV(M, N) \
    case M * 8 + N: tile_vnni_mn(a, as, w, kp, M, N, out, ldo); return;
    switch (mr * 8 + nr) {
        TV(1, 1) TV(1, 2) TV(1, 3) TV(1, 4) TV(2, 1) TV(2, 2) TV(2, 3) TV(2, 4)
        TV(3, 1) TV(3, 2) TV(3, 3) TV(3, 4) TV(4, 1) TV(4, 2) TV(4, 3) TV(4, 4)
    }
#undef TV
}

static const ss_qgemm_kernel q_vnni = {"avx512-vnni", 0, 4, 4, tile_vnni};
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
#else
    default: return NULL;
#endif
    }
    return NULL;
}

const ss_qgemm_kernel *ss_qgemm_best(void) {
    int cap = SS_QISA_AVX512_VNNI;
    const char *env = getenv("SEMSEARCH_QISA");
    if (env) {
        if (!strcmp(env, "scalar")) cap = SS_QISA_SCALAR;
        else if (!strcmp(env, "avx2")) cap = SS_QISA_AVX2;
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
    qgemm(kern, a, w, b, y, NULL, n_total, n0, n1);
}

void ss_qgemm_cols_s32(const ss_qgemm_kernel *kern, const ss_qact *a, const ss_qweight *w, int32_t *acc, int ld,
                       int n0, int n1) {
    if (n1 <= n0 || a->T <= 0) return;
    qgemm(kern, a, w, NULL, NULL, acc, ld, n0, n1);
}
