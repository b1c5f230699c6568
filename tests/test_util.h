/* test_util.h — reading golden files: JSONL texts, raw float32 arrays.
 * A golden file that is missing, unreadable or malformed stops the test with
 * a message naming the file (and line): it never yields fewer values silently. */
#ifndef SS_TEST_UTIL_H
#define SS_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static inline void tu_golden_fail_(const char *path, size_t line, const char *why) {
    if (line) fprintf(stderr, "golden file %s:%zu: %s\n", path, line, why);
    else fprintf(stderr, "golden file %s: %s\n", path, why);
    exit(1);
}

/* Each line of path is one JSON string (or an object with a string field
 * `field`); returns a malloc'd array of malloc'd strings, *n = count. */
static inline char **tu_read_jsonl_strings(const char *path, const char *field, size_t *n) {
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) tu_golden_fail_(path, 0, "cannot open");
    char **out = NULL, *line = NULL;
    size_t cap = 0, lcap = 0, lineno = 0;
    while (getline(&line, &lcap, f) >= 0) {
        lineno++;
        cJSON *j = cJSON_Parse(line);
        const cJSON *v = field ? cJSON_GetObjectItemCaseSensitive(j, field) : j;
        if (!cJSON_IsString(v))
            tu_golden_fail_(path, lineno, field ? "not a JSON object with a string field" : "not a JSON string");
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            char **grown = realloc(out, cap * sizeof *out);
            if (!grown) tu_golden_fail_(path, lineno, "out of memory");
            out = grown;
        }
        if (!(out[(*n)++] = strdup(v->valuestring))) tu_golden_fail_(path, lineno, "out of memory");
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    if (*n == 0) tu_golden_fail_(path, 0, "no lines");
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
    if (!f) tu_golden_fail_(path, 0, "cannot open");
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (sz <= 0 || sz % 4 || fseek(f, 0, SEEK_SET) != 0)
        tu_golden_fail_(path, 0, "empty, unreadable or not a whole number of float32 values");
    float *v = malloc((size_t)sz + 4);
    if (!v || fread(v, 1, (size_t)sz, f) != (size_t)sz) tu_golden_fail_(path, 0, "short read");
    *n = (size_t)sz / 4;
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
