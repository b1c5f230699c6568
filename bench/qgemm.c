/* bench/qgemm.c — int8 encoder GEMM (src/kernels/qgemm.c) vs OpenBLAS sgemm,
 * one thread, on the Linear shapes of a MiniLM / BERT layer:
 * y[T, n] = x[T, k] · W[n, k]ᵀ + b, as the encoder calls them. Reports
 * "GFLOP-equivalent" 2·T·k·n / s for both (the int8 figure counts the same
 * multiply-adds), for the GEMM alone and including the per-token activation
 * quantisation the encoder does before each int8 GEMM; and, where the CPU has
 * AVX512_BF16, the bf16 GEMM including the activation rounding. Best of --runs.
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID, both sides
 * single-threaded), so that other processes on a loaded machine do not count
 * as our time; they still share the caches and memory bandwidth.
 *
 *   bench_qgemm [--T 512] [--hidden 384] [--ffn 1536] [--runs 5] [--isa scalar|avx2|avx512-vnni]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "kernels/bgemm.h"
#include "kernels/ops.h"
#include "kernels/qgemm.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *rnd(size_t n, uint32_t seed) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "bench_qgemm: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = ((seed = seed * 1664525u + 1013904223u) >> 9) * (1.0f / 8388608.0f) - 0.5f;
    return p;
}

static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c += 1 + (c[1] == ' ');
                c[strcspn(c, "\n")] = 0;
                snprintf(out, cap, "%s", c);
            }
            break;
        }
    fclose(f);
}

int main(int argc, char **argv) {
    int T = 512, H = 384, FF = 1536, runs = 5;
    const char *isa = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--T")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hidden")) H = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--ffn")) FF = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--isa")) isa = argv[i + 1];
        else {
            fprintf(stderr, "bench_qgemm: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (T < 1 || H < 1 || FF < 1 || runs < 1) {
        fprintf(stderr, "bench_qgemm: --T, --hidden, --ffn and --runs must be >= 1\n");
        return 2;
    }
    const ss_qgemm_kernel *kern = ss_qgemm_best();
    if (isa) {
        ss_qisa want = !strcmp(isa, "scalar") ? SS_QISA_SCALAR : !strcmp(isa, "avx2") ? SS_QISA_AVX2
                                                               : SS_QISA_AVX512_VNNI;
        kern = ss_qgemm_for(want);
        if (!kern) {
            fprintf(stderr, "bench_qgemm: this CPU cannot run the %s kernels\n", isa);
            return 2;
        }
    }
    ss_blas_set_single_threaded();
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    FILE *la = fopen("/proc/loadavg", "r");
    double load = 0;
    if (la) {
        if (fscanf(la, "%lf", &load) != 1) load = -1;
        fclose(la);
    }
    printf("bench_qgemm: %s; int8 kernels %s; OpenBLAS %s, 1 thread; T %d; best of %d; load %.2f%s\n", cpu,
           kern->name, openblas_get_corename(), T, runs, load, load > 1 ? " (UNDER LOAD: figures not valid benchmarks)" : "");
    struct { const char *name; int k, n; } shapes[] = {
        {"qkv", H, 3 * H}, {"attn_out", H, H}, {"ffn_in", H, FF}, {"ffn_out", FF, H}};
    const int has_bf = ss_bgemm_available();
    printf("%-9s %5s %5s %11s %11s %11s %7s %7s %11s %7s\n", "shape", "k", "n", "sgemm GF/s", "int8 GF/s",
           "+quant GF/s", "ratio", "+quant", "bf16+cvt", "ratio");
    double tot_f = 0, tot_q = 0, tot_qq = 0, tot_flops = 0, tot_b = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int k = shapes[s].k, n = shapes[s].n;
        float *x = rnd((size_t)T * k, 1), *w = rnd((size_t)n * k, 2), *b = rnd((size_t)n, 3);
        float *y = rnd((size_t)T * n, 4);
        ss_qweight q;
        ss_qact a = {0};
        ss_error err = {0};
        if (ss_qweight_init(&q, w, n, k, &err) != SS_OK || ss_qact_quantize(&a, x, T, k, kern->wide, &err) != SS_OK) {
            fprintf(stderr, "bench_qgemm: %s\n", err.msg);
            return 1;
        }
        ss_bweight bw = {0};
        ss_bact ba = {0};
        if (has_bf && (ss_bweight_init(&bw, w, n, k, &err) != SS_OK || ss_bact_reserve(&ba, T, k, &err) != SS_OK)) {
            fprintf(stderr, "bench_qgemm: %s\n", err.msg);
            return 1;
        }
        double flops = 2.0 * T * k * n, bf = 1e30, bq = 1e30, bqq = 1e30, bb = 1e30;
        int reps = (int)(2e8 / flops);
        if (reps < 1) reps = 1;
        for (int r = -1; r < runs; r++) {
            double t0 = now_s();
            for (int i = 0; i < reps; i++) ss_linear_cols(x, T, k, w, b, y, n, 0, n);
            double t1 = now_s();
            for (int i = 0; i < reps; i++) ss_qgemm_cols(kern, &a, &q, b, y, n, 0, n);
            double t2 = now_s();
            for (int i = 0; i < reps; i++) {
                if (ss_qact_quantize(&a, x, T, k, kern->wide, &err) != SS_OK) return 1;
                ss_qgemm_cols(kern, &a, &q, b, y, n, 0, n);
            }
            double t3 = now_s();
            for (int i = 0; i < reps && has_bf; i++) {
                ss_bact_convert_rows(&ba, x, 0, T);
                ss_bgemm_cols(&ba, &bw, b, y, n, 0, n);
            }
            double t4 = now_s();
            if (r < 0) continue;
            bb = (t4 - t3) / reps < bb ? (t4 - t3) / reps : bb;
            bf = (t1 - t0) / reps < bf ? (t1 - t0) / reps : bf;
            bq = (t2 - t1) / reps < bq ? (t2 - t1) / reps : bq;
            bqq = (t3 - t2) / reps < bqq ? (t3 - t2) / reps : bqq;
        }
        printf("%-9s %5d %5d %11.1f %11.1f %11.1f %6.2fx %6.2fx %11.1f %6.2fx\n", shapes[s].name, k, n,
               flops / bf * 1e-9, flops / bq * 1e-9, flops / bqq * 1e-9, bf / bq, bf / bqq,
               has_bf ? flops / bb * 1e-9 : 0.0, has_bf ? bf / bb : 0.0);
        tot_f += bf, tot_q += bq, tot_qq += bqq, tot_flops += flops, tot_b += bb;
        ss_bweight_free(&bw);
        ss_bact_free(&ba);
        ss_qact_free(&a);
        ss_qweight_free(&q);
        free(x), free(w), free(b), free(y);
    }
    printf("%-9s %11s %11.1f %11.1f %11.1f %6.2fx %6.2fx %11.1f %6.2fx\n", "layer", "", tot_flops / tot_f * 1e-9,
           tot_flops / tot_q * 1e-9, tot_flops / tot_qq * 1e-9, tot_f / tot_q, tot_f / tot_qq,
           has_bf ? tot_flops / tot_b * 1e-9 : 0.0, has_bf ? tot_f / tot_b : 0.0);
    return 0;
}
