/* cmd_index.c — `semsearch index build|query|stats`: build a vector index
 * from .fvecs / .npy / .jsonl vectors (ids = 0-based row numbers), query it
 * (one JSON object per query line), print its stats. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "opts.h"
#include "vecio.h"
#include "semsearch.h"

static const char *const formats =
    "VECTORS / QUERIES: .fvecs, .npy (2-D float) or .jsonl (one JSON array per line).\n";

static void usage(FILE *f) {
    fprintf(f,
            "usage: semsearch index build VECTORS --out FILE [--metric cosine|dot|l2] [--type flat|hnsw]\n"
            "                             [--quantize none|fp16|int8|binary] [--m N] [--ef-construction N]\n"
            "                             [--ef-search N] [--rescore|--no-rescore] [--threads N]\n"
            "       semsearch index query FILE QUERIES [-k K] [--ef N] [--threads N]\n"
            "       semsearch index stats FILE\n"
            "%s"
            "query writes one line per query: {\"ids\": [...], \"scores\": [...]} (ids = row numbers of VECTORS;\n"
            "scores: cosine/dot similarity descending, l2 squared distance ascending).\n"
            "semsearch index SUBCOMMAND --help lists a subcommand's options.\n",
            formats);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmd_build(int argc, char **argv) {
    const char *out = NULL, *metric = "cosine", *type = "hnsw", *quantize = "none";
    ss_index_options o = {.type = SS_INDEX_HNSW, .metric = SS_METRIC_COSINE};
    const cli_opt opts[] = {
        {"out", 'o', CLI_STRING, &out, "FILE", "the index file to write (required)"},
        {"metric", 0, CLI_STRING, &metric, "M", "cosine (default), dot (or ip) or l2"},
        {"type", 0, CLI_STRING, &type, "T", "hnsw (default) or flat"},
        {"quantize", 0, CLI_STRING, &quantize, "Q", "none (fp32, default), fp16, int8 or binary"},
        {"m", 0, CLI_INT, &o.m, "N", "HNSW links per node", .lo = 2, .hi = 512},
        {"ef-construction", 0, CLI_INT, &o.ef_construction, "N", "HNSW build beam width", .lo = 1, .hi = 2000},
        {"ef-search", 0, CLI_INT, &o.ef_search, "N", "default HNSW search beam width", .lo = 1, .hi = 100000},
        {"ef", 0, CLI_INT, &o.ef_search, "N", NULL, .lo = 1, .hi = 100000},
        {"no-rescore", 0, CLI_SET, &o.keep_fp32, NULL, "quantised index: do not keep fp32 vectors to rescore", .set = -1},
        {"rescore", 0, CLI_SET, &o.keep_fp32, NULL,
         "keep fp32 vectors and rescore from them (the default for int8 / binary; fp16: walk fp16, rescore fp32)",
         .set = 1},
        {"threads", 0, CLI_INT, &o.n_threads, "N", "build threads (default: all cores)", .hi = CLI_THREADS},
        {0}};
    const cli_spec spec = {"index build", "VECTORS --out FILE [options]",
                           "  builds a vector index from VECTORS (ids = 0-based row numbers)", opts, 1, 1, formats};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    const char *in = pos[0];
    free(pos);
    if (!strcmp(metric, "cosine")) o.metric = SS_METRIC_COSINE;
    else if (!strcmp(metric, "dot") || !strcmp(metric, "ip")) o.metric = SS_METRIC_DOT;
    else if (!strcmp(metric, "l2")) o.metric = SS_METRIC_L2;
    else return cli_usage_error(&spec, "unknown --metric '%s' (cosine, dot, l2)", metric);
    if (!strcmp(type, "flat")) o.type = SS_INDEX_FLAT;
    else if (!strcmp(type, "hnsw")) o.type = SS_INDEX_HNSW;
    else return cli_usage_error(&spec, "unknown --type '%s' (flat, hnsw)", type);
    if (!strcmp(quantize, "none") || !strcmp(quantize, "fp32")) o.quantize = SS_QUANT_NONE;
    else if (!strcmp(quantize, "fp16")) o.quantize = SS_QUANT_FP16;
    else if (!strcmp(quantize, "int8")) o.quantize = SS_QUANT_INT8;
    else if (!strcmp(quantize, "binary")) o.quantize = SS_QUANT_BINARY;
    else return cli_usage_error(&spec, "unknown --quantize '%s' (none, fp16, int8, binary)", quantize);
    if (!out) return cli_usage_error(&spec, "need --out FILE");
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

static int index_cmd_query(int argc, char **argv) {
    int k = 10, ef = 0, threads = 0;
    const cli_opt opts[] = {
        {"k", 'k', CLI_INT, &k, "K", "results per query (default 10)", .lo = 1, .hi = 100000},
        {"ef", 0, CLI_INT, &ef, "N", "HNSW search beam width (default: the index's)", .lo = 1, .hi = 100000},
        {"ef-search", 0, CLI_INT, &ef, "N", NULL, .lo = 1, .hi = 100000},
        {"threads", 0, CLI_INT, &threads, "N", "search threads (default: all cores)", .hi = CLI_THREADS},
        {0}};
    const cli_spec spec = {"index query", "FILE QUERIES [options]",
                           "  answers each query vector of QUERIES with one line {\"ids\": [...], \"scores\": [...]}\n"
                           "  (scores: cosine/dot similarity descending, l2 squared distance ascending)",
                           opts, 2, 2, formats};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    const char *file = pos[0], *qpath = pos[1];
    free(pos);
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
    /* A score that is not finite cannot be printed as JSON: a damaged index. */
    for (size_t i = 0; i < nq * (size_t)k; i++)
        if (ids[i] >= 0 && !isfinite(sc[i])) {
            fprintf(stderr, "semsearch index query: query %zu: result %lld has a non-finite score; is %s damaged?\n",
                    i / (size_t)k, (long long)ids[i], file);
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
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "semsearch index query: error writing standard output\n");
        return 1;
    }
    return 0;
}

static int cmd_stats(int argc, char **argv) {
    const cli_opt opts[] = {{0}};
    const cli_spec spec = {"index stats", "FILE", "  prints the index's stats as one JSON object", opts, 1, 1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    const char *file = pos[0];
    free(pos);
    ss_error err = {0};
    ss_index *x = ss_index_load(file, &err);
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

int cmd_index(int argc, char **argv, const cli_globals *g) {
    (void)g;
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* argv[1] is the subcommand: it becomes argv[0] of the sub-parser. */
    if (!strcmp(argv[1], "build")) return cmd_build(argc - 1, argv + 1);
    if (!strcmp(argv[1], "query")) return index_cmd_query(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stats")) return cmd_stats(argc - 1, argv + 1);
    fprintf(stderr, "semsearch index: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
