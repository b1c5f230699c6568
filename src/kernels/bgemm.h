/* bgemm.h — bf16 GEMM for the encoder's Linear layers (compute "bf16"):
 *
 *   y[t, n] = Σ_j bf16(x[t, j])·bf16(w[n, j]) + b[n]
 *
 * Weights are rounded to bf16 once, when a model is loaded, and stored in
 * the kernel's panel layout; activations are rounded to bf16 at the GEMM
 * input; products are summed in fp32 by vdpbf16ps (AVX512_BF16), one fp32
 * accumulator per output over all of k in order, then the fp32 bias is added.
 *
 * Rounding (ss_bf16_from_f32) is vcvtneps2bf16's: round to nearest even,
 * denormals to signed zero, NaN kept quiet. vdpbf16ps, per lane and pair
 * (j = 2g, 2g+1) of k: acc = fma(x[2g+1], w[2g+1], acc), then the same for
 * 2g, each with denormal inputs read as zero and a denormal result flushed
 * to zero (SDM pseudo-code; tests/kernels/test_bgemm.c checks the kernel bit
 * for bit against that reference on this CPU).
 *
 * Where the CPU has AMX-BF16 (and Linux grants the tile state), the same
 * panels feed tdpbf16ps instead: 32 × 32 output blocks of four 16 × 16
 * tiles, k in steps of 32, fp32 accumulation in the tile unit. Its rounding
 * steps do not match the SDM pseudo-code bit for bit on the CPUs tried, so
 * the test bounds it against the exact dot product of the same bf16 operands
 * instead (the AVX512_BF16 kernel is checked bit for bit). Results do not
 * depend on the column split or thread count with either kernel.
 * ss_bweight.amx says which kernel a weight runs on.
 *
 * There is no portable fallback on purpose: bf16 compute is for CPUs with
 * AVX512_BF16; elsewhere loading a model with it fails with a clear error
 * (ss_bgemm_available). Weights are immutable after init and may be read by
 * any number of threads; an ss_bact is written by row ranges, then read. */
#ifndef SS_KERNELS_BGEMM_H
#define SS_KERNELS_BGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "semsearch.h"

#define SS_BK_ALIGN 32 /* k padded to 32 bf16 (64 bytes) with zeros */

static inline int ss_bk_pad(int k) { return (k + SS_BK_ALIGN - 1) / SS_BK_ALIGN * SS_BK_ALIGN; }

/* vcvtneps2bf16's rounding of one float, and the exact widening back. */
uint16_t ss_bf16_from_f32(float x);
float ss_bf16_to_f32(uint16_t h);

typedef struct ss_bweight {
    int n, k, k_pad;
    int amx; /* run by AMX-BF16 tiles (set at init where the CPU and OS allow them) */
    /* 16-column panels (n rounded up to 16, zero columns), each k_pad / 2
     * groups of 32 bf16: element 2·c + r of group g = w[16·p + c][2·g + r] */
    uint16_t *wp; /* 64-byte aligned */
} ss_bweight;

/* Round w [n, k] (row-major, PyTorch's [out, in]) into panels. Non-finite
 * weights are refused (SS_ERR_FORMAT, naming row and column). amx: -1 picks
 * (AMX where available), 0 forces the AVX512_BF16 kernel, 1 AMX (when
 * unavailable: 0). */
ss_status ss_bweight_init(ss_bweight *q, const float *w, int n, int k, ss_error *err);
ss_status ss_bweight_init_isa(ss_bweight *q, const float *w, int n, int k, int amx, ss_error *err);
void ss_bweight_free(ss_bweight *q);
/* Element [n, j] of the rounded weights. */
static inline uint16_t ss_bweight_at(const ss_bweight *q, int n, int j) {
    return q->wp[((size_t)(n / 16) * (q->k_pad / 2) + j / 2) * 32 + (n % 16) * 2 + j % 2];
}

typedef struct ss_bact {
    int T, k, k_pad;
    uint16_t *data;   /* [T, k_pad] bf16, 64-byte aligned, zero padded; room
                         for T rounded up to 32 rows (AMX loads whole tiles;
                         the extra rows' outputs are never stored) */
    size_t cap_bytes; /* allocated */
} ss_bact;

/* Shape T rows of k, growing the buffer (the only step that can fail). */
ss_status ss_bact_reserve(ss_bact *a, int T, int k, ss_error *err);
/* Rows [t0, t1) of x (row stride k) rounded into a (AVX512_BF16 when the
 * CPU has it, else the scalar rounding: the same bits). */
void ss_bact_convert_rows(ss_bact *a, const float *x, int t0, int t1);
void ss_bact_free(ss_bact *a);

/* Whether this CPU runs the bf16 kernel (AVX-512 F/BW/VL + AVX512_BF16). */
int ss_bgemm_available(void);
/* Whether AMX-BF16 tiles can run (CPUID, XCR0, and Linux's per-process
 * permission for the tile data, requested here: arch_prctl
 * ARCH_REQ_XCOMP_PERM; granting it is idempotent). SEMSEARCH_BF16=avx512
 * turns AMX off for the weights initialised afterwards. */
int ss_bgemm_amx_available(void);
const char *ss_bgemm_name(void); /* "amx-bf16" or "avx512-bf16": what ss_bweight_init picks */

/* Columns [n0, n1) of y [a->T, ld]: y = a · wᵀ (+ b when b is not NULL).
 * Only when ss_bgemm_available(). Any number of threads may run disjoint
 * column ranges of one output at once. */
void ss_bgemm_cols(const ss_bact *a, const ss_bweight *w, const float *b, float *y, int ld, int n0, int n1);

#endif
