/* vecio.c — .fvecs / .npy / .jsonl vector files. */
#include "vecio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "index/kernels.h"

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

static float *read_npy(const char *path, const unsigned char *buf, size_t len, size_t *n, int *d, ss_error *err) {
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        ss_fail(err, SS_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
        return NULL;
    }
    size_t hl, off;
    if (buf[6] == 1) {
        hl = (size_t)buf[8] | (size_t)buf[9] << 8;
        off = 10;
    } else {
        if (len < 12) goto trunc;
        hl = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        off = 12;
    }
    if (off + hl > len) goto trunc;
    char hdr[4096];
    size_t cl = hl < sizeof hdr - 1 ? hl : sizeof hdr - 1;
    memcpy(hdr, buf + off, cl);
    hdr[cl] = 0;
    int es;
    const char *descr = strstr(hdr, "'descr'");
    if (!descr) goto bad;
    if (strstr(descr, "'<f4'")) es = 4;
    else if (strstr(descr, "'<f2'")) es = 2;
    else if (strstr(descr, "'<f8'")) es = 8;
    else {
        ss_fail(err, SS_ERR_UNSUPPORTED, "%s: dtype in header '%s' is not little-endian float16/32/64", path, hdr);
        return NULL;
    }
    if (strstr(hdr, "'fortran_order': True")) {
        ss_fail(err, SS_ERR_UNSUPPORTED, "%s: Fortran-order arrays are not supported", path);
        return NULL;
    }
    const char *sh = strstr(hdr, "'shape'");
    if (!sh || !(sh = strchr(sh, '('))) goto bad;
    long long r = 0, c = 0;
    int got = sscanf(sh, "(%lld, %lld)", &r, &c);
    if (got == 1) c = 1;
    if (got < 1 || r < 0 || c <= 0 || c > 65536) goto bad;
    size_t data = off + hl, need = (size_t)r * (size_t)c * (size_t)es;
    if (len - data < need) goto trunc;
    float *v = malloc((size_t)r * (size_t)c * 4 + 4);
    if (!v) {
        ss_fail(err, SS_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    const unsigned char *p = buf + data;
    for (size_t i = 0; i < (size_t)r * (size_t)c; i++) {
        if (es == 4) memcpy(&v[i], p + 4 * i, 4);
        else if (es == 2) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            v[i] = ss_half_to_float(h);
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
bad:
    ss_fail(err, SS_ERR_FORMAT, "%s: cannot parse the .npy header (need a 2-D float array)", path);
    return NULL;
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
        cJSON *j = cJSON_Parse(ln);
        cJSON *a = j;
        if (j && cJSON_IsObject(j)) {
            a = cJSON_GetObjectItemCaseSensitive(j, "embedding");
            if (!a) a = cJSON_GetObjectItemCaseSensitive(j, "vector");
            if (!a) a = cJSON_GetObjectItemCaseSensitive(j, "values");
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
        if (m != dim || m == 0) {
            cJSON_Delete(j);
            free(v);
            ss_fail(err, SS_ERR_FORMAT, "%s:%zu: vector has %d values, earlier rows have %d", path, line, m, dim);
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
            v[rows * (size_t)dim + (size_t)i] = (float)e->valuedouble;
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

float *ss_read_vectors(const char *path, size_t *n, int *d, ss_error *err) {
    size_t len;
    char *buf = ss_read_file(path, &len, err);
    if (!buf) return NULL;
    float *v;
    const unsigned char *u = (const unsigned char *)buf;
    if (ends_with(path, ".npy") || (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0))
        v = read_npy(path, u, len, n, d, err);
    else if (ends_with(path, ".jsonl") || ends_with(path, ".json") || (len && (buf[0] == '[' || buf[0] == '{')))
        v = read_jsonl(path, buf, n, d, err);
    else
        v = read_fvecs(path, u, len, n, d, err);
    free(buf);
    return v;
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
