/* golden.h — reads the tensor files written by tools/reference/make_train_goldens.py
 * and compares tensors llm.c-style (worst element printed). */
#ifndef SS_TEST_TRAIN_GOLDEN_H
#define SS_TEST_TRAIN_GOLDEN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gt_tensor {
    char name[64];
    int dtype; /* 0 f32, 1 i32 */
    int ndim, dims[8];
    size_t n;
    void *data;
} gt_tensor;

typedef struct gt_file {
    int count;
    gt_tensor *t;
} gt_file;

static inline int gt_load(gt_file *g, const char *path) {
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "golden file %s missing (run tools/reference/make_train_goldens.py)\n", path);
        return -1;
    }
    char magic[4];
    uint32_t hdr[2];
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "SSTG", 4) || fread(hdr, 4, 2, f) != 2 || hdr[0] != 1) {
        fprintf(stderr, "%s: not a version-1 SSTG file\n", path);
        fclose(f);
        return -1;
    }
    g->count = (int)hdr[1];
    g->t = calloc((size_t)g->count, sizeof *g->t);
    for (int i = 0; i < g->count; i++) {
        gt_tensor *t = &g->t[i];
        uint32_t len, dt, nd;
        if (fread(&len, 4, 1, f) != 1 || len >= sizeof t->name || fread(t->name, 1, len, f) != len ||
            fread(&dt, 4, 1, f) != 1 || fread(&nd, 4, 1, f) != 1 || nd > 8) {
            fprintf(stderr, "%s: truncated at tensor %d\n", path, i);
            fclose(f);
            return -1;
        }
        t->dtype = (int)dt;
        t->ndim = (int)nd;
        t->n = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint32_t v;
            if (fread(&v, 4, 1, f) != 1) {
                fclose(f);
                return -1;
            }
            t->dims[d] = (int)v;
            t->n *= v;
        }
        t->data = malloc(t->n * 4 + 4);
        if (fread(t->data, 4, t->n, f) != t->n) {
            fprintf(stderr, "%s: truncated data of %s\n", path, t->name);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static inline void gt_free(gt_file *g) {
    for (int i = 0; i < g->count; i++) free(g->t[i].data);
    free(g->t);
}

/* The tensor of that name; exits when missing (a missing golden fails the test). */
static inline gt_tensor *gt_get(gt_file *g, const char *name) {
    for (int i = 0; i < g->count; i++)
        if (!strcmp(g->t[i].name, name)) return &g->t[i];
    fprintf(stderr, "golden tensor %s missing\n", name);
    exit(1);
}
static inline float *gt_f(gt_file *g, const char *name) { return (float *)gt_get(g, name)->data; }
static inline int32_t *gt_i(gt_file *g, const char *name) { return (int32_t *)gt_get(g, name)->data; }

/* Relative-ish error of got vs want: |got - want| / (|want| + floor), the
 * floor being atol/rtol so that near-zero references are judged absolutely
 * (|diff| <= atol). Returns the worst, prints it with its index. */
static inline double gt_compare(const char *what, const float *got, const float *want, size_t n, double rtol,
                                double atol) {
    double worst = 0, floor = atol / rtol;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]) / (fabs((double)want[i]) + floor);
        if (!(e <= worst)) { /* NaN counts as worst */
            worst = isnan(e) ? INFINITY : e;
            wi = i;
        }
    }
    printf("  %-22s n=%-5zu worst rel err %.3g at [%zu] (got %.9g want %.9g) %s\n", what, n, worst, wi,
           n ? got[wi] : 0.0, n ? want[wi] : 0.0, worst <= rtol ? "ok" : "FAIL");
    return worst;
}

#endif
