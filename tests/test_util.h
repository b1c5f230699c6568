/* test_util.h — reading golden files: JSONL texts, raw float32 arrays; and
 * running the CLI (or any shell command) with its output captured.
 * A golden file that is missing, unreadable or malformed stops the test with
 * a message naming the file (and line): it never yields fewer values silently. */
#ifndef SS_TEST_UTIL_H
#define SS_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

/* ---- STSb Spearman (test_minilm_golden, test_int8_stsb) ---------------- */

typedef struct {
    double v;
    int i;
} tu_vi_;

static inline int tu_cmp_vi_(const void *a, const void *b) {
    double x = ((const tu_vi_ *)a)->v, y = ((const tu_vi_ *)b)->v;
    return x < y ? -1 : x > y;
}

/* Ranks with ties averaged (scipy.stats.rankdata 'average'), 1-based. */
static inline void tu_rank(const double *x, int n, double *r) {
    tu_vi_ *t = malloc((size_t)n * sizeof *t);
    if (!t) tu_golden_fail_("tu_rank", 0, "out of memory");
    for (int i = 0; i < n; i++) t[i] = (tu_vi_){x[i], i};
    qsort(t, (size_t)n, sizeof *t, tu_cmp_vi_);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && t[j + 1].v == t[i].v) j++;
        for (int k = i; k <= j; k++) r[t[k].i] = (i + j) / 2.0 + 1;
        i = j + 1;
    }
    free(t);
}

static inline double tu_pearson(const double *a, const double *b, int n) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) ma += a[i], mb += b[i];
    ma /= n, mb /= n;
    for (int i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb);
}

/* The number at top-level key `key` of a small JSON file. */
static inline double tu_read_json_number(const char *path, const char *key) {
    FILE *f = fopen(path, "rb");
    if (!f) tu_golden_fail_(path, 0, "cannot open");
    char buf[8192];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = 0;
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (!cJSON_IsNumber(v)) tu_golden_fail_(path, 0, "no number at the key");
    double x = v->valuedouble;
    cJSON_Delete(j);
    return x;
}

/* Gold scores of STSb pairs: field 5 of each line of sts-test.csv (tab
 * separated, no quoting); at most 2000 lines. */
static inline double *tu_stsb_gold(const char *path, size_t *np) {
    FILE *f = fopen(path, "rb");
    if (!f) tu_golden_fail_(path, 0, "cannot open");
    char *line = NULL;
    size_t cap = 0, n = 0;
    double *gold = calloc(2000, sizeof *gold);
    if (!gold) tu_golden_fail_(path, 0, "out of memory");
    while (getline(&line, &cap, f) >= 0 && n < 2000) {
        char *t = line;
        for (int k = 0; k < 4 && t; k++) {
            t = strchr(t, '\t');
            if (t) t++;
        }
        if (!t) tu_golden_fail_(path, n + 1, "fewer than 5 tab-separated fields");
        gold[n++] = atof(t);
    }
    free(line);
    fclose(f);
    *np = n;
    return gold;
}

/* Spearman x100 of cos(emb[2i], emb[2i+1]) against gold[i], i < np. */
static inline double tu_stsb_spearman(const float *emb, int d, const double *gold, int np) {
    if (np <= 0) tu_golden_fail_("tu_stsb_spearman", 0, "no pairs");
    double *cs = calloc((size_t)np, sizeof *cs), *rc = calloc((size_t)np, sizeof *rc), *rg = calloc((size_t)np, sizeof *rg);
    if (!cs || !rc || !rg) tu_golden_fail_("tu_stsb_spearman", 0, "out of memory");
    for (int i = 0; i < np; i++) cs[i] = tu_cos(emb + 2 * (size_t)i * d, emb + (2 * (size_t)i + 1) * d, d);
    tu_rank(cs, np, rc);
    tu_rank(gold, np, rg);
    double rho = 100 * tu_pearson(rc, rg, np);
    free(cs), free(rc), free(rg);
    return rho;
}

/* ---- running commands --------------------------------------------------- */

/* All of stream f, NUL-terminated (malloc'd); *len (may be NULL) = its size.
 * what names it in an out-of-memory message. */
static inline char *tu_read_stream_(FILE *f, size_t *len, const char *what) {
    size_t cap = 1 << 16, n = 0, k;
    char *s = malloc(cap);
    while (s && (k = fread(s + n, 1, cap - n - 1, f)) > 0)
        if ((n += k) + 1 >= cap) {
            char *g = realloc(s, cap *= 2);
            if (!g) free(s);
            s = g;
        }
    if (!s) {
        fprintf(stderr, "reading %s: out of memory\n", what);
        exit(1);
    }
    s[n] = 0;
    if (len) *len = n;
    return s;
}

/* The whole file, NUL-terminated (malloc'd); NULL when it cannot be opened.
 * *len (may be NULL) = its size. */
static inline char *tu_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *s = tu_read_stream_(f, len, path);
    fclose(f);
    return s;
}

/* Newlines in s (NULL: 0). */
static inline int tu_count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* Exit code of a system() / pclose() status; -1 when killed by a signal. */
static inline int tu_exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

/* Run cmd through /bin/sh reading its stdout (stderr and stdin as cmd
 * redirects them, else inherited). Returns the output (malloc'd), *status =
 * the exit code (-1: killed by a signal). */
static inline char *tu_run_read(const char *cmd, int *status) {
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "popen %s failed\n", cmd);
        exit(1);
    }
    char *out = tu_read_stream_(p, NULL, cmd);
    *status = tu_exit_code(pclose(p));
    return out;
}

/* Run `( cmd ) > DIR/stdout.txt 2> DIR/stderr.txt`; *out / *err (either may be
 * NULL) = what it wrote (malloc'd; NULL if the file is missing). Returns the
 * exit code (-1: killed by a signal). */
static inline int tu_run_files(const char *cmd, const char *dir, char **out, char **err) {
    size_t n = strlen(cmd) + 2 * strlen(dir) + 64;
    char *sh = malloc(n), *p = malloc(strlen(dir) + 16);
    if (!sh || !p) {
        fprintf(stderr, "tu_run_files: out of memory\n");
        exit(1);
    }
    snprintf(sh, n, "( %s ) > '%s/stdout.txt' 2> '%s/stderr.txt'", cmd, dir, dir);
    int st = system(sh);
    sprintf(p, "%s/stdout.txt", dir);
    if (out) *out = tu_slurp(p, NULL);
    sprintf(p, "%s/stderr.txt", dir);
    if (err) *err = tu_slurp(p, NULL);
    free(sh);
    free(p);
    return tu_exit_code(st);
}

#endif
