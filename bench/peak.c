/* bench/peak.c — this machine's FP32 limits as the encoder sees them.
 *
 * OpenBLAS cblas_sgemm (the library libsemsearch links) GFLOP/s, best of N:
 * the square 2048^3 case, then the four encoder GEMM shapes of a BERT layer
 * (y[M,N] = x[M,K] . W[N,K]^T, as src/kernels/ops.c calls it) for a sweep of
 * M = tokens per forward pass, at 1 thread and at all cores; plus memcpy
 * bandwidth. Tells how much of the peak a batch of M tokens can reach at all.
 *
 *   bench_peak [--hidden 384] [--ffn 1536] [--runs 5] [--threads N]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *rnd(size_t n, uint32_t seed) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "bench_peak: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = ((seed = seed * 1664525u + 1013904223u) >> 9) * (1.0f / 8388608.0f) - 0.5f;
    return p;
}

/* Best GFLOP/s of C[m,n] = A[m,k] . op(B); trans_b: B is [n,k]. */
static double gemm(int m, int n, int k, int trans_b, int runs) {
    float *a = rnd((size_t)m * k, 1), *b = rnd((size_t)k * n, 2), *c = rnd((size_t)m * n, 3);
    double flops = 2.0 * m * n * k, best = 1e30;
    int reps = (int)(3e9 / flops);
    if (reps < 1) reps = 1;
    for (int r = -1; r < runs; r++) {
        double t0 = now_s();
        for (int i = 0; i < reps; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, k, b,
                        trans_b ? k : n, 0.0f, c, n);
        double t = (now_s() - t0) / reps;
        if (r >= 0 && t < best) best = t;
    }
    free(a);
    free(b);
    free(c);
    return flops / best * 1e-9;
}

int main(int argc, char **argv) {
    int H = 384, FF = 1536, runs = 5, threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--hidden")) H = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--ffn")) FF = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: bench_peak [--hidden 384] [--ffn 1536] [--runs 5] [--threads N]\n");
            return 2;
        }
    }
    if (runs < 1) runs = 1;
    int all = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    double l[3] = {0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3) l[0] = -1;
        fclose(f);
    }
    printf("OpenBLAS %s; load %.2f; best of %d\n", openblas_get_corename(), l[0], runs);
    int tset[2] = {1, all};
    for (int ti = 0; ti < (all > 1 ? 2 : 1); ti++) {
        openblas_set_num_threads(tset[ti]);
        printf("\n%d thread%s: sgemm 2048^3 NN %.1f GFLOP/s\n", tset[ti], tset[ti] > 1 ? "s" : "",
               gemm(2048, 2048, 2048, 0, runs));
        printf("%6s %12s %12s %12s %12s   (GFLOP/s; N x K, B transposed)\n", "M", "QKV", "attn-out", "FFN-in",
               "FFN-out");
        char h1[32], h2[32], h3[32], h4[32];
        snprintf(h1, sizeof h1, "%dx%d", 3 * H, H);
        snprintf(h2, sizeof h2, "%dx%d", H, H);
        snprintf(h3, sizeof h3, "%dx%d", FF, H);
        snprintf(h4, sizeof h4, "%dx%d", H, FF);
        printf("%6s %12s %12s %12s %12s\n", "", h1, h2, h3, h4);
        static const int Ms[] = {16, 32, 64, 128, 256, 448, 512, 1024, 2048, 4096};
        for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
            int M = Ms[mi];
            printf("%6d %12.1f %12.1f %12.1f %12.1f\n", M, gemm(M, 3 * H, H, 1, runs), gemm(M, H, H, 1, runs),
                   gemm(M, FF, H, 1, runs), gemm(M, H, FF, 1, runs));
        }
    }
    size_t nb = (size_t)256 << 20;
    char *src = malloc(nb), *dst = malloc(nb);
    if (src && dst) {
        memset(src, 1, nb);
        memset(dst, 0, nb);
        double best = 1e30;
        for (int r = 0; r < runs; r++) {
            double t0 = now_s();
            memcpy(dst, src, nb);
            double t = now_s() - t0;
            if (t < best) best = t;
        }
        printf("\nmemcpy 256 MiB: %.1f GB/s read + write\n", 2.0 * nb / best * 1e-9);
    }
    free(src);
    free(dst);
    return 0;
}
