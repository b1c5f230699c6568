/* quant.h — int8 quantisation for the encoder's Linear layers (the operands of
 * qgemm.h's kernels).
 *
 * WEIGHTS: per output channel (row n of PyTorch's [out, in] matrix),
 * symmetric: w_q[n, j] = round(w[n, j] / s_w[n]) in -127..127 with s_w[n] =
 * max_j |w[n, j]| / 127. Quantised once, when a model is loaded.
 *
 * ACTIVATIONS: per token (row t of the [T, k] input), asymmetric unsigned:
 * a_q[t, j] = clamp(round(x[t, j] / s_a[t]) + zp[t], 0, 255), with the row's
 * range [min(x, 0), max(x, 0)] mapped onto 0..255 (0.0 is exactly zp). Why
 * u8 + zero point rather than symmetric s8: AVX-512 VNNI's vpdpbusd multiplies
 * unsigned by signed bytes, so one operand must be u8 anyway; and the inputs of
 * the FFN's second GEMM are GELU outputs (>= -0.17, long positive tail), for
 * which a symmetric range would waste half of the codes. The zero point costs
 * one correction per output: sum_j (a_q - zp)·w_q = sum_j a_q·w_q - zp·wsum[n]
 * with wsum[n] = sum_j w_q[n, j], precomputed with the weights.
 *
 * Both operands are stored with rows padded to k_pad (a multiple of 64 bytes:
 * one AVX-512 register) with zeros; a zero weight makes the padding add 0.
 *
 * Thread safety: an ss_qweight is immutable after ss_qweight_init and may be
 * read by any number of threads; an ss_qact is written by one thread
 * (ss_qact_quantize) and then read by many (the GEMM's column ranges). */
#ifndef SS_KERNELS_QUANT_H
#define SS_KERNELS_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "semsearch.h"

#define SS_QK_ALIGN 64

static inline int ss_qk_pad(int k) { return (k + SS_QK_ALIGN - 1) / SS_QK_ALIGN * SS_QK_ALIGN; }

typedef struct ss_qweight {
    int n, k, k_pad;
    int8_t *w;      /* [n, k_pad], 64-byte aligned */
    float *scale;   /* [n] s_w */
    int32_t *wsum;  /* [n] sum of row n's codes */
    /* The same codes in the AVX-512 VNNI kernel's panel layout: 16-column
     * panels (n rounded up to 16, zero columns), each k_pad / 4 groups of
     * 64 bytes, byte 4·c + r of group g = w[16·p + c][4·g + r], i.e. what
     * one vpdpbusd multiplies with a broadcast 4-byte activation group.
     * Built at init on every CPU (it is a layout, not an ISA; n·k_pad bytes). */
    int8_t *wp;     /* [ceil(n/16) · k_pad · 16], 64-byte aligned */
    /* The AVX2 kernel's layout: 8-column panels (n rounded up to 8, zero
     * columns), each k_pad / 2 pairs of 16 bytes, byte 2·c + r of pair g =
     * w[8·p + c][2·g + r]: one vpmovsxbw gives the 8 columns × 2 k int16
     * operand of a vpmaddwd against a broadcast pair of activations. */
    int8_t *wp8;    /* [ceil(n/8) · k_pad · 8], 64-byte aligned */
} ss_qweight;

/* Quantise w [n, k] (row-major, PyTorch's [out, in]). Non-finite weights are
 * refused (SS_ERR_FORMAT, naming the row and column). */
ss_status ss_qweight_init(ss_qweight *q, const float *w, int n, int k, ss_error *err);
void ss_qweight_free(ss_qweight *q);

/* Quantised activations of one GEMM input. `wide` selects the storage the
 * kernel reads: bytes (u8) or the same codes widened to int16 (the AVX2
 * kernel's madd operand, so that it widens only the weights). */
typedef struct ss_qact {
    int T, k, k_pad, wide;
    void *data;      /* [T, k_pad] uint8_t (wide 0) or int16_t (wide 1), 64-byte aligned */
    float *scale;    /* [T] s_a */
    int32_t *zp;     /* [T] zero points */
    size_t cap_bytes, cap_rows;  /* allocated capacity */
} ss_qact;

/* Quantise x [T, k] (row stride k) into q (buffers grow on demand; a zeroed
 * ss_qact is empty). Returns SS_ERR_NOMEM on allocation failure. */
ss_status ss_qact_quantize(ss_qact *q, const float *x, int T, int k, int wide, ss_error *err);
/* The same in two steps, so that threads can quantise disjoint row ranges:
 * ss_qact_reserve sets the shape (T rows of k, storage `wide`) and grows the
 * buffers (the only step that can fail); ss_qact_quantize_rows then fills rows
 * [t0, t1) from x (row stride k) and allocates nothing. */
ss_status ss_qact_reserve(ss_qact *q, int T, int k, int wide, ss_error *err);
void ss_qact_quantize_rows(ss_qact *q, const float *x, int t0, int t1);
/* The same with the SIMD path chosen: simd 0 is the scalar reference, 1 the
 * best this CPU runs (AVX-512 F/BW, else AVX2), 2 the AVX2 one (where the CPU
 * has AVX2; else as 1). Every path writes the same codes, scales and zero
 * points bit for bit. For tests and benchmarks. ss_qact_simd_available: some
 * SIMD path (AVX2 or AVX-512) runs here. */
void ss_qact_quantize_rows_isa(ss_qact *q, const float *x, int t0, int t1, int simd);
int ss_qact_simd_available(void);
void ss_qact_free(ss_qact *q);

/* Row t's codes as unsigned values (either storage). */
static inline int ss_qact_code(const ss_qact *q, int t, int j) {
    size_t i = (size_t)t * q->k_pad + j;
    return q->wide ? ((const int16_t *)q->data)[i] : ((const uint8_t *)q->data)[i];
}

#endif
