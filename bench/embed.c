/* bench/embed.c — encoder throughput benchmark (not a test).
 *
 * Times ss_encode over the 2,758 sentences of STSb test (batch 32, fp32) and
 * reports sentences/s, real tokens/s, useful GFLOP/s and the fraction of this
 * machine's measured FP32 peak. bench/embed.sh runs it next to
 * sentence-transformers (bench/embed_reference.py) and prints the ratio; see
 * docs/bench-embed.md for the method.
 *
 *   bench_embed [--model DIR] [--data FILE] [--runs N] [--warmup N]
 *               [--batch N] [--threads N] [--peak-runs N] [--peak-gflops X]
 *               [--no-peak] [--peak-only] [--dump FILE] [--json] [--compute fp32|int8|bf16]
 *
 * Useful FLOPs = 2 x (non-embedding parameters) per real token, where the
 * non-embedding parameters are every tensor of model.safetensors except the
 * embedding tables and their LayerNorm (names containing "embeddings."), the
 * MPNet relative-attention bias table (a lookup, like an embedding) and the
 * unused BERT pooler ("pooler."): i.e. per layer the Q/K/V/O weights and
 * biases, both FFN weights and biases and both LayerNorms. For BERT that is
 * 4H^2+4H + 2HI+I+H + 4H per layer, cross-checked against config.json.
 * Attention's L^2 terms (QK^T, PV) are reported separately, not counted.
 *
 * Uses only the public header, plus OpenBLAS's <cblas.h> (the same library
 * libsemsearch links) for the peak sgemm and cJSON for the safetensors header.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <cjson/cJSON.h>

#include "semsearch.h"

#define DEFAULT_MODEL "models/all-MiniLM-L6-v2"
#define DEFAULT_DATA "/work/shared/data/stsbenchmark/sts-test.csv"

/* ---- small helpers -------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static void loadavg(double l[3]) {
    l[0] = l[1] = l[2] = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return;
    if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3) l[0] = l[1] = l[2] = -1;
    fclose(f);
}

static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ') p++;
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double *c = malloc((size_t)n * sizeof *c);
    if (!c) return v[0];
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        if (len) *len = n;
    }
    return buf;
}

static void json_str(FILE *o, const char *s) {
    fputc('"', o);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(o, "\\%c", c);
        else if (c < 0x20) fprintf(o, "\\u%04x", c);
        else fputc(c, o);
    }
    fputc('"', o);
}

/* ---- STSb test sentences ------------------------------------------------- */

/* Lines split on '\t' (no csv quoting, no header): sentence1 = field 5,
 * sentence2 = field 6 (0-based), kept byte-for-byte; order s1, s2 of pair 0,
 * s1, s2 of pair 1, ... exactly as tools/reference/common.py reads them. */
static char **read_sts(const char *path, size_t *n_out, char **storage) {
    size_t len;
    char *buf = read_file(path, &len);
    if (!buf) return NULL;
    size_t cap = 4096, n = 0;
    char **s = malloc(cap * sizeof *s);
    char *p = buf;
    int lineno = 0;
    while (s && *p) {
        char *nl = strchr(p, '\n');
        char *next = nl ? nl + 1 : p + strlen(p);
        if (nl) *nl = 0;
        lineno++;
        if (*p) {
            char *f[16];
            int nf = 0;
            f[nf++] = p;
            for (char *q = p; *q && nf < 16; q++)
                if (*q == '\t') {
                    *q = 0;
                    f[nf++] = q + 1;
                }
            if (nf < 7) {
                fprintf(stderr, "bench_embed: %s:%d: %d tab-separated fields, need at least 7\n", path, lineno, nf);
                free(s);
                free(buf);
                return NULL;
            }
            if (n + 2 > cap) {
                char **ns = realloc(s, (cap *= 2) * sizeof *s);
                if (!ns) {
                    free(s);
                    s = NULL;
                    break;
                }
                s = ns;
            }
            s[n++] = f[5];
            s[n++] = f[6];
        }
        p = next;
    }
    if (!s) {
        free(buf);
        return NULL;
    }
    *n_out = n;
    *storage = buf;
    return s;
}

/* ---- parameter count from model.safetensors ------------------------------ */

