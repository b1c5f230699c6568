/* cmd_index.c — `semsearch index build|query|stats`: build a vector index
 * from .fvecs / .npy / .jsonl vectors (ids = 0-based row numbers), query it
 * (one JSON object per query line), print its stats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "index/vecio.h"
#include "semsearch.h"

static void usage(void) {
    fprintf(stderr,
            "usage: semsearch index build VECTORS --out FILE [--metric cosine|dot|l2] [--type flat|hnsw]\n"
            "                             [--quantize none|fp16|int8|binary] [--m N] [--ef-construction N]\n"
            "                             [--ef-search N] [--no-rescore] [--threads N]\n"
            "       semsearch index query FILE QUERIES [-k K] [--ef N] [--threads N]\n"
            "       semsearch index stats FILE\n"
            "VECTORS / QUERIES: .fvecs, .npy (2-D float) or .jsonl (one JSON array per line).\n"
            "query writes one line per query: {\"ids\": [...], \"scores\": [...]} (ids = row numbers of VECTORS;\n"
            "scores: cosine/dot similarity descending, l2 squared distance ascending).\n");
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int need_value(int argc, char **argv, int i) {
    if (i + 1 >= argc) {
        fprintf(stderr, "semsearch index: %s needs a value\n", argv[i]);
        exit(2);
    }
    return i + 1;
}

static int parse_int(const char *flag, const char *v, int lo, int hi) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi) {
        fprintf(stderr, "semsearch index: %s expects an integer in %d..%d, got '%s'\n", flag, lo, hi, v);
        exit(2);
    }
    return (int)x;
}

static int cmd_build(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    ss_index_options o = {.type = SS_INDEX_HNSW, .metric = SS_METRIC_COSINE};
    int type_set = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--out") || !strcmp(a, "-o")) out = argv[i = need_value(argc, argv, i)];
        else if (!strcmp(a, "--metric")) {
            const char *v = argv[i = need_value(argc, argv, i)];
            if (!strcmp(v, "cosine")) o.metric = SS_METRIC_COSINE;
            else if (!strcmp(v, "dot") || !strcmp(v, "ip")) o.metric = SS_METRIC_DOT;
            else if (!strcmp(v, "l2")) o.metric = SS_METRIC_L2;
            else {
                fprintf(stderr, "semsearch index build: unknown --metric '%s' (cosine, dot, l2)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--type")) {
            const char *v = argv[i = need_value(argc, argv, i)];
            type_set = 1;
            if (!strcmp(v, "flat")) o.type = SS_INDEX_FLAT;
            else if (!strcmp(v, "hnsw")) o.type = SS_INDEX_HNSW;
            else {
                fprintf(stderr, "semsearch index build: unknown --type '%s' (flat, hnsw)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--quantize")) {
            const char *v = argv[i = need_value(argc, argv, i)];
            if (!strcmp(v, "none") || !strcmp(v, "fp32")) o.quantize = SS_QUANT_NONE;
            else if (!strcmp(v, "fp16")) o.quantize = SS_QUANT_FP16;
            else if (!strcmp(v, "int8")) o.quantize = SS_QUANT_INT8;
            else if (!strcmp(v, "binary")) o.quantize = SS_QUANT_BINARY;
            else {
                fprintf(stderr, "semsearch index build: unknown --quantize '%s' (none, fp16, int8, binary)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--m")) o.m = parse_int(a, argv[i = need_value(argc, argv, i)], 2, 512);
        else if (!strcmp(a, "--ef-construction"))
            o.ef_construction = parse_int(a, argv[i = need_value(argc, argv, i)], 1, 2000);
        else if (!strcmp(a, "--ef-search") || !strcmp(a, "--ef"))
            o.ef_search = parse_int(a, argv[i = need_value(argc, argv, i)], 1, 100000);
        else if (!strcmp(a, "--threads")) o.n_threads = parse_int(a, argv[i = need_value(argc, argv, i)], 1, 256);
        else if (!strcmp(a, "--no-rescore")) o.keep_fp32 = -1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "semsearch index build: unknown option %s\n", a);
            usage();
            return 2;
        } else if (!in) in = a;
        else {
            fprintf(stderr, "semsearch index build: unexpected argument %s\n", a);
            return 2;
        }
    }
    (void)type_set;
    if (!in || !out) {
        fprintf(stderr, "semsearch index build: need VECTORS and --out FILE\n");
        usage();
        return 2;
    }
    ss_error err = {0};
    size_t n;
    int d;
    double t0 = now();
    float *v = ss_read_vectors(in, &n, &d, &err);
    if (!v) {
        fprintf(stderr, "semsearch index build: %s\n", err.msg);
        return 1;
    }
    ss_index *x = ss_index_new(d, &o, &err);
    if (!x || ss_index_add(x, NULL, v, n, &err) != SS_OK || ss_index_save(x, out, &err) != SS_OK) {
        fprintf(stderr, "semsearch index build: %s\n", err.msg);
        ss_index_free(x);
        free(v);
        return 1;
    }
    ss_index_stats st;
    ss_index_get_stats(x, &st);
    fprintf(stderr, "built %s index of %zu x %d (%s, %s) in %.2f s -> %s (%.0f bytes/vector, kernels %s)\n",
            o.type == SS_INDEX_HNSW ? "hnsw" : "flat", n, d, ss_metric_name(o.metric), ss_quant_name(o.quantize),
            now() - t0, out, st.bytes_per_vector, st.isa);
    ss_index_free(x);
    free(v);
    return 0;
}

static int cmd_query(int argc, char **argv) {
    const char *file = NULL, *qpath = NULL;
    int k = 10, ef = 0, threads = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-k") || !strcmp(a, "--k")) k = parse_int(a, argv[i = need_value(argc, argv, i)], 1, 100000);
        else if (!strcmp(a, "--ef") || !strcmp(a, "--ef-search"))
            ef = parse_int(a, argv[i = need_value(argc, argv, i)], 1, 100000);
        else if (!strcmp(a, "--threads")) threads = parse_int(a, argv[i = need_value(argc, argv, i)], 1, 256);
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "semsearch index query: unknown option %s\n", a);
            return 2;
        } else if (!file) file = a;
        else if (!qpath) qpath = a;
        else {
            fprintf(stderr, "semsearch index query: unexpected argument %s\n", a);
            return 2;
        }
    }
    if (!file || !qpath) {
        fprintf(stderr, "semsearch index query: need FILE and QUERIES\n");
        usage();
        return 2;
    }
    ss_error err = {0};
    ss_index *x = ss_index_load(file, &err);
    if (!x) {
        fprintf(stderr, "semsearch index query: %s\n", err.msg);
        return 1;
    }
    size_t nq;
    int d;
    float *q = ss_read_vectors(qpath, &nq, &d, &err);
    ss_index_stats st;
    ss_index_get_stats(x, &st);
    if (!q || d != st.dim) {
        if (q) fprintf(stderr, "semsearch index query: %s has %d-dim vectors, the index has %d\n", qpath, d, st.dim);
        else fprintf(stderr, "semsearch index query: %s\n", err.msg);
        free(q);
        ss_index_free(x);
        return 1;
    }
    int64_t *ids = malloc(nq * (size_t)k * sizeof *ids);
    float *sc = malloc(nq * (size_t)k * sizeof *sc);
    ss_search_params p = {.ef_search = ef, .n_threads = threads};
    if (!ids || !sc || ss_index_search(x, q, nq, k, &p, ids, sc, &err) != SS_OK) {
        fprintf(stderr, "semsearch index query: %s\n", ids && sc ? err.msg : "out of memory");
        free(ids), free(sc), free(q);
        ss_index_free(x);
        return 1;
    }
    for (size_t i = 0; i < nq; i++) {
        const int64_t *r = ids + i * (size_t)k;
        const float *s = sc + i * (size_t)k;
        int m = 0;
        while (m < k && r[m] >= 0) m++;
        fputs("{\"ids\": [", stdout);
        for (int j = 0; j < m; j++) printf(j ? ", %lld" : "%lld", (long long)r[j]);
        fputs("], \"scores\": [", stdout);
        for (int j = 0; j < m; j++) printf(j ? ", %.7g" : "%.7g", (double)s[j]);
        fputs("]}\n", stdout);
    }
    free(ids), free(sc), free(q);
    ss_index_free(x);
    return fflush(stdout) ? 1 : 0;
}

static int cmd_stats(int argc, char **argv) {
    if (argc < 3) {
        usage();
        return 2;
    }
    ss_error err = {0};
    ss_index *x = ss_index_load(argv[2], &err);
    if (!x) {
        fprintf(stderr, "semsearch index stats: %s\n", err.msg);
        return 1;
    }
    ss_index_stats s;
    ss_index_get_stats(x, &s);
    printf("{\"type\": \"%s\", \"metric\": \"%s\", \"quantize\": \"%s\", \"dim\": %d, \"count\": %lld, "
           "\"deleted\": %lld, \"max_level\": %d, \"memory_bytes\": %zu, \"bytes_per_vector\": %.1f, "
           "\"kernels\": \"%s\"}\n",
           s.type == SS_INDEX_HNSW ? "hnsw" : "flat", ss_metric_name(s.metric), ss_quant_name(s.quantize), s.dim,
           (long long)s.count, (long long)s.deleted, s.max_level, s.memory_bytes, s.bytes_per_vector, s.isa);
    ss_index_free(x);
    return 0;
}

int cmd_index(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "build")) return cmd_build(argc, argv);
    if (!strcmp(argv[1], "query")) return cmd_query(argc, argv);
    if (!strcmp(argv[1], "stats")) return cmd_stats(argc, argv);
    fprintf(stderr, "semsearch index: unknown subcommand '%s'\n", argv[1]);
    usage();
    return 2;
}
