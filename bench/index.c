/* bench/index.c — semsearch's vector index on real embeddings:
 *   exact-scan bandwidth (GB/s) vs the machine's measured read bandwidth,
 *   HNSW build time, memory per vector, and recall@10 / QPS over an ef sweep
 *   for fp32, int8+rescore and binary+rescore, single-thread and 2 threads.
 * Writes base / query / ground-truth files for the Python peers
 * (bench/index_peers.py: hnswlib, FAISS) and JSON lines of results.
 *
 * usage: bench_index VECTORS.fvecs [--queries Q.fvecs | --holdout N] [--n N]
 *                    [--out DIR] [--k 10] [--threads 2] [--configs fp32,int8,binary]
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "index/kernels.h"
#include "vecio.h"
#include "semsearch.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double rss_mb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long a = 0, b = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &a, &b) != 2) b = 0;
        fclose(f);
    }
    return (double)b * (double)sysconf(_SC_PAGESIZE) / 1e6;
}

/* ---- memory read bandwidth: threads each stream their half of a big array */
typedef struct bw_job {
    const float *p;
    size_t n;
    float sink;
} bw_job;
static void *bw_worker(void *a) {
    bw_job *j = a;
    const ss_kernels *k = ss_kernels_best();
    j->sink += k->dot_f32(j->p, j->p, j->n); /* one stream: both operands hit the same lines */
    return NULL;
}
static double read_bandwidth(int nth) {
    size_t n = (size_t)1 << 28; /* 1 GiB of floats */
    float *a = malloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = (float)(i & 7);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        bw_job j[16];
        pthread_t th[16];
        double t0 = now();
        for (int t = 0; t < nth; t++) {
            j[t] = (bw_job){a + n / nth * t, n / nth, 0};
            pthread_create(&th[t], NULL, bw_worker, &j[t]);
        }
        for (int t = 0; t < nth; t++) pthread_join(th[t], NULL);
        double gbs = (double)n * 4 / (now() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    free(a);
    return best;
}

static double recall(const int64_t *got, const int64_t *truth, size_t nq, int k) {
    size_t hit = 0;
    for (size_t q = 0; q < nq; q++)
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                if (got[q * k + i] == truth[q * k + j]) {
                    hit++;
                    break;
                }
    return (double)hit / (double)(nq * (size_t)k);
}

/* the CPU model (/proc/cpuinfo's first "model name"), for the run's header */
static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "?");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(out, cap, "%s", strchr(line, ':') + 2);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    fclose(f);
}