typedef struct params {
    int64_t total, embedding, pooler, non_embedding;
    int64_t formula;       /* BERT/MPNet per-layer formula from config.json; -1 if n/a */
    int layers, hidden, heads, intermediate;
    char model_type[64];
} params;

static int count_params(const char *dir, params *pc) {
    memset(pc, 0, sizeof *pc);
    pc->formula = -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *cfg = read_file(path, NULL);
    if (cfg) {
        cJSON *j = cJSON_Parse(cfg);
        if (j) {
            cJSON *v;
            if ((v = cJSON_GetObjectItem(j, "num_hidden_layers")) && cJSON_IsNumber(v)) pc->layers = v->valueint;
            if ((v = cJSON_GetObjectItem(j, "hidden_size")) && cJSON_IsNumber(v)) pc->hidden = v->valueint;
            if ((v = cJSON_GetObjectItem(j, "num_attention_heads")) && cJSON_IsNumber(v)) pc->heads = v->valueint;
            if ((v = cJSON_GetObjectItem(j, "intermediate_size")) && cJSON_IsNumber(v)) pc->intermediate = v->valueint;
            if ((v = cJSON_GetObjectItem(j, "model_type")) && cJSON_IsString(v))
                snprintf(pc->model_type, sizeof pc->model_type, "%s", v->valuestring);
            cJSON_Delete(j);
        }
        free(cfg);
    }
    int64_t H = pc->hidden, FF = pc->intermediate;
    if (pc->layers > 0 && H > 0 && FF > 0)
        pc->formula = (int64_t)pc->layers * ((4 * H * H + 4 * H) + (2 * H * FF + FF + H) + 4 * H);

    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_embed: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    unsigned char hb[8];
    if (fread(hb, 1, 8, f) != 8) {
        fclose(f);
        fprintf(stderr, "bench_embed: %s: short header\n", path);
        return -1;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | hb[i];
    if (hlen == 0 || hlen > (1u << 28)) {
        fclose(f);
        fprintf(stderr, "bench_embed: %s: implausible header length %llu\n", path, (unsigned long long)hlen);
        return -1;
    }
    char *h = malloc(hlen + 1);
    if (!h || fread(h, 1, hlen, f) != hlen) {
        free(h);
        fclose(f);
        fprintf(stderr, "bench_embed: %s: cannot read header\n", path);
        return -1;
    }
    fclose(f);
    h[hlen] = 0;
    cJSON *j = cJSON_Parse(h);
    free(h);
    if (!j) {
        fprintf(stderr, "bench_embed: %s: header is not JSON\n", path);
        return -1;
    }
    for (cJSON *t = j->child; t; t = t->next) {
        if (!t->string || !strcmp(t->string, "__metadata__")) continue;
        cJSON *shape = cJSON_GetObjectItem(t, "shape");
        int64_t numel = 1;
        for (cJSON *d = shape ? shape->child : NULL; d; d = d->next) numel *= (int64_t)d->valuedouble;
        pc->total += numel;
        if (strstr(t->string, "embeddings.") || strstr(t->string, "relative_attention_bias"))
            pc->embedding += numel;
        else if (strstr(t->string, "pooler."))
            pc->pooler += numel;
        else
            pc->non_embedding += numel;
    }
    cJSON_Delete(j);
    return 0;
}

/* ---- FP32 peak: OpenBLAS sgemm ------------------------------------------- */

typedef struct gemm_shape {
    const char *name;
    int m, n, k;
    int trans_b; /* 1: B is [n,k] row-major (weights, as the library calls it) */
    int for_peak;
    double gflops; /* measured, best of runs */
} gemm_shape;

static double time_sgemm(gemm_shape *g, int runs) {
    size_t sa = (size_t)g->m * g->k, sb = (size_t)g->k * g->n, sc = (size_t)g->m * g->n;
    float *a = aligned_alloc(64, (sa * 4 + 63) / 64 * 64), *b = aligned_alloc(64, (sb * 4 + 63) / 64 * 64),
          *c = aligned_alloc(64, (sc * 4 + 63) / 64 * 64);
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return 0;
    }
    uint32_t r = 12345;
    for (size_t i = 0; i < sa; i++) a[i] = ((r = r * 1664525u + 1013904223u) >> 9) * (1.0f / 8388608.0f) - 0.5f;
    for (size_t i = 0; i < sb; i++) b[i] = ((r = r * 1664525u + 1013904223u) >> 9) * (1.0f / 8388608.0f) - 0.5f;
    memset(c, 0, sc * 4);
    double flops = 2.0 * g->m * g->n * g->k, best = 1e30;
    /* Repeat small shapes so that one timing covers >= ~50 ms. */
    int reps = (int)(5e9 / flops);
    if (reps < 1) reps = 1;
    for (int run = -1; run < runs; run++) { /* run -1 is the warm-up */
        double t0 = now_s();
        for (int i = 0; i < reps; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans, g->m, g->n, g->k, 1.0f,
                        a, g->k, b, g->trans_b ? g->k : g->n, 0.0f, c, g->n);
        double t = (now_s() - t0) / reps;
        if (run >= 0 && t < best) best = t;
    }
    free(a);
    free(b);
    free(c);
    g->gflops = flops / best * 1e-9;
    return g->gflops;
}

