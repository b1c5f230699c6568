/* test_util.h — reading golden files: JSONL texts, raw float32 arrays. */
#ifndef SS_TEST_UTIL_H
#define SS_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Each line of path is one JSON string (or an object with a string field
 * `field`); returns a malloc'd array of malloc'd strings, *n = count. */
static inline char **tu_read_jsonl_strings(const char *path, const char *field, size_t *n) {
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    char **out = NULL, *line = NULL;
    size_t cap = 0, lcap = 0;
    while (getline(&line, &lcap, f) >= 0) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *v = field ? cJSON_GetObjectItemCaseSensitive(j, field) : j;
        if (!cJSON_IsString(v)) {
            cJSON_Delete(j);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            out = realloc(out, cap * sizeof *out);
        }
        out[(*n)++] = strdup(v->valuestring);
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    return out;
}

static inline void tu_free_strings(char **s, size_t n) {
    for (size_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

/* Whole file of float32 values; *n = count. */
static inline float *tu_read_f32(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *v = malloc((size_t)sz + 4);
    if (v && fread(v, 1, (size_t)sz, f) == (size_t)sz) *n = (size_t)sz / 4;
    fclose(f);
    return v;
}

static inline int ss_path_exists_(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static inline double tu_cos(const float *a, const float *b, int d) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < d; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa) * sqrt(bb) + 1e-300);
}

#endif
