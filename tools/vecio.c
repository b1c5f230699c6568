/* vecio.c — .fvecs / .npy / .jsonl vector files. */
#include "vecio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/fileio.h"
#include "kernels/half.h"

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static float *read_fvecs(const char *path, const unsigned char *buf, size_t len, size_t *n, int *d, ss_error *err) {
    if (len < 4) {
        ss_fail(err, SS_ERR_FORMAT, "%s: empty or truncated .fvecs file", path);
        return NULL;
    }
    int32_t dim;
    memcpy(&dim, buf, 4);
    if (dim <= 0 || dim > 65536) {
        ss_fail(err, SS_ERR_FORMAT, "%s: row 0 declares dimension %d (not an .fvecs file?)", path, dim);
        return NULL;
    }
    size_t row = 4 + (size_t)dim * 4;
    if (len % row) {
        ss_fail(err, SS_ERR_FORMAT, "%s: %zu bytes is not a whole number of %d-dim rows (truncated?)", path, len, dim);
        return NULL;
    }
    size_t rows = len / row;
    float *v = malloc(rows * (size_t)dim * 4 + 4);
    if (!v) {
        ss_fail(err, SS_ERR_NOMEM, "%s: out of memory for %zu vectors", path, rows);
        return NULL;
    }
    for (size_t i = 0; i < rows; i++) {
        int32_t di;
        memcpy(&di, buf + i * row, 4);
        if (di != dim) {
            free(v);
            ss_fail(err, SS_ERR_FORMAT, "%s: row %zu has dimension %d, row 0 has %d", path, i, di, dim);
            return NULL;
        }
        memcpy(v + i * (size_t)dim, buf + i * row + 4, (size_t)dim * 4);
    }
    *n = rows, *d = dim;
    return v;
}

/* The .npy header is a Python dict literal, e.g.
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (100, 384), }
 * parsed here key by key (not searched for substrings): 'descr' must be a plain
 * string (a list is a structured dtype), 'shape' a tuple of one or two
 * non-negative integers. */
typedef struct npy_header {
    char descr[16];
    int fortran, have_descr, have_fortran, have_shape, ndim;
    unsigned long long shape[2];
} npy_header;

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A quoted Python string at p: its contents into buf (cap bytes); NULL if malformed. */
static const char *npy_string(const char *p, const char *end, char *buf, size_t cap) {
    if (p >= end || (*p != '\'' && *p != '"')) return NULL;
    char q = *p++;
    size_t n = 0;
    while (p < end && *p != q) {
        if (*p == '\\' || n + 1 >= cap) return NULL;
        buf[n++] = *p++;
    }
    if (p >= end) return NULL;
    buf[n] = 0;
    return p + 1;
}

