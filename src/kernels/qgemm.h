/* qgemm.h — int8 GEMM for the encoder's Linear layers:
 *
 *   y[t, n] = s_a[t] · s_w[n] · (Σ_j a_q[t, j]·w_q[n, j] − zp[t]·wsum[n]) + b[n]
 *
 * with the operands of quant.h (u8 activations with a per-token zero point,
 * s8 weights with per-channel scales). Products are accumulated exactly in
 * int32 (|a_q·w_q| <= 255·127, so k up to 66,000 cannot overflow); the
 * dequantisation and the bias are fp32.
 *
 * Kernel sets, chosen at run time (cpuid via __builtin_cpu_supports, as in
 * src/index/kernels.c), all computing the same int32 sums bit for bit:
 *   scalar       the reference;
 *   avx2         activations stored as int16 (ss_qact wide), weights widened
 *                from s8 to int16 in registers (vpmovsxbw), vpmaddwd into
 *                int32 — exact, unlike vpmaddubsw, whose int16 pair sums
 *                saturate at 255·127·2 > 32767; a 6-row × 16-column register
 *                tile over the 8-column panels ss_qweight.wp8 with the
 *                dequantisation in the same pass (the 3 × 3 dot-product
 *                `tile` is kept as the generic driver's kernel);
 *   avx512-vnni  vpdpbusd (u8 × s8, four products summed into each int32 lane,
 *                no intermediate saturation): an 8-row × 48-column register
 *                tile over the weights' VNNI panels (ss_qweight.wp), each
 *                4-byte activation group broadcast, the int32 → fp32
 *                dequantisation and bias in the same pass;
 *   amx-int8     tdpbusd (u8 × s8 tiles, exact int32) on the same panels:
 *                32 × 32 output blocks of four 16 × 16 tiles, k in steps of
 *                64, then the avx512 epilogue. Where the CPU and Linux allow
 *                AMX (kernels/amx.h).
 * Since the int32 sums are identical and the dequantisation is one shared
 * scalar formula, every kernel set also gives bit-identical fp32 outputs.
 *
 * Kernel tables are read-only; any number of threads may run them at once on
 * disjoint column ranges of one output. */
#ifndef SS_KERNELS_QGEMM_H
#define SS_KERNELS_QGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/quant.h"

typedef enum { SS_QISA_SCALAR = 0, SS_QISA_AVX2 = 1, SS_QISA_AVX512_VNNI = 2, SS_QISA_AMX = 3 } ss_qisa;

typedef struct ss_qgemm_kernel {
    const char *name;
    int wide;    /* the ss_qact storage it reads (ss_qact_quantize's `wide`) */
    int mr, nr;  /* register tile: rows x columns per tile call */
    /* out[i·ldo + c] = Σ_{j < k_pad} a[i][j]·w[c][j] for i < mr_, c < nr_
     * (mr_ <= mr, nr_ <= nr): a points at row 0's codes (a_stride elements
     * per row), w at column 0's (k_pad bytes per column). */
    void (*tile)(const void *a, size_t a_stride, const int8_t *w, int k_pad, int mr_, int nr_, int32_t *out,
                 int ldo);
    /* When set, the whole column range in one call (its own blocking, the
     * weights' panel layout ss_qweight.wp, the dequantisation vectorised):
     * y (fp32, b may be NULL) or, when acc is non-NULL, the int32 sums. Same
     * results bit for bit as the tile path with the scalar epilogue. */
    void (*cols)(const ss_qact *a, const ss_qweight *w, const float *b, float *y, int32_t *acc, int ld, int n0,
                 int n1);
} ss_qgemm_kernel;

/* The table for one ISA, NULL when this CPU (or build) cannot run it. */
const ss_qgemm_kernel *ss_qgemm_for(ss_qisa isa);
/* The best table this CPU runs; SEMSEARCH_QISA=scalar|avx2|avx512-vnni caps it. */
const ss_qgemm_kernel *ss_qgemm_best(void);

/* Columns [n0, n1) of y [a->T, n_total] (row stride n_total):
 * y = dequant(a · wᵀ) + b (b may be NULL). a must have been quantised with
 * kern->wide. */
void ss_qgemm_cols(const ss_qgemm_kernel *kern, const ss_qact *a, const ss_qweight *w, const float *b, float *y,
                   int n_total, int n0, int n1);

/* The same columns as exact int32 sums with the zero point removed:
 * acc[t·ld + n] = Σ_j (a_q[t, j] − zp[t])·w_q[n, j]. For tests. */
void ss_qgemm_cols_s32(const ss_qgemm_kernel *kern, const ss_qact *a, const ss_qweight *w, int32_t *acc, int ld,
                       int n0, int n1);

#endif
