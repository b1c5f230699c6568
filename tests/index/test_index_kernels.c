/* Distance kernels: every ISA level this CPU runs against a double-precision
 * scalar reference; int8 and binary kernels must be exact. */
#include "index/kernels.h"
#include "idx_util.h"
#include "test.h"

int main(void) {
    static const char *names[] = {"scalar", "avx2", "avx512", "avx512-vnni"};
    int tested = 0;
    rng r = {7};
    for (int isa = 0; isa <= SS_ISA_AVX512_VNNI; isa++) {
        const ss_kernels *k = ss_kernels_for((ss_isa)isa);
        if (!k) {
            printf("kernels: %s not supported on this CPU, skipped\n", names[isa]);
            continue;
        }
        tested++;
        for (size_t d = 1; d <= 200; d += (d < 40 ? 1 : 13)) {
            float *a = malloc(d * 4), *b = malloc(d * 4), *q1 = malloc(d * 4), *q2 = malloc(d * 4),
                  *q3 = malloc(d * 4);
            uint16_t *h = malloc(d * 2);
            uint8_t *u = malloc(d);
            int8_t *s = malloc(d);
            size_t nw = (d + 63) / 64;
            uint64_t *w1 = malloc(nw * 8), *w2 = malloc(nw * 8);
            for (size_t j = 0; j < d; j++) {
                a[j] = (float)rng_gauss(&r), b[j] = (float)rng_gauss(&r);
                q1[j] = (float)rng_gauss(&r), q2[j] = (float)rng_gauss(&r), q3[j] = (float)rng_gauss(&r);
                h[j] = ss_float_to_half(b[j]);
                u[j] = (uint8_t)(rng_next(&r) & 255);
                s[j] = (int8_t)((int)(rng_next(&r) % 255) - 127);
            }
            for (size_t j = 0; j < nw; j++) w1[j] = rng_next(&r), w2[j] = rng_next(&r);
            double dot = 0, l2 = 0, dh = 0, lh = 0, an = 0;
            int64_t di = 0;
            uint32_t ham = 0;
            for (size_t j = 0; j < d; j++) {
                double hb = ss_half_to_float(h[j]);
                dot += (double)a[j] * b[j];
                l2 += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
                dh += a[j] * hb;
                lh += (a[j] - hb) * (a[j] - hb);
                an += (double)a[j] * a[j] + (double)b[j] * b[j];
                di += (int64_t)u[j] * s[j];
            }
            for (size_t j = 0; j < d; j++)
                if ((w1[j / 64] ^ w2[j / 64]) >> (j % 64) & 1) ham++;
            double dbits = 0; /* set bits j < d only: the kernel must ignore the rest of the word */
            for (size_t j = 0; j < d; j++)
                if (w1[j / 64] >> (j % 64) & 1) dbits += a[j];
            float got_bits = k->dot_bits(a, w1, d);
            uint64_t mask = d % 64 ? (1ull << (d % 64)) - 1 : ~0ull;
            w1[nw - 1] &= mask, w2[nw - 1] &= mask;
            double tol = 1e-5 * an + 1e-6;
            CHECKF(fabs(k->dot_f32(a, b, d) - dot) <= tol, "%s dot_f32 d=%zu", k->name, d);
            CHECKF(fabs(k->l2_f32(a, b, d) - l2) <= tol, "%s l2_f32 d=%zu", k->name, d);
            CHECKF(fabs(k->dot_f16(a, h, d) - dh) <= tol, "%s dot_f16 d=%zu", k->name, d);
            CHECKF(fabs(k->l2_f16(a, h, d) - lh) <= tol, "%s l2_f16 d=%zu", k->name, d);
            CHECKF(k->dot_u8s8(u, s, d) == di, "%s dot_u8s8 d=%zu: %d vs %lld", k->name, d, k->dot_u8s8(u, s, d),
                   (long long)di);
            CHECKF(k->hamming(w1, w2, nw) == ham, "%s hamming d=%zu", k->name, d);
            CHECKF(fabs(got_bits - dbits) <= tol, "%s dot_bits d=%zu: %g vs %g", k->name, d, got_bits, dbits);
            float *lut = malloc((d + 7) / 8 * 256 * sizeof *lut);
            ss_bits_lut_build(a, d, lut);
            float got_lut = ss_bits_lut_dot(lut, (const uint8_t *)w1, (d + 7) / 8);
            CHECKF(fabs(got_lut - dbits) <= tol, "bits LUT d=%zu: %g vs %g", d, got_lut, dbits);
            free(lut);
            const float *qs[4] = {a, q1, q2, q3};
            float out[4];
            k->dot4_f32(qs, b, d, out);
            for (int t = 0; t < 4; t++) {
                double ref = 0;
                for (size_t j = 0; j < d; j++) ref += (double)qs[t][j] * b[j];
                CHECKF(fabs(out[t] - ref) <= tol * 2, "%s dot4 d=%zu lane %d", k->name, d, t);
            }
            free(a), free(b), free(q1), free(q2), free(q3), free(h), free(u), free(s), free(w1), free(w2);
        }
    }
    CHECK(tested >= 1);
    /* half conversion: every finite half round-trips exactly */
    int bad = 0;
    for (uint32_t v = 0; v < 65536; v++) {
        if (((v >> 10) & 0x1f) == 0x1f) continue;
        float f = ss_half_to_float((uint16_t)v);
        if (ss_float_to_half(f) != (uint16_t)v) bad++;
    }
    CHECKF(bad == 0, "%d halves do not round-trip", bad);
    CHECK(ss_float_to_half(1.0f) == 0x3c00);
    CHECK(ss_float_to_half(-2.0f) == 0xc000);
    CHECK(ss_float_to_half(65504.0f) == 0x7bff);
    CHECK(ss_float_to_half(1e6f) == 0x7c00);
    CHECK(ss_half_to_float(0x0001) == 5.9604644775390625e-08f);
    printf("best kernels here: %s\n", ss_kernels_best()->name);
    return TEST_REPORT();
}
