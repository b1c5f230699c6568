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

/* A JSON number that is a whole value in [0, 2^53] (exactly representable);
 * cJSON keeps numbers as doubles, so larger or fractional values cannot be
 * offsets or dimensions. */
static int whole_u53(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return 0;
    *out = (uint64_t)d;
    return 1;
}

/* The Rust safetensors reader caps the header at 100 MB; a larger one is not a real file. */
#define SS_ST_MAX_HEADER (100u * 1000 * 1000)

typedef struct span {
    uint64_t begin, end;
    int idx;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_name(const void *a, const void *b) {
    const ss_st_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* Whole-file checks once every entry is parsed: names unique, byte ranges
 * disjoint and, as the reference reader requires, laid end to end over the
 * whole data region (a gap or overlap means a corrupt or hand-made file). */
static ss_status check_layout(ss_safetensors *st, const uint64_t *begins, size_t data_size, ss_error *err) {
    int n = st->n_tensors;
    if (n == 0) return SS_OK;
    const ss_st_tensor **byname = malloc((size_t)n * sizeof *byname);
    span *sp = malloc((size_t)n * sizeof *sp);
    if (!byname || !sp) {
        free(byname);
        free(sp);
        return fail_close(st, err, SS_ERR_NOMEM, "out of memory%s%s", "", "");
    }
    for (int i = 0; i < n; i++) {
        byname[i] = &st->tensors[i];
        sp[i] = (span){begins[i], begins[i] + st->tensors[i].nbytes, i};
    }
    qsort(byname, (size_t)n, sizeof *byname, cmp_name);
    qsort(sp, (size_t)n, sizeof *sp, cmp_span);
    char a[300] = "", b[300] = "";
    const char *fmt = NULL;
    for (int i = 1; i < n && !fmt; i++)
        if (!strcmp(byname[i - 1]->name, byname[i]->name)) {
            snprintf(a, sizeof a, "%s", byname[i]->name);
            fmt = "tensor '%s' appears twice in the header%s";
        }
    uint64_t at = 0;
    for (int i = 0; i < n && !fmt; i++) {
        const ss_st_tensor *t = &st->tensors[sp[i].idx];
        if (sp[i].begin < at) {
            snprintf(a, sizeof a, "%s", t->name);
            snprintf(b, sizeof b, "%s", st->tensors[sp[i - 1].idx].name);
            fmt = "tensor '%s': its bytes overlap tensor '%s'";
        } else if (sp[i].begin > at) {
            snprintf(a, sizeof a, "%s", t->name);
            snprintf(b, sizeof b, "%llu unused bytes before it (data_offsets must be contiguous)",
                     (unsigned long long)(sp[i].begin - at));
            fmt = "tensor '%s': %s";
        }
        at = sp[i].end;
    }
    if (!fmt && at != data_size) {
        snprintf(a, sizeof a, "%llu", (unsigned long long)at);
        snprintf(b, sizeof b, "%zu", data_size);
        fmt = "tensors cover %s bytes of the %s-byte data region (trailing bytes)";
    }
    free(byname);
    free(sp);
    if (fmt) return fail_close(st, err, SS_ERR_FORMAT, fmt, a, b);
    return SS_OK;
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
    if (hlen == 0 || hlen > size - 8 || hlen > SS_ST_MAX_HEADER) {
        char a[64], b[64];
        snprintf(a, sizeof a, "%llu", (unsigned long long)hlen);
        snprintf(b, sizeof b, "%zu", size - 8);
        return fail_close(st, err, SS_ERR_FORMAT,
                          "header length %s exceeds the %s bytes after it (or the 100 MB limit; truncated or not a "
                          "safetensors file)",
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
    uint64_t *begins = calloc((size_t)(n > 0 ? n : 1), sizeof *begins);
    if (!st->tensors || !begins) {
        free(begins);
        cJSON_Delete(hdr);
        return fail_close(st, err, SS_ERR_NOMEM, "out of memory%s%s", "", "");
    }
    const cJSON *it;
    char name[300], why[300];
    const char *fmt = NULL;
    ss_status code = SS_ERR_FORMAT;
    cJSON_ArrayForEach(it, hdr) {
        if (!strcmp(it->string, "__metadata__")) continue;
        snprintf(name, sizeof name, "%s", it->string);
        ss_st_tensor *t = &st->tensors[st->n_tensors];
        const char *dts = ss_json_str(it, "dtype", NULL);
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
        const cJSON *offs = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!dts || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2) {
            fmt = "tensor '%s': entry lacks dtype/shape/data_offsets%s";
            why[0] = 0;
            break;
        }
        if (!(t->name = strdup(it->string))) {
            code = SS_ERR_NOMEM;
            fmt = "tensor '%s': out of memory%s";
            why[0] = 0;
            break;
        }
        st->n_tensors++;
        t->dtype = parse_dtype(dts);
        snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dts);
        t->ndim = cJSON_GetArraySize(shape);
        if (t->ndim > SS_ST_MAX_DIMS) {
            fmt = "tensor '%s': %s";
            snprintf(why, sizeof why, "%d dimensions (at most %d)", t->ndim, SS_ST_MAX_DIMS);
            break;
        }
        /* numel = product of the dimensions, refused on overflow: a shape
         * [2^32, 2^32] must not wrap to 0 and match an empty byte range. */
        uint64_t numel = 1;
        int d, overflow = 0;
        for (d = 0; d < t->ndim; d++) {
            uint64_t v;
            if (!whole_u53(cJSON_GetArrayItem(shape, d), &v)) break;
            t->shape[d] = (int64_t)v;
            if ((overflow = __builtin_mul_overflow(numel, v, &numel))) break;
        }
        if (d < t->ndim) {
            fmt = "tensor '%s': %s";
            if (overflow)
                snprintf(why, sizeof why, "the element count of its shape overflows 64 bits at dimension %d", d);
            else
                snprintf(why, sizeof why, "shape dimension %d is not a whole number in [0, 2^53]", d);
            break;
        }
        uint64_t b0, b1;
        if (!whole_u53(cJSON_GetArrayItem(offs, 0), &b0) || !whole_u53(cJSON_GetArrayItem(offs, 1), &b1)) {
            fmt = "tensor '%s': %s";
            snprintf(why, sizeof why, "data_offsets are not whole non-negative numbers");
            break;
        }
        if (b1 < b0 || b1 > (uint64_t)data_size) {
            fmt = "tensor '%s': %s (truncated file?)";
            snprintf(why, sizeof why, "data_offsets [%llu, %llu] outside the %zu-byte data region",
                     (unsigned long long)b0, (unsigned long long)b1, data_size);
            break;
        }
        size_t es = dtype_size(t->dtype);
        uint64_t want;
        if (es && (__builtin_mul_overflow(numel, (uint64_t)es, &want) || want != b1 - b0)) {
            fmt = "tensor '%s': %s";
            snprintf(why, sizeof why, "shape holds %llu elements of %zu bytes but the byte range is %llu",
                     (unsigned long long)numel, es, (unsigned long long)(b1 - b0));
            break;
        }
        if (es && b0 % es != 0) {
            fmt = "tensor '%s': %s";
            snprintf(why, sizeof why, "data offset %llu is not a multiple of its %zu-byte dtype %s",
                     (unsigned long long)b0, es, dts);
            break;
        }
        begins[st->n_tensors - 1] = b0;
        t->data = data + b0;
        t->nbytes = (size_t)(b1 - b0);
    }
    cJSON_Delete(hdr);
    if (fmt) {
        free(begins);
        return fail_close(st, err, code, fmt, name, why);
    }
    s = check_layout(st, begins, data_size, err);
    free(begins);
    return s;
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
    float *out = aligned_alloc(64, n ? ((n * sizeof(float)) + 63) / 64 * 64 : 64);
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
