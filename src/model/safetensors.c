/* safetensors.c — parse and validate the safetensors container. */
#include "model/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "kernels/half.h"

static size_t dtype_size(ss_dtype dt) {
    switch (dt) {
    case SS_DT_F32: return 4;
    case SS_DT_F16:
    case SS_DT_BF16: return 2;
    default: return 0;
    }
}

static ss_dtype parse_dtype(const char *s) {
    if (!strcmp(s, "F32")) return SS_DT_F32;
    if (!strcmp(s, "F16")) return SS_DT_F16;
    if (!strcmp(s, "BF16")) return SS_DT_BF16;
    return SS_DT_OTHER;
}

static ss_status fail_close(ss_safetensors *st, ss_error *err, ss_status code, const char *fmt,
                            const char *a, const char *b) {
    char msg[700];
    snprintf(msg, sizeof msg, fmt, a, b);
    ss_fail(err, code, "%s: %s", st->path ? st->path : "?", msg);
    ss_st_close(st);
    return code;
}

ss_status ss_st_open(ss_safetensors *st, const char *path, ss_error *err) {
    memset(st, 0, sizeof *st);
    st->path = strdup(path);
    if (!st->path) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    ss_status s = ss_mmap_open(&st->map, path, err);
    if (s != SS_OK) {
        ss_st_close(st);
        return s;
    }
    const unsigned char *base = st->map.data;
    size_t size = st->map.size;
    if (size < 8)
        return fail_close(st, err, SS_ERR_FORMAT, "file is %s bytes, too short for the 8-byte header length%s",
                          size == 0 ? "0" : "< 8", "");
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | base[i];
    if (hlen == 0 || hlen > size - 8) {
        char a[64], b[64];
        snprintf(a, sizeof a, "%llu", (unsigned long long)hlen);
        snprintf(b, sizeof b, "%zu", size - 8);
        return fail_close(st, err, SS_ERR_FORMAT,
                          "header length %s exceeds the %s bytes after it (truncated or not a safetensors file)",
                          a, b);
    }
    const char *end = NULL;
    cJSON *hdr = cJSON_ParseWithLengthOpts((const char *)base + 8, (size_t)hlen, &end, 0);
    if (!hdr || !cJSON_IsObject(hdr)) {
        cJSON_Delete(hdr);
        return fail_close(st, err, SS_ERR_FORMAT, "header is not a valid JSON object%s%s", "", "");
    }
    const unsigned char *data = base + 8 + hlen;
    size_t data_size = size - 8 - (size_t)hlen;
    int n = cJSON_GetArraySize(hdr);
    st->tensors = calloc((size_t)(n > 0 ? n : 1), sizeof *st->tensors);
    if (!st->tensors) {
        cJSON_Delete(hdr);
        return fail_close(st, err, SS_ERR_NOMEM, "out of memory%s%s", "", "");
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, hdr) {
        if (!strcmp(it->string, "__metadata__")) continue;
        ss_st_tensor *t = &st->tensors[st->n_tensors];
        const char *dts = ss_json_str(it, "dtype", NULL);
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
        const cJSON *offs = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!dts || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2) {
            char name[300];
            snprintf(name, sizeof name, "%s", it->string);
            cJSON_Delete(hdr);
            return fail_close(st, err, SS_ERR_FORMAT, "tensor '%s': entry lacks dtype/shape/data_offsets%s",
                              name, "");
        }
        t->name = strdup(it->string);
        if (!t->name) {
            cJSON_Delete(hdr);
            return fail_close(st, err, SS_ERR_NOMEM, "out of memory%s%s", "", "");
        }
        st->n_tensors++;
        t->dtype = parse_dtype(dts);
        snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dts);
        t->ndim = cJSON_GetArraySize(shape);
        if (t->ndim > SS_ST_MAX_DIMS) {
            cJSON_Delete(hdr);
            return fail_close(st, err, SS_ERR_FORMAT, "tensor '%s': too many dimensions%s", t->name, "");
        }
        uint64_t numel = 1;
        int bad = 0;
        for (int d = 0; d < t->ndim; d++) {
            const cJSON *v = cJSON_GetArrayItem(shape, d);
            if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e12) bad = 1;
            t->shape[d] = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
            numel *= (uint64_t)(t->shape[d] > 0 ? t->shape[d] : 0);
        }
        double b0 = cJSON_GetArrayItem(offs, 0)->valuedouble, b1 = cJSON_GetArrayItem(offs, 1)->valuedouble;
        if (bad || b0 < 0 || b1 < b0 || b1 > (double)data_size) {
            char why[200];
            snprintf(why, sizeof why, "data_offsets [%.0f, %.0f] outside the %zu-byte data region", b0, b1,
                     data_size);
            cJSON_Delete(hdr);
            return fail_close(st, err, SS_ERR_FORMAT, "tensor '%s': %s (truncated file?)", t->name, why);
        }
        t->data = data + (size_t)b0;
        t->nbytes = (size_t)(b1 - b0);
        size_t es = dtype_size(t->dtype);
        if (es && numel * es != t->nbytes) {
            char why[200];
            snprintf(why, sizeof why, "shape holds %llu elements of %zu bytes but the byte range is %zu",
                     (unsigned long long)numel, es, t->nbytes);
            cJSON_Delete(hdr);
            return fail_close(st, err, SS_ERR_FORMAT, "tensor '%s': %s", t->name, why);
        }
    }
    cJSON_Delete(hdr);
    return SS_OK;
}

void ss_st_close(ss_safetensors *st) {
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    ss_mmap_close(&st->map);
    free(st->path);
    memset(st, 0, sizeof *st);
}

const ss_st_tensor *ss_st_find(const ss_safetensors *st, const char *name) {
    for (int i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && o < cap; d++)
        o += (size_t)snprintf(buf + o, cap - o, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

float *ss_st_read_f32(const ss_safetensors *st, const char *name, int ndim, const int64_t *shape,
                      ss_error *err) {
    const ss_st_tensor *t = ss_st_find(st, name);
    if (!t) {
        ss_fail(err, SS_ERR_NOT_FOUND, "%s: missing tensor '%s'", st->path, name);
        return NULL;
    }
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char want[128], got[128];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        ss_fail(err, SS_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s (config.json and weights disagree)",
                st->path, name, got, want);
        return NULL;
    }
    if (t->dtype == SS_DT_OTHER) {
        ss_fail(err, SS_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s; semsearch reads F32, F16 and BF16",
                st->path, name, t->dtype_name);
        return NULL;
    }
    size_t n = t->nbytes / dtype_size(t->dtype);
    float *out = aligned_alloc(64, ((n * sizeof(float)) + 63) / 64 * 64);
    if (!out) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory reading tensor '%s'", name);
        return NULL;
    }
    if (t->dtype == SS_DT_F32) {
        memcpy(out, t->data, n * 4);
    } else {
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(t->data[2 * i] | (t->data[2 * i + 1] << 8));
            out[i] = t->dtype == SS_DT_F16 ? ss_half_to_float(h) : ss_bf16_to_float(h);
        }
    }
    return out;
}
