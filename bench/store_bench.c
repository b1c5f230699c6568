/* store_bench.c — collection ingest and query latency, ratios from one run.
 *
 *   build/bench_store_bench MODEL_DIR TEXTS_FILE [N_DOCS] [N_QUERIES] [flat|hnsw] [OUT_DIR] [EF,EF...]
 *
 * TEXTS_FILE: one text per line (e.g. bench/index_prepare_texts.py's big.txt);
 * documents are its first N_DOCS lines (repeated with a suffix when the file is
 * shorter), queries are other lines. Measures:
 *   - ingest with the encoder: ss_collection_add_file on a JSONL of the texts
 *     (batches of 256, synchronous=FULL), docs/s;
 *   - store-only ingest: the same documents with the vectors the first
 *     ingest stored, into a second collection through ss_collection_add with
 *     ss_doc.vector (same batches, same durability): what compares with peers
 *     given vectors;
 *   - the encoder's share of ingest = 1 - store-only / with-encoder (wall and
 *     process CPU): the store must not be the bottleneck (>= 90%);
 *   - query latency p50 / p99 end to end (text -> vector -> index -> documents
 *     from SQLite) and with the embedding excluded (precomputed query vectors),
 *     the latter also at each HNSW beam EF given (for comparing at equal recall).
 * With OUT_DIR it also writes what bench/store_peers.py gives Chroma and
 * sqlite-vec: docs.f32 / queries.f32 (raw little-endian float32, rows of
 * dim), texts.txt (the document texts, one a line), ours_ids.txt (our top-10
 * document numbers per query, embedding excluded; ours_ids_ef<EF>.txt for
 * each EF) and ours.json (figures). */
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

/* One pass of the precomputed query vectors at HNSW beam ef (0 = the
 * collection's default): p50 / p99 into *p50, *p99 (ms), top-10 document
 * numbers per query into ids_path when given. */
