/* quantize.c — sentence-transformers' embedding quantisation rules, in the
 * same float32 arithmetic and truncating casts as numpy's astype. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "semsearch.h"

int ss_precision_parse(const char *name) {
    static const char *const names[] = {"float32", "int8", "uint8", "binary", "ubinary"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

size_t ss_quantized_size(ss_precision p, int d) {
    switch (p) {
    case SS_PRECISION_FLOAT32: return (size_t)d * 4;
    case SS_PRECISION_INT8:
    case SS_PRECISION_UINT8: return (size_t)d;
    case SS_PRECISION_BINARY:
    case SS_PRECISION_UBINARY: return ((size_t)d + 7) / 8;
    }
    return 0;
}

ss_status ss_quantize(const float *emb, size_t n, int d, ss_precision p, const float *ranges, void *out,
                      ss_error *err) {
    if (d <= 0) return ss_fail(err, SS_ERR_INVALID, "quantize: dimension %d must be positive", d);
    if (p == SS_PRECISION_FLOAT32) {
        memcpy(out, emb, n * (size_t)d * sizeof(float));
        return SS_OK;
    }
    if (p == SS_PRECISION_BINARY || p == SS_PRECISION_UBINARY) {
        size_t bpv = ss_quantized_size(p, d);
        unsigned char *o = out;
        for (size_t i = 0; i < n; i++) {
            memset(o + i * bpv, 0, bpv);
            for (int j = 0; j < d; j++)
                if (emb[i * (size_t)d + (size_t)j] > 0) o[i * bpv + (size_t)j / 8] |= (unsigned char)(0x80u >> (j % 8));
            if (p == SS_PRECISION_BINARY)
                for (size_t b = 0; b < bpv; b++) {
                    int8_t v = (int8_t)((int)o[i * bpv + b] - 128);
                    memcpy(o + i * bpv + b, &v, 1);
                }
        }
        return SS_OK;
    }
    if (p != SS_PRECISION_INT8 && p != SS_PRECISION_UINT8)
        return ss_fail(err, SS_ERR_INVALID, "quantize: unknown precision %d", (int)p);
    float *own = NULL;
    if (!ranges) {
        if (n == 0) return SS_OK;
        own = malloc(2 * (size_t)d * sizeof(float));
        if (!own) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
        for (int j = 0; j < d; j++) own[j] = own[d + j] = emb[j];
        for (size_t i = 1; i < n; i++)
            for (int j = 0; j < d; j++) {
                float v = emb[i * (size_t)d + (size_t)j];
                if (v < own[j]) own[j] = v;
                if (v > own[d + j]) own[d + j] = v;
            }
        ranges = own;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            float start = ranges[j], step = (ranges[d + j] - ranges[j]) / 255.0f;
            float q = (emb[i * (size_t)d + (size_t)j] - start) / step;
            if (!(q == q)) q = 0; /* a constant dimension: 0/0 */
            if (p == SS_PRECISION_UINT8) {
                q = q < 0 ? 0 : (q > 255 ? 255 : q);
                ((uint8_t *)out)[i * (size_t)d + (size_t)j] = (uint8_t)q;
            } else {
                q -= 128.0f;
                q = q < -128 ? -128 : (q > 127 ? 127 : q);
                ((int8_t *)out)[i * (size_t)d + (size_t)j] = (int8_t)q;
            }
        }
    free(own);
    return SS_OK;
}
