/* pooling.c — cls / max / mean / mean_sqrt_len / weightedmean / lasttoken,
 * with the same mask arithmetic as sentence_transformers.models.Pooling. */
#include "model/pooling.h"

#include <math.h>
#include <string.h>

void ss_pool_sequence(const ss_pooling_config *p, const float *h, int L, int H, int skip, float *out) {
    if (skip < 0) skip = 0;
    if (skip > L) skip = L;
    int n = L - skip; /* tokens with mask 1 */
    if (p->cls) {
        memcpy(out, h, (size_t)H * sizeof(float));
        out += H;
    }
    if (p->max) {
        for (int j = 0; j < H; j++) {
            float m = -1e9f; /* the reference fills masked positions with -1e9 */
            for (int t = skip; t < L; t++) m = h[(size_t)t * H + j] > m ? h[(size_t)t * H + j] : m;
            if (skip > 0 && m < -1e9f) m = -1e9f;
            out[j] = m;
        }
        out += H;
    }
    if (p->mean || p->mean_sqrt_len) {
        /* sum in float, token by token, as torch.sum over the sequence axis */
        float denom = n > 0 ? (float)n : 1e-9f;
        for (int j = 0; j < H; j++) {
            float s = 0;
            for (int t = skip; t < L; t++) s += h[(size_t)t * H + j];
            if (p->mean) out[j] = s / denom;
            if (p->mean_sqrt_len) out[j + (p->mean ? H : 0)] = s / sqrtf(denom);
        }
        out += H * (p->mean + p->mean_sqrt_len);
    }
    if (p->weightedmean) {
        float wsum = 0;
        for (int t = skip; t < L; t++) wsum += (float)(t + 1);
        if (wsum < 1e-9f) wsum = 1e-9f;
        for (int j = 0; j < H; j++) {
            float s = 0;
            for (int t = skip; t < L; t++) s += (float)(t + 1) * h[(size_t)t * H + j];
            out[j] = s / wsum;
        }
        out += H;
    }
    if (p->lasttoken) {
        int t = n > 0 ? L - 1 : 0;
        memcpy(out, h + (size_t)t * H, (size_t)H * sizeof(float));
    }
}