int main(int argc, char **argv) {
    const char *vpath = NULL, *qpath = NULL, *outdir = "build/index-bench", *configs = "fp32,int8,binary";
    size_t holdout = 1000, nmax = 0;
    int k = 10, nth = 2, m = 16, efc = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--queries") && i + 1 < argc) qpath = argv[++i];
        else if (!strcmp(argv[i], "--holdout") && i + 1 < argc) holdout = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) nmax = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) outdir = argv[++i];
        else if (!strcmp(argv[i], "--k") && i + 1 < argc) k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) nth = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--m") && i + 1 < argc) m = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ef-construction") && i + 1 < argc) efc = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--configs") && i + 1 < argc) configs = argv[++i];
        else vpath = argv[i];
    }
    if (!vpath) {
        fprintf(stderr, "usage: bench_index VECTORS.fvecs [--queries Q.fvecs | --holdout N] [--n N] [--out DIR]\n");
        return 2;
    }
    ss_error err;
    size_t n, nq;
    int d, dq;
    float *all = ss_read_vectors(vpath, &n, &d, &err), *base, *qs;
    if (!all) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (qpath) {
        qs = ss_read_vectors(qpath, &nq, &dq, &err);
        if (!qs || dq != d) {
            fprintf(stderr, "queries: %s\n", qs ? "dimension mismatch" : err.msg);
            return 1;
        }
        base = all;
        if (nmax && nmax < n) n = nmax;
    } else {
        /* hold out every (n/holdout)-th row as a query */
        size_t step = n / holdout, nb = 0;
        nq = 0;
        base = malloc(n * (size_t)d * 4);
        qs = malloc(holdout * (size_t)d * 4);
        for (size_t i = 0; i < n; i++) {
            if (nq < holdout && i % step == step / 2) memcpy(qs + nq++ * d, all + i * d, (size_t)d * 4);
            else memcpy(base + nb++ * d, all + i * d, (size_t)d * 4);
        }
        n = nb;
        if (nmax && nmax < n) n = nmax;
        free(all);
        all = base;
    }
    char path[1024];
    snprintf(path, sizeof path, "mkdir -p '%s'", outdir);
    if (system(path) != 0) return 1;
    snprintf(path, sizeof path, "%s/base.fvecs", outdir);
    ss_write_fvecs(path, base, n, d, &err);
    snprintf(path, sizeof path, "%s/queries.fvecs", outdir);
    ss_write_fvecs(path, qs, nq, d, &err);
    snprintf(path, sizeof path, "%s/ours.jsonl", outdir);
    FILE *out = fopen(path, "w");
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("bench_index: %zu base x %d dims, %zu queries, k=%d; CPU %s, %ld online; kernels %s\n", n, d, nq, k, cpu,
           sysconf(_SC_NPROCESSORS_ONLN), ss_kernels_best()->name);

    /* ---- exact scan: ground truth + bandwidth */
    ss_index_options fo = {.type = SS_INDEX_FLAT, .metric = SS_METRIC_DOT, .n_threads = nth};
    ss_index *flat = ss_index_new(d, &fo, &err);
    ss_index_add(flat, NULL, base, n, &err);
    int64_t *truth = malloc(nq * (size_t)k * 8), *got = malloc(nq * (size_t)k * 8);
    float *sc = malloc(nq * (size_t)k * 4);
    double t0 = now();
    ss_index_search(flat, qs, nq, k, NULL, truth, sc, &err);
    double t_batch = now() - t0;
    snprintf(path, sizeof path, "%s/gt.i64", outdir);
    FILE *g = fopen(path, "wb");
    fwrite(truth, 8, nq * (size_t)k, g);
    fclose(g);
    double bw1 = read_bandwidth(1), bw2 = read_bandwidth(nth);
    double bytes = (double)n * d * 4;
    for (int threads = 1; threads <= nth; threads++) {
        ss_search_params p = {.n_threads = threads};
        size_t reps = 0;
        t0 = now();
        double dt;
        do {
            ss_index_search(flat, qs + (reps % nq) * d, 1, k, &p, got, sc, &err);
            reps++;
        } while ((dt = now() - t0) < 2.0);
        double gbs = bytes * (double)reps / dt / 1e9, bw = threads == 1 ? bw1 : bw2;
        printf("exact scan, 1 query at a time, %d thread(s): %.1f QPS, %.2f GB/s = %.0f%% of measured read bandwidth "
               "%.2f GB/s\n",
               threads, (double)reps / dt, gbs, 100 * gbs / bw, bw);
        fprintf(out,
                "{\"lib\": \"semsearch\", \"kind\": \"exact-scan\", \"threads\": %d, \"qps\": %.2f, \"gbs\": %.3f, "
                "\"read_bw_gbs\": %.3f}\n",
                threads, (double)reps / dt, gbs, bw);
    }
    printf("exact scan, batched %zu queries, %d threads: %.1f QPS (blocked: %.1f GB/s effective)\n", nq, nth,
           (double)nq / t_batch, bytes * (double)nq / t_batch / 1e9);
    fprintf(out, "{\"lib\": \"semsearch\", \"kind\": \"exact-batched\", \"threads\": %d, \"qps\": %.2f}\n", nth,
            (double)nq / t_batch);
    ss_index_free(flat);

    /* ---- HNSW sweeps */
    int efs[] = {10, 16, 24, 32, 48, 64, 96, 128, 256, 512};
    int nef = (int)(sizeof efs / sizeof efs[0]);
    struct {
        const char *name;
        ss_quant q;
    } cfg[] = {{"fp32", SS_QUANT_NONE}, {"int8", SS_QUANT_INT8}, {"binary", SS_QUANT_BINARY}};
    for (int c = 0; c < 3; c++) {
        if (!strstr(configs, cfg[c].name)) continue;
        ss_index_options o = {.type = SS_INDEX_HNSW, .metric = SS_METRIC_DOT, .quantize = cfg[c].q, .m = m,
                              .ef_construction = efc, .n_threads = nth};
        double r0 = rss_mb();
        ss_index *x = ss_index_new(d, &o, &err);
        t0 = now();
        if (ss_index_add(x, NULL, base, n, &err) != SS_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double tb = now() - t0, r1 = rss_mb();
        ss_index_stats st;
        ss_index_get_stats(x, &st);
        printf("hnsw %-6s M=%d efC=%d: build %.1f s (%d threads), %.0f bytes/vector (stats), RSS +%.0f MB (%.0f B/vec)\n",
               cfg[c].name, m, efc, tb, nth, st.bytes_per_vector, r1 - r0, (r1 - r0) * 1e6 / (double)n);
        fprintf(out,
                "{\"lib\": \"semsearch\", \"kind\": \"build\", \"config\": \"%s\", \"build_s\": %.3f, \"threads\": %d, "
                "\"bytes_per_vector\": %.1f, \"rss_bytes_per_vector\": %.1f}\n",
                cfg[c].name, tb, nth, st.bytes_per_vector, (r1 - r0) * 1e6 / (double)n);
        for (int e = 0; e < nef; e++) {
            for (int threads = 1; threads <= nth; threads += (nth > 1 ? nth - 1 : 1)) {
                ss_search_params p = {.ef_search = efs[e], .n_threads = threads};
                double best = 1e30;
                for (int rep = 0; rep < 3; rep++) {
                    t0 = now();
                    ss_index_search(x, qs, nq, k, &p, got, sc, &err);
                    double dt = now() - t0;
                    if (dt < best) best = dt;
                }
                double r = recall(got, truth, nq, k);
                printf("  %-6s ef=%-4d threads=%d recall@%d=%.4f QPS=%.0f\n", cfg[c].name, efs[e], threads, k, r,
                       (double)nq / best);
                fprintf(out,
                        "{\"lib\": \"semsearch\", \"kind\": \"search\", \"config\": \"%s\", \"ef\": %d, \"threads\": "
                        "%d, \"recall\": %.5f, \"qps\": %.1f}\n",
                        cfg[c].name, efs[e], threads, r, (double)nq / best);
                fflush(out);
            }
        }
        ss_index_free(x);
    }
    fclose(out);
    free(base), free(qs), free(truth), free(got), free(sc);
    return 0;
}
