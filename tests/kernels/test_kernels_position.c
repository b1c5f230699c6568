/* test_kernels_position.c — every element-wise kernel computes the same bits
 * for x[i] whatever the buffer's length, x[i]'s position in it and the
 * buffer's alignment (before, the vector lanes and the scalar tail of ss_gelu
 * differed in 1,755 of 20,000 inputs by up to 2.4e-7, so a token's activations
 * depended on where it sat in a batch).
 *
 * For each kernel: the reference value of x[i] is the kernel run on a buffer
 * holding x[i] alone. Then the 20,000 inputs are run through buffers of every
 * length 1..67 at every float offset 0..15 from a 64-byte boundary (each input
 * lands in every lane and in the tail), in place and out of place, and once
 * as one 20,000-element buffer; every result must equal the reference bit for
 * bit. Softmax and LayerNorm are row reductions: checked for out == inp
 * giving the out-of-place bits, and softmax for a row's independence of the
 * buffer offset. */
#include <stdint.h>

#include "kernels/ops.h"
#include "test.h"

#define N 20000
#define MAX_LEN 67
#define MAX_OFF 16

typedef void (*kern)(float *out, const float *inp, size_t n);

static void exp_shift(float *out, const float *inp, size_t n) { ss_exp_forward(out, inp, 1.5f, n); }

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(float lo, float hi) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return lo + (hi - lo) * (float)((rng >> 40) / (double)(1ull << 24));
}

static size_t count_diff(const float *a, const float *b, size_t n) {
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return d;
}

static void check_kernel(const char *name, kern k, const float *x) {
    static float ref[N], got[N];
    float *buf = aligned_alloc(64, 128 * sizeof(float));
    float *dst = aligned_alloc(64, 128 * sizeof(float));
    REQUIRE(buf && dst);
    for (size_t i = 0; i < N; i++) k(&ref[i], &x[i], 1);
    size_t bad = 0, combos = 0;
    for (int len = 1; len <= MAX_LEN; len++)
        for (int off = 0; off < MAX_OFF; off++) {
            /* Shift the start by `off` so each input visits every lane. */
            for (size_t j0 = 0; j0 < N; j0 += (size_t)len) {
                size_t n = N - j0 < (size_t)len ? N - j0 : (size_t)len;
                memcpy(buf + off, x + j0, n * sizeof(float));
                if ((j0 / len) % 2) { /* in place */
                    k(buf + off, buf + off, n);
                    memcpy(got + j0, buf + off, n * sizeof(float));
                } else { /* out of place */
                    k(dst + off, buf + off, n);
                    memcpy(got + j0, dst + off, n * sizeof(float));
                }
            }
            size_t d = count_diff(got, ref, N);
            if (d && !bad) fprintf(stderr, "%s: length %d offset %d: %zu values differ\n", name, len, off, d);
            bad += d;
            combos++;
        }
    k(got, x, N);
    size_t whole = count_diff(got, ref, N);
    printf("%-10s %zu length/offset combinations x %d inputs: %zu differences; one %d-element buffer: %zu\n", name,
           combos, N, bad, N, whole);
    CHECKF(bad == 0, "%s: %zu values depend on their position", name, bad);
    CHECKF(whole == 0, "%s: %zu values differ in one long buffer", name, whole);
    free(buf);
    free(dst);
}

static void check_rows(const float *x) {
    /* softmax: out == inp gives the out-of-place bits, and a row's result
     * does not depend on where the row lies in memory */
    float *a = aligned_alloc(64, 512 * sizeof(float)), *b = aligned_alloc(64, 512 * sizeof(float));
    float *c = aligned_alloc(64, 512 * sizeof(float));
    REQUIRE(a && b && c);
    size_t bad = 0;
    for (int n = 1; n <= 300; n += 7)
        for (int off = 0; off < 16; off += 3) {
            ss_softmax_forward(a, x, n);
            memcpy(b + 1, x, (size_t)n * sizeof(float));
            ss_softmax_forward(c + off, b + 1, n);
            bad += count_diff(a, c + off, (size_t)n);
            memcpy(b + off, x, (size_t)n * sizeof(float));
            ss_softmax_forward(b + off, b + off, n);
            bad += count_diff(a, b + off, (size_t)n);
        }
    printf("softmax    in place / any offset vs out of place: %zu differences\n", bad);
    CHECKF(bad == 0, "softmax: %zu values depend on aliasing or offset", bad);

    /* LayerNorm: the residual form equals LayerNorm of the written sum */
    const int H = 384, R = 5;
    float *g = malloc(H * sizeof(float)), *bt = malloc(H * sizeof(float));
    float *sum = malloc((size_t)R * H * sizeof(float)), *o1 = malloc((size_t)R * H * sizeof(float));
    float *o2 = malloc((size_t)R * H * sizeof(float)), m1[R], r1[R], m2[R], r2[R];
    REQUIRE(g && bt && sum && o1 && o2);
    for (int i = 0; i < H; i++) g[i] = frand(0.5f, 1.5f), bt[i] = frand(-0.1f, 0.1f);
    ss_residual_layernorm_forward(o1, sum, m1, r1, x, x + R * H, g, bt, R, H, 1e-12f);
    size_t sbad = 0;
    for (int i = 0; i < R * H; i++) {
        float s = x[i] + x[R * H + i];
        sbad += memcmp(&s, &sum[i], sizeof s) != 0;
    }
    ss_layernorm_forward(o2, m2, r2, sum, g, bt, R, H, 1e-12f);
    size_t lbad = count_diff(o1, o2, (size_t)R * H) + count_diff(m1, m2, R) + count_diff(r1, r2, R);
    printf("layernorm  residual form vs LayerNorm of its sum: %zu sum / %zu output differences\n", sbad, lbad);
    CHECK(sbad == 0 && lbad == 0);
    for (int r = 0; r < R; r++) CHECKF(r1[r] > 0 && isfinite(m1[r]), "row %d mean %g rstd %g", r, m1[r], r1[r]);
    free(a), free(b), free(c), free(g), free(bt), free(sum), free(o1), free(o2);
}

int main(void) {
    static float x[N];
    /* mostly the range activations take, plus the clamp edges of exp */
    for (size_t i = 0; i < N; i++) x[i] = i % 10 == 0 ? frand(-100.0f, 100.0f) : frand(-8.0f, 8.0f);
    x[0] = 0.0f, x[1] = -0.0f, x[2] = 1e-30f, x[3] = -1e-30f, x[4] = 88.5f, x[5] = -88.5f;
    check_kernel("gelu", ss_gelu_forward, x);
    check_kernel("gelu_tanh", ss_gelu_tanh_forward, x);
    check_kernel("relu", ss_relu_forward, x);
    check_kernel("exp", exp_shift, x);
    check_rows(x);
    return TEST_REPORT();
}