/* ---- main ----------------------------------------------------------------- */

static void usage(FILE *o) {
    fprintf(o,
            "usage: bench_embed [options]\n"
            "  --model DIR        model folder (default " DEFAULT_MODEL ")\n"
            "  --data FILE        STSb test file (default $SEMSEARCH_STS_TEST or " DEFAULT_DATA ")\n"
            "  --runs N           timed passes over all sentences, best is reported (default 5)\n"
            "  --warmup N         untimed passes first (default 1)\n"
            "  --batch N          ss_encode batch_size (default 32)\n"
            "  --threads N        semsearch threads and OpenBLAS threads (default 0 = all cores)\n"
            "  --peak-runs N      best of N per sgemm shape (default 5)\n"
            "  --peak-gflops X    use X as the FP32 peak instead of measuring it\n"
            "  --no-peak          do not measure the peak (no %% of peak)\n"
            "  --peak-only        measure the peak only (no model needed)\n"
            "  --dump FILE        write the embeddings (n x dim float32, input order)\n"
            "  --json             one JSON line instead of a table\n"
            "  --compute C        encoder arithmetic: fp32 (default), int8 or bf16 (ss_model_options.compute)\n");
}

int main(int argc, char **argv) {
    const char *model_dir = DEFAULT_MODEL, *data = getenv("SEMSEARCH_STS_TEST"), *dump = NULL;
    if (!data || !*data) data = DEFAULT_DATA;
    int runs = 5, warmup = 1, batch = 32, threads = 0, peak_runs = 5, no_peak = 0, peak_only = 0, json = 0;
    double peak_given = 0;
    int compute = SS_COMPUTE_FP32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                        \
    if (!v) {                                                          \
        fprintf(stderr, "bench_embed: %s needs a value\n", a);         \
        return 2;                                                      \
    }                                                                  \
    i++;
        if (!strcmp(a, "--model")) { NEEDV(); model_dir = v; }
        else if (!strcmp(a, "--data")) { NEEDV(); data = v; }
        else if (!strcmp(a, "--runs")) { NEEDV(); runs = atoi(v); }
        else if (!strcmp(a, "--warmup")) { NEEDV(); warmup = atoi(v); }
        else if (!strcmp(a, "--batch")) { NEEDV(); batch = atoi(v); }
        else if (!strcmp(a, "--threads")) { NEEDV(); threads = atoi(v); }
        else if (!strcmp(a, "--peak-runs")) { NEEDV(); peak_runs = atoi(v); }
        else if (!strcmp(a, "--peak-gflops")) { NEEDV(); peak_given = atof(v); }
        else if (!strcmp(a, "--dump")) { NEEDV(); dump = v; }
        else if (!strcmp(a, "--compute")) {
            NEEDV();
            if ((compute = ss_compute_parse(v)) < 0) {
                fprintf(stderr, "bench_embed: --compute must be fp32, int8 or bf16, not '%s'\n", v);
                return 2;
            }
        }
        else if (!strcmp(a, "--no-peak")) no_peak = 1;
        else if (!strcmp(a, "--peak-only")) peak_only = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else {
            fprintf(stderr, "bench_embed: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
#undef NEEDV
    }
    if (runs < 1) runs = 1;
    if (warmup < 0) warmup = 0;
    if (batch < 1) batch = 32;
    if (peak_runs < 1) peak_runs = 1;
    if (threads > 0) openblas_set_num_threads(threads);

    double load0[3];
    loadavg(load0);
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    /* -- peak -- */
    gemm_shape shapes[] = {
        {"sgemm 2048x2048x2048 NN", 2048, 2048, 2048, 0, 1, 0},
        {"sgemm 4096x1536x384 NT (FFN in, 4096 tokens)", 4096, 1536, 384, 1, 1, 0},
        {"sgemm 4096x384x1536 NT (FFN out, 4096 tokens)", 4096, 384, 1536, 1, 1, 0},
        {"sgemm 448x1536x384 NT (FFN in, one STSb batch of ~448 tokens)", 448, 1536, 384, 1, 0, 0},
        {"sgemm 448x1152x384 NT (QKV, one STSb batch)", 448, 1152, 384, 1, 0, 0},
        {"sgemm 448x384x384 NT (attention out, one STSb batch)", 448, 384, 384, 1, 0, 0},
    };
    const int n_shapes = (int)(sizeof shapes / sizeof shapes[0]);
    double peak = peak_given;
    int measured_peak = 0;
    if (!no_peak && peak_given <= 0) {
        for (int s = 0; s < n_shapes; s++) {
            time_sgemm(&shapes[s], peak_runs);
            if (shapes[s].for_peak && shapes[s].gflops > peak) peak = shapes[s].gflops;
        }
        measured_peak = 1;
    }
    if (peak_only) {
        if (json) {
            printf("{\"peak_gflops\":%.2f,\"openblas_threads\":%d,\"openblas_core\":", peak,
                   openblas_get_num_threads());
            json_str(stdout, openblas_get_corename());
            printf(",\"shapes\":[");
            for (int s = 0; s < n_shapes; s++)
                printf("%s{\"name\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"gflops\":%.2f}", s ? "," : "", shapes[s].name,
                       shapes[s].m, shapes[s].n, shapes[s].k, shapes[s].gflops);
            printf("]}\n");
        } else {
            printf("OpenBLAS %s, %d threads, %s\n", openblas_get_corename(), openblas_get_num_threads(), cpu);
            for (int s = 0; s < n_shapes; s++) printf("  %-62s %8.1f GFLOP/s\n", shapes[s].name, shapes[s].gflops);
            printf("  FP32 peak (best of the large shapes)                         %8.1f GFLOP/s\n", peak);
        }
        return 0;
    }

    /* The encoder's pool owns the cores, GEMMs included: semsearch's CLI makes
     * the same call. Remembered so that the second peak measurement below
     * runs with the thread count the first one had. */
    const int peak_blas_threads = openblas_get_num_threads();
    ss_blas_set_single_threaded();
    const int encode_blas_threads = openblas_get_num_threads();

    /* -- model and sentences -- */
    size_t n = 0;
    char *storage = NULL;
    char **texts = read_sts(data, &n, &storage);
    if (!texts || n == 0) {
        fprintf(stderr, "bench_embed: cannot read sentences from %s%s%s\n", data, errno ? ": " : "",
                errno ? strerror(errno) : "");
        return 1;
    }
    ss_error err;
    ss_model_options mo = {.n_threads = threads, .max_seq_length = 0, .compute = (ss_compute)compute};
    ss_model *m = ss_model_load(model_dir, &mo, &err);
    if (!m) {
        fprintf(stderr, "bench_embed: %s\n", err.msg);
        return 1;
    }
    params pc;
    if (count_params(model_dir, &pc) != 0) return 1;

    /* Real tokens exactly as the Transformer module sees them. */
    int cap = ss_model_max_seq_length(m) + 8;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    int *lens = malloc(n * sizeof *lens);
    int64_t real_tokens = 0;
    double attn_flops = 0;
    for (size_t i = 0; i < n; i++) {
        int t = ss_model_tokenize(m, texts[i], NULL, ids, cap, &err);
        if (t < 0) {
            fprintf(stderr, "bench_embed: tokenizing sentence %zu: %s\n", i, err.msg);
            return 1;
        }
        lens[i] = t;
        real_tokens += t;
        /* per layer: QK^T and PV, 2*L*L*H each */
        attn_flops += (double)pc.layers * 4.0 * t * t * ss_model_hidden_size(m);
    }
    free(ids);
    free(lens);
    const double flops_per_token = 2.0 * (double)pc.non_embedding;
    const double useful_flops = flops_per_token * (double)real_tokens;

    ss_encode_options eo = {0};
    eo.batch_size = batch;
    const int dim = ss_encode_dim(m, &eo);
    float *out = malloc(n * (size_t)dim * sizeof *out);
    double *times = malloc((size_t)runs * sizeof *times);
    if (!out || !times) {
        fprintf(stderr, "bench_embed: out of memory\n");
        return 1;
    }
    for (int w = 0; w < warmup; w++) {
        if (ss_encode(m, (const char *const *)texts, n, &eo, out, &err) != SS_OK) {
            fprintf(stderr, "bench_embed: encode: %s\n", err.msg);
            return 1;
        }
    }
    double cpu0 = cpu_s(), wall_total = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        if (ss_encode(m, (const char *const *)texts, n, &eo, out, &err) != SS_OK) {
            fprintf(stderr, "bench_embed: encode: %s\n", err.msg);
            return 1;
        }
        times[r] = now_s() - t0;
        wall_total += times[r];
    }
    double cores_busy = (cpu_s() - cpu0) / wall_total;
    double best = times[0];
    for (int r = 1; r < runs; r++)
        if (times[r] < best) best = times[r];
    double med = median(times, runs);
    double load1[3];
    loadavg(load1);
    /* The peak again, after the timed runs (large shapes only): on a shared
     * machine the better of the two is the closer to the truth. */
    double peak_before = peak, peak_after = 0;
    if (measured_peak) {
        openblas_set_num_threads(peak_blas_threads);
        for (int s = 0; s < n_shapes; s++) {
            if (!shapes[s].for_peak) continue;
            double before = shapes[s].gflops;
            double g = time_sgemm(&shapes[s], peak_runs);
            if (g > peak_after) peak_after = g;
            if (before > shapes[s].gflops) shapes[s].gflops = before;
        }
        if (peak_after > peak) peak = peak_after;
    }

    /* Sanity: rows are finite (and unit-norm for a normalising model). */
    double max_norm_err = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int d = 0; d < dim; d++) s += (double)out[i * dim + d] * out[i * dim + d];
        if (!isfinite(s)) {
            fprintf(stderr, "bench_embed: embedding %zu is not finite\n", i);
            return 1;
        }
        if (ss_model_normalizes(m) && fabs(sqrt(s) - 1.0) > max_norm_err) max_norm_err = fabs(sqrt(s) - 1.0);
    }
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (!f || fwrite(out, sizeof(float), n * (size_t)dim, f) != n * (size_t)dim || fclose(f) != 0) {
            fprintf(stderr, "bench_embed: cannot write %s\n", dump);
            return 1;
        }
    }

    const double sps = (double)n / best, tps = (double)real_tokens / best, gflops = useful_flops / best * 1e-9;
    const double pct = peak > 0 ? 100.0 * gflops / peak : -1;
    const int nthreads = threads > 0 ? threads : (int)ncpu;
    time_t tnow = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S%z", localtime(&tnow));

    if (json) {
        printf("{\"tool\":\"semsearch\",\"date\":\"%s\",\"cpu\":", date);
        json_str(stdout, cpu);
        printf(",\"ncpu\":%ld,\"model\":", ncpu);
        json_str(stdout, model_dir);
        printf(",\"describe\":");
        json_str(stdout, ss_model_describe(m));
        printf(",\"data\":");
        json_str(stdout, data);
        printf(",\"n_sentences\":%zu,\"real_tokens\":%lld,\"batch\":%d,\"threads\":%d,\"openblas_threads\":%d,"
               "\"openblas_core\":",
               n, (long long)real_tokens, batch, nthreads, encode_blas_threads);
        json_str(stdout, openblas_get_corename());
        printf(",\"warmup\":%d,\"runs\":%d,\"times_s\":[", warmup, runs);
        for (int r = 0; r < runs; r++) printf("%s%.4f", r ? "," : "", times[r]);
        printf("],\"best_s\":%.4f,\"median_s\":%.4f,\"cores_busy\":%.2f,\"sentences_per_s\":%.1f,"
               "\"tokens_per_s\":%.1f,",
               best, med, cores_busy, sps, tps);
        printf("\"params_total\":%lld,\"params_embedding\":%lld,\"params_pooler\":%lld,\"params_non_embedding\":%lld,"
               "\"params_formula\":%lld,\"flops_per_token\":%.0f,\"attention_flops_share\":%.4f,"
               "\"useful_gflops\":%.2f,",
               (long long)pc.total, (long long)pc.embedding, (long long)pc.pooler, (long long)pc.non_embedding,
               (long long)pc.formula, flops_per_token, attn_flops / (useful_flops + attn_flops), gflops);
        printf("\"peak_gflops\":%.2f,\"peak_measured\":%s,\"peak_before_gflops\":%.2f,\"peak_after_gflops\":%.2f,"
               "\"pct_peak\":%.1f,\"sgemm\":[",
               peak, measured_peak ? "true" : "false", measured_peak ? peak_before : 0.0, peak_after, pct);
        for (int s = 0, first = 1; s < n_shapes; s++) {
            if (shapes[s].gflops <= 0) continue;
            printf("%s{\"name\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"gflops\":%.2f}", first ? "" : ",", shapes[s].name,
                   shapes[s].m, shapes[s].n, shapes[s].k, shapes[s].gflops);
            first = 0;
        }
        printf("],\"max_norm_err\":%.2e,\"load_before\":[%.2f,%.2f,%.2f],\"load_after\":[%.2f,%.2f,%.2f]}\n",
               max_norm_err, load0[0], load0[1], load0[2], load1[0], load1[1], load1[2]);
    } else {
        printf("semsearch encode benchmark — %s\n", date);
        printf("  machine          %s, %ld cores; load %.2f before, %.2f after\n", cpu, ncpu, load0[0], load1[0]);
        printf("  model            %s\n                   %s\n", model_dir, ss_model_describe(m));
        printf("  input            %zu STSb test sentences, %lld real tokens (%.2f per sentence)\n", n,
               (long long)real_tokens, (double)real_tokens / n);
        printf("  settings         batch %d, %d threads (OpenBLAS %s, %d threads), fp32\n", batch, nthreads,
               openblas_get_corename(), encode_blas_threads);
        printf("  runs             best of %d after %d warm-up: best %.3f s, median %.3f s, %.2f cores busy\n", runs,
               warmup, best, med, cores_busy);
        printf("  sentences/s      %.1f\n", sps);
        printf("  tokens/s         %.1f\n", tps);
        printf("  useful FLOPs     2 x %lld non-embedding params = %.2f MFLOP/token", (long long)pc.non_embedding,
               flops_per_token * 1e-6);
        if (pc.formula >= 0 && pc.formula != pc.non_embedding)
            printf(" (config formula: %lld)", (long long)pc.formula);
        printf("\n                   attention L^2 terms not counted: +%.2f%% of all FLOPs\n",
               100.0 * attn_flops / (useful_flops + attn_flops));
        printf("  useful GFLOP/s   %.2f\n", gflops);
        if (peak > 0) {
            if (measured_peak)
                for (int s = 0; s < n_shapes; s++)
                    printf("  %-62s %7.1f GFLOP/s%s\n", shapes[s].name, shapes[s].gflops,
                           shapes[s].for_peak ? "" : " (not used for peak)");
            if (measured_peak)
                printf("  FP32 peak        %.1f GFLOP/s (best large sgemm; %.1f before the runs, %.1f after)\n", peak,
                       peak_before, peak_after);
            else
                printf("  FP32 peak        %.1f GFLOP/s (given)\n", peak);
            printf("  %% of peak        %.1f%%%s\n", pct,
                   pct > 100 ? " (over 100%: the peak was measured while other processes took CPU; re-run)" : "");
        }
        if (ss_model_normalizes(m)) printf("  check            max | |e| - 1 | = %.1e\n", max_norm_err);
    }
    free(out);
    free(times);
    free(texts);
    free(storage);
    ss_model_free(m);
    return 0;
}
