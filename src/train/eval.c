/* eval.c — see eval.h. Sums in double, two-pass (mean first). */
#include "train/eval.h"

#include <math.h>
#include <stdlib.h>

double ss_pearson(const double *x, const double *y, size_t n) {
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= n, my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b, sxx += a * a, syy += b * b;
    }
    return sxy / sqrt(sxx * syy);
}

typedef struct {
    double v;
    size_t i;
} vi;

static int cmp_vi(const void *a, const void *b) {
    double x = ((const vi *)a)->v, y = ((const vi *)b)->v;
    return x < y ? -1 : x > y;
}

/* ranks 1..n, ties get the mean of their positions */
static int ranks(const double *x, size_t n, double *r) {
    vi *t = malloc(sizeof *t * (n ? n : 1));
    if (!t) return -1;
    for (size_t i = 0; i < n; i++) t[i] = (vi){x[i], i};
    qsort(t, n, sizeof *t, cmp_vi);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && t[j + 1].v == t[i].v) j++;
        double avg = (double)(i + j) / 2.0 + 1.0;
        for (size_t k = i; k <= j; k++) r[t[k].i] = avg;
        i = j + 1;
    }
    free(t);
    return 0;
}

double ss_spearman(const double *x, const double *y, size_t n) {
    double *rx = malloc(sizeof(double) * (n ? n : 1)), *ry = malloc(sizeof(double) * (n ? n : 1));
    double r = NAN;
    if (rx && ry && !ranks(x, n, rx) && !ranks(y, n, ry)) r = ss_pearson(rx, ry, n);
    free(rx), free(ry);
    return r;
}
