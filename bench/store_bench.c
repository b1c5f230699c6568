/* store_bench.c — collection ingest and query latency, ratios from one run.
 *
 *   build/bench_store_bench MODEL_DIR TEXTS_FILE [N_DOCS] [N_QUERIES] [flat|hnsw]
 *
 * TEXTS_FILE: one text per line (e.g. STSb sentences); documents are its
 * first N_DOCS lines (repeated with a suffix when the file is shorter),
 * queries are other lines. Prints: ingest docs/s through ss_collection_add_file,
 * the time the same texts take in ss_encode alone (same batch size) and that
 * share of the ingest time (the store must not be the bottleneck: >= 90%);
 * query latency p50 / p99 end to end (text -> vector -> index -> documents
 * from SQLite) and with the embedding excluded (precomputed query vectors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "semsearch.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (all threads): robust when the machine is shared. */
static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXTS_FILE [N_DOCS] [N_QUERIES] [flat|hnsw]\n", argv[0]);
        return 2;
    }
    size_t ndocs = argc > 3 ? (size_t)atol(argv[3]) : 2000, nq = argc > 4 ? (size_t)atol(argv[4]) : 200;
    int hnsw = argc > 5 && !strcmp(argv[5], "hnsw");
    FILE *f = fopen(argv[2], "r");
    if (!f) return perror(argv[2]), 1;
    char **lines = NULL, *line = NULL;
    size_t n = 0, cap = 0, lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        if (n == cap) lines = realloc(lines, (cap = cap ? cap * 2 : 1024) * sizeof *lines);
        lines[n++] = strdup(line);
    }
    fclose(f);
    free(line);
    if (n < 2) return fprintf(stderr, "too few lines\n"), 1;
    char dir[] = "/tmp/ss-store-bench-XXXXXX", docs[300], cdir[300];
    if (!mkdtemp(dir)) return 1;
    snprintf(docs, sizeof docs, "%s/docs.jsonl", dir);
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    f = fopen(docs, "w");
    char **texts = malloc(ndocs * sizeof *texts);
    for (size_t i = 0; i < ndocs; i++) {
        char buf[4096];
        if (i < n) snprintf(buf, sizeof buf, "%s", lines[i % n]);
        else snprintf(buf, sizeof buf, "%s (%zu)", lines[i % n], i / n);
        texts[i] = strdup(buf);
        fputs("{\"id\": \"", f);
        fprintf(f, "d%zu\", \"text\": \"", i);
        for (const char *p = buf; *p; p++) {
            if (*p == '"' || *p == '\\') fputc('\\', f);
            if ((unsigned char)*p < 0x20) continue;
            fputc(*p, f);
        }
        fputs("\"}\n", f);
    }
    fclose(f);
    ss_error err;
    ss_collection_options o = {.create = 1, .model_dir = argv[1], .index_type = hnsw ? SS_INDEX_HNSW : SS_INDEX_FLAT};
    ss_collection *c = ss_collection_open(cdir, &o, &err);
    if (!c) return fprintf(stderr, "%s\n", err.msg), 1;
    ss_add_stats st = {0};
    double t0 = now(), c0 = cpu();
    if (ss_collection_add_file(c, docs, NULL, &st, &err) != SS_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    double t_add = now() - t0, c_add = cpu() - c0;
    /* the same texts through the encoder alone, in the same batches (256) */
    ss_model_options mo = {0};
    ss_model *m = ss_model_load(argv[1], &mo, &err);
    int d = ss_model_dim(m);
    float *emb = malloc(256 * (size_t)d * sizeof *emb);
    ss_encode_options eo = {.batch_size = 32};
    t0 = now();
    c0 = cpu();
    for (size_t i = 0; i < ndocs; i += 256)
        ss_encode(m, (const char *const *)texts + i, ndocs - i < 256 ? ndocs - i : 256, &eo, emb, &err);
    double t_enc = now() - t0, c_enc = cpu() - c0;
    printf("ingest: %zu docs in %.2f s wall = %.1f docs/s; CPU: ingest %.2f s, encoder alone %.2f s -> encoder share "
           "%.1f%% of ingest CPU (store %.2f s); wall encoder alone %.2f s\n",
           ndocs, t_add, (double)ndocs / t_add, c_add, c_enc, 100.0 * c_enc / c_add, c_add - c_enc, t_enc);
    /* queries */
    double *e2e = malloc(nq * sizeof *e2e), *noemb = malloc(nq * sizeof *noemb);
    float *qv = malloc((size_t)d * sizeof *qv);
    for (size_t i = 0; i < nq; i++) {
        const char *qt = lines[(ndocs + i * 7) % n];
        ss_query q = {.text = qt, .k = 10};
        t0 = now();
        ss_results *r = ss_collection_search(c, &q, &err);
        e2e[i] = now() - t0;
        ss_results_free(r);
        ss_encode(m, &qt, 1, NULL, qv, &err);
        ss_query qq = {.vector = qv, .k = 10};
        t0 = now();
        r = ss_collection_search(c, &qq, &err);
        noemb[i] = now() - t0;
        ss_results_free(r);
    }
    qsort(e2e, nq, sizeof *e2e, cmpd);
    qsort(noemb, nq, sizeof *noemb, cmpd);
    printf("query (%s, k 10, %zu docs): end to end p50 %.3f ms p99 %.3f ms; embedding excluded p50 %.3f ms p99 %.3f ms\n",
           hnsw ? "hnsw" : "flat", ndocs, e2e[nq / 2] * 1e3, e2e[nq * 99 / 100] * 1e3, noemb[nq / 2] * 1e3,
           noemb[nq * 99 / 100] * 1e3);
    ss_collection_close(c, NULL);
    ss_model_free(m);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
    return 0;
}
