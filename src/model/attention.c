/* attention.c — one (sequence, head) of self-attention, forward.
 *
 * Hand-written loops rather than BLAS: the matrices are tiny (L×d with d = 32
 * or 64), and every loop runs along a contiguous axis without reassociating a
 * sum, so the compiler vectorises it and the result is the same whatever
 * thread or batch computes it. */
#include "model/attention.h"

#include <math.h>
#include <stddef.h>

#include "kernels/ops.h"

/* MPNet / T5 bidirectional relative-position bucket of n = query - key
 * (max_distance 128, as MPNet's compute_position_bias). */
int ss_rel_bucket(int n, int num_buckets, int max_distance) {
    int ret = 0;
    num_buckets /= 2;
    if (n < 0) {
        ret += num_buckets;
        n = -n;
    }
    int max_exact = num_buckets / 2;
    if (n < max_exact) return ret + n;
    int v = max_exact + (int)(logf((float)n / max_exact) / logf((float)max_distance / max_exact) *
                              (num_buckets - max_exact));
    if (v > num_buckets - 1) v = num_buckets - 1;
    return ret + v;
}

void ss_attention_forward(float *atty, float *att, const float *qkv, int L, int H, int nh, int h,
                          const float *rel_bias, int rel_buckets, const uint8_t *drop, float keep,
                          const ss_attn_scratch *s) {
    const int d = H / nh, ld = 3 * H;
    float *S = s->scores, *KT = s->kt;
    const float *Q = qkv + h * d, *K = Q + H, *Vm = Q + 2 * H;
    const float scale = 1.0f / sqrtf((float)d);
    for (int k = 0; k < L; k++) /* KT[j][k] = K[k][j] */
        for (int j = 0; j < d; j++) KT[(size_t)j * L + k] = K[(size_t)k * ld + j];
    for (int q = 0; q < L; q++) {
        float *srow = S + (size_t)q * L;
        const float *qr = Q + (size_t)q * ld;
        for (int k = 0; k < L; k++) srow[k] = 0;
        for (int j = 0; j < d; j++) {
            const float qj = qr[j];
            const float *kt = KT + (size_t)j * L;
            for (int k = 0; k < L; k++) srow[k] += qj * kt[k];
        }
        for (int k = 0; k < L; k++) srow[k] *= scale;
    }
    if (rel_bias) {
        /* The bias depends only on q - k in [-(L-1), L-1]: tabulate it once. */
        float *bt = s->bias;
        for (int n = -(L - 1); n <= L - 1; n++) bt[n + L - 1] = rel_bias[ss_rel_bucket(n, rel_buckets, 128) * nh + h];
        for (int q = 0; q < L; q++)
            for (int k = 0; k < L; k++) S[(size_t)q * L + k] += bt[q - k + L - 1];
    }
    for (int q = 0; q < L; q++) ss_softmax_forward(att + (size_t)q * L, S + (size_t)q * L, L);
    for (int q = 0; q < L; q++) {
        float *out = atty + (size_t)q * H + h * d;
        const float *p = att + (size_t)q * L;
        const uint8_t *m = drop ? drop + (size_t)q * L : NULL;
        for (int j = 0; j < d; j++) out[j] = 0;
        for (int k = 0; k < L; k++) {
            /* dropped: p·keep or 0; with p = 0 (keep = 1) exactly p, so the sums are unchanged */
            const float pk = m ? (m[k] ? p[k] * keep : 0.0f) : p[k];
            const float *v = Vm + (size_t)k * ld;
            for (int j = 0; j < d; j++) out[j] += pk * v[j];
        }
    }
}