static int vector_pass(ss_collection *c, const float *qall, size_t nq, int d, int ef, const char *ids_path, double *p50,
                       double *p99) {
    double *lat = malloc(nq * sizeof *lat);
    FILE *f = ids_path ? fopen(ids_path, "w") : NULL;
    if (!lat || (ids_path && !f)) return perror(ids_path ? ids_path : "malloc"), -1;
    ss_error err;
    for (size_t i = 0; i < nq; i++) {
        ss_query q = {.vector = qall + i * (size_t)d, .k = 10, .ef_search = ef};
        double t0 = now();
        ss_results *r = ss_collection_search(c, &q, &err);
        lat[i] = now() - t0;
        if (!r) return fprintf(stderr, "%s\n", err.msg), -1;
        for (size_t h = 0; f && h < ss_results_count(r); h++)
            fprintf(f, h ? " %s" : "%s", ss_results_hit(r, h)->id + 1); /* "d123" -> 123 */
        if (f) fputc('\n', f);
        ss_results_free(r);
    }
    if (f) fclose(f);
    qsort(lat, nq, sizeof *lat, cmpd);
    *p50 = lat[nq / 2] * 1e3;
    *p99 = lat[nq * 99 / 100] * 1e3;
    free(lat);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXTS_FILE [N_DOCS] [N_QUERIES] [flat|hnsw] [OUT_DIR] [EF,EF...]\n",
                argv[0]);
        return 2;
    }
    size_t ndocs = argc > 3 ? (size_t)atol(argv[3]) : 2000, nq = argc > 4 ? (size_t)atol(argv[4]) : 200;
    int hnsw = argc > 5 && !strcmp(argv[5], "hnsw");
    const char *out_dir = argc > 6 ? argv[6] : NULL;
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
    fprintf(stderr, "ingest with the encoder: %.1f s\n", t_add);
    /* the vectors it stored, in document order (rowid order = file order) */
    int d = ss_collection_dim(c);
    float *emb = malloc(ndocs * (size_t)d * sizeof *emb); /* all of them: the peers get the same vectors */
    ss_collection_iter *it = ss_collection_iter_new(c, 0, &err);
    ss_doc_vec dv;
    size_t got = 0;
    while (it && got < ndocs && ss_collection_iter_next(it, &dv, &err) == 1)
        memcpy(emb + got++ * (size_t)d, dv.vector, (size_t)d * sizeof *emb);
    ss_collection_iter_free(it);
    if (got != ndocs) return fprintf(stderr, "read back %zu of %zu vectors\n", got, ndocs), 1;
    /* store-only ingest: the same documents and vectors, same batches, into a second collection */
    char cdir2[320];
    snprintf(cdir2, sizeof cdir2, "%s/c2", dir);
    ss_collection *c2 = ss_collection_open(cdir2, &o, &err);
    if (!c2) return fprintf(stderr, "%s\n", err.msg), 1;
    ss_doc *batch = malloc(256 * sizeof *batch);
    char **fj = malloc(ndocs * sizeof *fj), idb[256][32];
    for (size_t i = 0; i < ndocs; i++) {
        size_t L = strlen(texts[i]);
        char *q = fj[i] = malloc(2 * L + 16);
        q += sprintf(q, "{\"text\": \"");
        for (const char *p = texts[i]; *p; p++) {
            if ((unsigned char)*p < 0x20) continue;
            if (*p == '"' || *p == '\\') *q++ = '\\';
            *q++ = *p;
        }
        strcpy(q, "\"}");
    }
    ss_add_stats st2 = {0};
    t0 = now();
    c0 = cpu();
    for (size_t i = 0; i < ndocs; i += 256) {
        size_t nb = ndocs - i < 256 ? ndocs - i : 256;
        for (size_t j = 0; j < nb; j++) {
            snprintf(idb[j], sizeof idb[j], "d%zu", i + j);
            batch[j] = (ss_doc){.id = idb[j], .fields_json = fj[i + j], .vector = emb + (i + j) * (size_t)d};
        }
        if (ss_collection_add(c2, batch, nb, &st2, &err) != SS_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    }
    if (ss_collection_close(c2, &err) != SS_OK) return fprintf(stderr, "%s\n", err.msg), 1; /* saves its index */
    double t_store = now() - t0, c_store = cpu() - c0;
    for (size_t i = 0; i < ndocs; i++) free(fj[i]);
    free(fj);
    free(batch);
    printf("ingest: %zu docs with the encoder in %.2f s wall = %.1f docs/s (CPU %.2f s); store only (vectors given) "
           "%.2f s wall = %.1f docs/s (CPU %.2f s) -> encoder share %.1f%% of ingest wall, %.1f%% of CPU\n",
           ndocs, t_add, (double)ndocs / t_add, c_add, t_store, (double)ndocs / t_store, c_store,
           100.0 * (1.0 - t_store / t_add), 100.0 * (1.0 - c_store / c_add));
    ss_model_options mo = {0};
    ss_model *m = ss_model_load(argv[1], &mo, &err);
    if (!m) return fprintf(stderr, "%s\n", err.msg), 1;
    /* queries: end to end (text in), then the same queries as vectors, back to back
     * (as the peers' queries run) at the default beam and at each EF */
    double *e2e = malloc(nq * sizeof *e2e), noemb_p50, noemb_p99;
    float *qall = malloc(nq * (size_t)d * sizeof *qall);
    char path[400];
    for (size_t i = 0; i < nq; i++) {
        const char *qt = lines[(ndocs + i * 7) % n];
        ss_query q = {.text = qt, .k = 10};
        t0 = now();
        ss_results *r = ss_collection_search(c, &q, &err);
        e2e[i] = now() - t0;
        if (!r) return fprintf(stderr, "%s\n", err.msg), 1;
        ss_results_free(r);
        if (ss_encode(m, &qt, 1, NULL, qall + i * (size_t)d, &err) != SS_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    }
    snprintf(path, sizeof path, "%s/ours_ids.txt", out_dir ? out_dir : "/tmp");
    if (vector_pass(c, qall, nq, d, 0, out_dir ? path : NULL, &noemb_p50, &noemb_p99)) return 1;
    /* the same vectors at other beams: written as {"ef": N, "p50_ms": .., "p99_ms": ..} */
    char efs_json[2048] = "";
    size_t ej = 0;
    for (const char *p = argc > 7 ? argv[7] : ""; *p;) {
        int ef = atoi(p);
        double p50, p99;
        snprintf(path, sizeof path, "%s/ours_ids_ef%d.txt", out_dir ? out_dir : "/tmp", ef);
        if (ef <= 0 || vector_pass(c, qall, nq, d, ef, out_dir ? path : NULL, &p50, &p99)) return 1;
        printf("query (embedding excluded), HNSW beam %d: p50 %.3f ms p99 %.3f ms\n", ef, p50, p99);
        ej += (size_t)snprintf(efs_json + ej, sizeof efs_json - ej, "%s{\"ef\": %d, \"p50_ms\": %.6f, \"p99_ms\": %.6f}",
                               ej ? ", " : "", ef, p50, p99);
        p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p);
    }
    qsort(e2e, nq, sizeof *e2e, cmpd);
    printf("query (%s, k 10, %zu docs): end to end p50 %.3f ms p99 %.3f ms; embedding excluded p50 %.3f ms p99 %.3f ms\n",
           hnsw ? "hnsw" : "flat", ndocs, e2e[nq / 2] * 1e3, e2e[nq * 99 / 100] * 1e3, noemb_p50, noemb_p99);
    if (out_dir) {
        snprintf(path, sizeof path, "%s/docs.f32", out_dir);
        f = fopen(path, "wb");
        if (!f || fwrite(emb, sizeof *emb * (size_t)d, ndocs, f) != ndocs || fclose(f)) return perror(path), 1;
        snprintf(path, sizeof path, "%s/queries.f32", out_dir);
        f = fopen(path, "wb");
        if (!f || fwrite(qall, sizeof *qall * (size_t)d, nq, f) != nq || fclose(f)) return perror(path), 1;
        snprintf(path, sizeof path, "%s/texts.txt", out_dir);
        f = fopen(path, "w");
        if (!f) return perror(path), 1;
        for (size_t i = 0; i < ndocs; i++) fprintf(f, "%s\n", texts[i]);
        fclose(f);
        snprintf(path, sizeof path, "%s/ours.json", out_dir);
        f = fopen(path, "w");
        if (!f) return perror(path), 1;
        fprintf(f,
                "{\"docs\": %zu, \"queries\": %zu, \"dim\": %d, \"index\": \"%s\", \"ingest_wall_s\": %.6f,"
                " \"ingest_cpu_s\": %.6f, \"store_wall_s\": %.6f, \"store_cpu_s\": %.6f,"
                " \"e2e_p50_ms\": %.6f, \"e2e_p99_ms\": %.6f, \"noemb_p50_ms\": %.6f, \"noemb_p99_ms\": %.6f,"
                " \"efs\": [%s]}\n",
                ndocs, nq, d, hnsw ? "hnsw" : "flat", t_add, c_add, t_store, c_store, e2e[nq / 2] * 1e3,
                e2e[nq * 99 / 100] * 1e3, noemb_p50, noemb_p99, efs_json);
        fclose(f);
    }
    for (size_t i = 0; i < ndocs; i++) free(texts[i]);
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(texts);
    free(lines);
    free(emb);
    free(qall);
    free(e2e);
    ss_collection_close(c, NULL);
    ss_model_free(m);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
    return 0;
}
