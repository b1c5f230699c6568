/* kernels.h — distance kernels for the vector index, chosen at run time.
 *
 * Every kernel set (scalar, AVX2+FMA, AVX-512, AVX-512 VNNI/VPOPCNTDQ) computes
 * the same quantities; tests compare each against the scalar reference.
 * Kernel tables are read-only; an index keeps a pointer to the one it uses. */
#ifndef SS_INDEX_KERNELS_H
#define SS_INDEX_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/half.h"

typedef struct ss_kernels {
    const char *name;
    float (*dot_f32)(const float *a, const float *b, size_t d);
    float (*l2_f32)(const float *a, const float *b, size_t d);
    /* a: fp32 query, b: IEEE half codes */
    float (*dot_f16)(const float *a, const uint16_t *b, size_t d);
    float (*l2_f16)(const float *a, const uint16_t *b, size_t d);
    /* sum_j a[j] * b[j], a unsigned codes 0..255, b signed -127..127, exact */
    int32_t (*dot_u8s8)(const uint8_t *a, const int8_t *b, size_t d);
    /* hamming distance of two bit strings of nwords 64-bit words */
    uint32_t (*hamming)(const uint64_t *a, const uint64_t *b, size_t nwords);
    /* sum of q[j] over the set bits j < d of a bit string: the fp32 query
     * against a binary code (asymmetric binary distance) */
    float (*dot_bits)(const float *q, const uint64_t *bits, size_t d);
    /* 4 queries x one fp32 vector: out[i] = dot(q[i], b) (register blocking) */
    void (*dot4_f32)(const float *const q[4], const float *b, size_t d, float out[4]);
} ss_kernels;

/* Byte lookup table of an fp32 query for binary codes: lut[i * 256 + b] is
 * the sum of q[8i + j] over the set bits j of byte value b (dims >= d add 0).
 * ss_bits_lut_dot(lut, code, nbytes) then equals dot_bits(q, code, d) up to
 * rounding, in one load and add per code byte instead of 8 lanes of masking.
 * lut holds ceil(d / 8) * 256 floats. */
void ss_bits_lut_build(const float *q, size_t d, float *lut);
float ss_bits_lut_dot(const float *lut, const uint8_t *code, size_t nbytes);

typedef enum { SS_ISA_SCALAR = 0, SS_ISA_AVX2 = 1, SS_ISA_AVX512 = 2, SS_ISA_AVX512_VNNI = 3 } ss_isa;

/* Kernel table for one ISA level, NULL when this CPU (or build) lacks it. */
const ss_kernels *ss_kernels_for(ss_isa isa);
/* The best table this CPU supports. SEMSEARCH_ISA=scalar|avx2|avx512 caps it
 * (read once per call; used for testing and comparisons). */
const ss_kernels *ss_kernels_best(void);

/* IEEE half <-> float, portable. */

#endif