static const char *npy_parse_header(const char *p, const char *end, npy_header *h) {
    memset(h, 0, sizeof *h);
    p = skip_ws(p, end);
    if (p >= end || *p++ != '{') return "the header is not a dict";
    for (;;) {
        p = skip_ws(p, end);
        if (p < end && *p == '}') break;
        char key[32];
        if (!(p = npy_string(p, end, key, sizeof key))) return "a key is not a short quoted string";
        p = skip_ws(p, end);
        if (p >= end || *p++ != ':') return "missing ':' after a key";
        p = skip_ws(p, end);
        if (!strcmp(key, "descr")) {
            if (h->have_descr++) return "'descr' appears twice";
            if (p < end && *p == '[') return "structured dtypes (a list as 'descr') are not supported";
            if (!(p = npy_string(p, end, h->descr, sizeof h->descr))) return "'descr' is not a dtype string";
        } else if (!strcmp(key, "fortran_order")) {
            if (h->have_fortran++) return "'fortran_order' appears twice";
            if (end - p >= 4 && !memcmp(p, "True", 4)) h->fortran = 1, p += 4;
            else if (end - p >= 5 && !memcmp(p, "False", 5)) p += 5;
            else return "'fortran_order' is not True or False";
        } else if (!strcmp(key, "shape")) {
            if (h->have_shape++) return "'shape' appears twice";
            if (p >= end || *p++ != '(') return "'shape' is not a tuple";
            for (;;) {
                p = skip_ws(p, end);
                if (p < end && *p == ')') break;
                if (p >= end || *p < '0' || *p > '9') return "'shape' holds something other than integers";
                unsigned long long v = 0;
                while (p < end && *p >= '0' && *p <= '9') {
                    if (v > (ULLONG_MAX - 9) / 10) return "a 'shape' dimension overflows 64 bits";
                    v = v * 10 + (unsigned long long)(*p++ - '0');
                }
                if (h->ndim >= 2) return "arrays of more than 2 dimensions are not supported (need rows x dim)";
                h->shape[h->ndim++] = v;
                p = skip_ws(p, end);
                if (p < end && *p == ',') p++;
                else if (p < end && *p == ')') break;
                else return "'shape' is not a tuple of integers";
            }
            p++; /* ')' */
        } else {
            return "unknown key in the header";
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') p++;
        else if (p < end && *p == '}') break;
        else return "missing ',' between header entries";
    }
    if (!h->have_descr || !h->have_fortran || !h->have_shape) return "the header lacks 'descr', 'fortran_order' or 'shape'";
    return NULL;
}

static float *read_npy(const char *path, const unsigned char *buf, size_t len, size_t *n, int *d, ss_error *err) {
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        ss_fail(err, SS_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
        return NULL;
    }
    size_t hl, off;
    if (buf[6] == 1) {
        hl = (size_t)buf[8] | (size_t)buf[9] << 8;
        off = 10;
    } else if (buf[6] == 2 || buf[6] == 3) {
        if (len < 12) goto trunc;
        hl = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        off = 12;
    } else {
        ss_fail(err, SS_ERR_UNSUPPORTED, "%s: .npy format version %d.%d is not supported", path, buf[6], buf[7]);
        return NULL;
    }
    if (hl > len - off) goto trunc;
    npy_header h;
    const char *why = npy_parse_header((const char *)buf + off, (const char *)buf + off + hl, &h);
    if (why) {
        ss_fail(err, SS_ERR_FORMAT, "%s: bad .npy header: %s", path, why);
        return NULL;
    }
    int es;
    if (!strcmp(h.descr, "<f4")) es = 4;
    else if (!strcmp(h.descr, "<f2")) es = 2;
    else if (!strcmp(h.descr, "<f8")) es = 8;
    else {
        ss_fail(err, SS_ERR_UNSUPPORTED, "%s: dtype '%s' is not little-endian float16/32/64 ('<f2', '<f4', '<f8')", path,
                h.descr);
        return NULL;
    }
    if (h.fortran) {
        ss_fail(err, SS_ERR_UNSUPPORTED, "%s: Fortran-order arrays are not supported", path);
        return NULL;
    }
    if (h.ndim == 0) {
        ss_fail(err, SS_ERR_FORMAT, "%s: a 0-dimensional array is not a set of vectors", path);
        return NULL;
    }
    unsigned long long r = h.shape[0], c = h.ndim == 2 ? h.shape[1] : 1;
    if (c == 0 || c > 65536) {
        ss_fail(err, SS_ERR_FORMAT, "%s: vector dimension %llu is out of range (1..65536)", path, c);
        return NULL;
    }
    size_t data = off + hl, count, need, bytes;
    /* Overflow-safe sizes: the shape comes from the file. */
    if (r > SIZE_MAX || __builtin_mul_overflow((size_t)r, (size_t)c, &count) || __builtin_mul_overflow(count, (size_t)es, &need) ||
        __builtin_mul_overflow(count, sizeof(float), &bytes) || bytes > SIZE_MAX - 4) {
        ss_fail(err, SS_ERR_FORMAT, "%s: shape (%llu, %llu) is too large", path, r, c);
        return NULL;
    }
    if (len - data < need) {
        ss_fail(err, SS_ERR_FORMAT, "%s: truncated .npy file: shape (%llu, %llu) needs %zu data bytes, the file has %zu",
                path, r, c, need, len - data);
        return NULL;
    }
    float *v = malloc(bytes + 4);
    if (!v) {
        ss_fail(err, SS_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    const unsigned char *p = buf + data;
    for (size_t i = 0; i < count; i++) {
        if (es == 4) memcpy(&v[i], p + 4 * i, 4);
        else if (es == 2) {
            uint16_t hv;
            memcpy(&hv, p + 2 * i, 2);
            v[i] = ss_half_to_float(hv);
        } else {
            double dd;
            memcpy(&dd, p + 8 * i, 8);
            v[i] = (float)dd;
        }
    }
    *n = (size_t)r, *d = (int)c;
    return v;
trunc:
    ss_fail(err, SS_ERR_FORMAT, "%s: truncated .npy file", path);
    return NULL;
}

/* The value of the LAST member named key, as Python's json keeps it (cJSON's
 * lookup returns the first of duplicate keys). */
static cJSON *last_item(const cJSON *obj, const char *key) {
    cJSON *found = NULL;
    for (cJSON *c = obj->child; c; c = c->next)
        if (c->string && !strcmp(c->string, key)) found = c;
    return found;
}

static float *read_jsonl(const char *path, char *text, size_t *n, int *d, ss_error *err) {
    size_t cap = 0, rows = 0, line = 0;
    int dim = -1;
    float *v = NULL;
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        line++;
        while (*ln == ' ' || *ln == '\t' || *ln == '\r') ln++;
        if (!*ln) continue;
        /* One JSON value per line: trailing content (a second object) is an error. */
        cJSON *j = cJSON_ParseWithOpts(ln, NULL, 1);
        if (!j) {
            free(v);
            ss_fail(err, SS_ERR_FORMAT, "%s:%zu: not one valid JSON value (a second value on the line, or a syntax error)",
                    path, line);
            return NULL;
        }
        cJSON *a = j;
        if (cJSON_IsObject(j)) {
            a = last_item(j, "embedding");
            if (!a) a = last_item(j, "vector");
            if (!a) a = last_item(j, "values");
        }
        if (!a || !cJSON_IsArray(a)) {
            cJSON_Delete(j);
            free(v);
            ss_fail(err, SS_ERR_FORMAT, "%s:%zu: expected a JSON array of numbers (or an object with \"embedding\")",
                    path, line);
            return NULL;
        }
        int m = cJSON_GetArraySize(a);
        if (dim < 0) dim = m;
        if (m != dim || m == 0 || m > 65536) {
            cJSON_Delete(j);
            free(v);
            if (m == 0 || m > 65536) ss_fail(err, SS_ERR_FORMAT, "%s:%zu: a vector needs 1..65536 values, this one has %d", path, line, m);
            else ss_fail(err, SS_ERR_FORMAT, "%s:%zu: vector has %d values, earlier rows have %d", path, line, m, dim);
            return NULL;
        }
        if ((rows + 1) * (size_t)dim > cap) {
            cap = cap ? cap * 2 : (size_t)dim * 1024;
            float *nv = realloc(v, cap * 4);
            if (!nv) {
                cJSON_Delete(j);
                free(v);
                ss_fail(err, SS_ERR_NOMEM, "%s: out of memory", path);
                return NULL;
            }
            v = nv;
        }
        int i = 0;
        for (cJSON *e = a->child; e; e = e->next, i++) {
            if (!cJSON_IsNumber(e)) {
                cJSON_Delete(j);
                free(v);
                ss_fail(err, SS_ERR_FORMAT, "%s:%zu: value %d is not a number", path, line, i);
                return NULL;
            }
            double dv = e->valuedouble; /* range-checked before the cast (out of range is undefined) */
            float x = isfinite(dv) && fabs(dv) <= FLT_MAX ? (float)dv : INFINITY;
            if (!isfinite(x)) {
                cJSON_Delete(j);
                free(v);
                ss_fail(err, SS_ERR_FORMAT, "%s:%zu: value %d (%g) is not a finite float32", path, line, i, dv);
                return NULL;
            }
            v[rows * (size_t)dim + (size_t)i] = x;
        }
        rows++;
        cJSON_Delete(j);
    }
    if (!rows) {
        ss_fail(err, SS_ERR_FORMAT, "%s: no vectors", path);
        return NULL;
    }
    *n = rows, *d = dim;
    return v;
}

/* A well-formed .fvecs: every row starts with the same dimension d (1..65536)
 * and the length is a whole number of rows. A JSONL file cannot pass: its
 * first four bytes are printable text, so d would be at least 0x20000000. */
static int looks_like_fvecs(const unsigned char *buf, size_t len) {
    if (len < 8) return 0;
    int32_t dim;
    memcpy(&dim, buf, 4);
    if (dim <= 0 || dim > 65536) return 0;
    size_t row = 4 + (size_t)dim * 4;
    if (len % row) return 0;
    for (size_t off = 0; off < len; off += row) {
        int32_t di;
        memcpy(&di, buf + off, 4);
        if (di != dim) return 0;
    }
    return 1;
}

static float *check_finite(const char *path, float *v, size_t n, int d, ss_error *err) {
    for (size_t i = 0; v && i < n * (size_t)d; i++)
        if (!isfinite(v[i])) {
            ss_fail(err, SS_ERR_FORMAT, "%s: row %zu, value %zu is %s (vectors must be finite)", path, i / (size_t)d,
                    i % (size_t)d, isnan(v[i]) ? "NaN" : "infinite");
            free(v);
            return NULL;
        }
    return v;
}

float *ss_read_vectors(const char *path, size_t *n, int *d, ss_error *err) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        ss_fail(err, SS_ERR_IO, "%s is a directory, not a vector file", path);
        return NULL;
    }
    size_t len;
    char *buf = ss_read_file(path, &len, err);
    if (!buf) return NULL;
    float *v;
    const unsigned char *u = (const unsigned char *)buf;
    /* The extension decides; without a known one, checks that cannot collide:
     * the .npy magic, then a structurally valid .fvecs, then JSONL. */
    int npy = ends_with(path, ".npy"), fvecs = ends_with(path, ".fvecs");
    int jsonl = ends_with(path, ".jsonl") || ends_with(path, ".json");
    if (!npy && !fvecs && !jsonl) {
        if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0) npy = 1;
        else if (looks_like_fvecs(u, len)) fvecs = 1;
        else if (len && (buf[0] == '[' || buf[0] == '{')) jsonl = 1;
        else fvecs = 1; /* its reader explains what is wrong */
    }
    const char *nul = jsonl ? memchr(buf, '\0', len) : NULL;
    if (nul) {
        ss_fail(err, SS_ERR_FORMAT, "%s: a NUL byte at offset %zu (not a JSONL text file)", path, (size_t)(nul - buf));
        v = NULL;
    } else if (npy) v = read_npy(path, u, len, n, d, err);
    else if (jsonl) v = read_jsonl(path, buf, n, d, err);
    else v = read_fvecs(path, u, len, n, d, err);
    free(buf);
    return check_finite(path, v, v ? *n : 0, v ? *d : 0, err);
}

ss_status ss_write_fvecs(const char *path, const float *v, size_t n, int d, ss_error *err) {
    FILE *f = fopen(path, "wb");
    if (!f) return ss_fail(err, SS_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    int32_t dd = d;
    for (size_t i = 0; i < n; i++)
        if (fwrite(&dd, 4, 1, f) != 1 || fwrite(v + i * (size_t)d, 4, (size_t)d, f) != (size_t)d) {
            fclose(f);
            return ss_fail(err, SS_ERR_IO, "writing %s: %s", path, strerror(errno));
        }
    if (fclose(f)) return ss_fail(err, SS_ERR_IO, "writing %s: %s", path, strerror(errno));
    return SS_OK;
}
