/* cmd_collections.c — `semsearch add | delete | search | similar | query`:
 * the collection verbs over DATA/NAME (global --data DIR). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"
#include "store_cli.h"

const char *store_cli_path(const cli_globals *g, const char *verb, const char *name, char *buf, size_t cap) {
    if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(name) ||
        name[0] == '.') {
        fprintf(stderr, "semsearch %s: collection name '%s' must be letters, digits, '_', '-', '.'\n", verb, name);
        return NULL;
    }
    snprintf(buf, cap, "%s/%s", g && g->data_dir ? g->data_dir : "semsearch-data", name);
    return buf;
}

ss_collection *store_cli_open(const cli_globals *g, const char *verb, const char *name, int writer,
                              const char *model) {
    char path[4096];
    if (!store_cli_path(g, verb, name, path, sizeof path)) return NULL;
    ss_collection_options o = {.read_only = !writer, .model_dir = model ? cli_model_dir(model) : NULL,
                               .lock_wait_ms = writer ? 2000 : 0};
    ss_error err;
    ss_collection *c = ss_collection_open(path, &o, &err);
    if (!c) fprintf(stderr, "semsearch %s: %s\n", verb, err.msg);
    return c;
}

int store_cli_mode(const char *m) {
    if (!m || !strcmp(m, "vector")) return SS_SEARCH_VECTOR;
    if (!strcmp(m, "bm25")) return SS_SEARCH_BM25;
    if (!strcmp(m, "hybrid") || !strcmp(m, "rrf")) return SS_SEARCH_HYBRID;
    if (!strcmp(m, "linear")) return SS_SEARCH_LINEAR;
    return -1;
}

void store_cli_print_hit(FILE *f, const ss_results *r, size_t i, int json) {
    const ss_hit *h = ss_results_hit(r, i);
    size_t rank = i + 1;
    ss_passage p;
    int has_p = ss_results_passage(r, i, &p);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", h->id);
        cJSON_AddNumberToObject(o, "score", h->score);
        cJSON_AddStringToObject(o, "text", h->text);
        cJSON *fl = cJSON_Parse(h->fields_json);
        cJSON_AddItemToObject(o, "fields", fl ? fl : cJSON_CreateObject());
        if (has_p) { /* chunked: the passage that scored, offsets in characters into "text" */
            cJSON *po = cJSON_CreateObject();
            cJSON_AddNumberToObject(po, "start", (double)p.start);
            cJSON_AddNumberToObject(po, "end", (double)p.end);
            cJSON_AddNumberToObject(po, "score", p.score);
            cJSON_AddItemToObject(o, "passage", po);
        }
        char *s = cJSON_PrintUnformatted(o);
        fprintf(f, "%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    } else {
        if (has_p)
            fprintf(f, "%2zu  %8.4f  %-16s  [passage %lld-%lld] %.*s\n", rank, h->score, h->id, (long long)p.start,
                    (long long)p.end, (int)(p.byte_end - p.byte_start), h->text + p.byte_start);
        else
            fprintf(f, "%2zu  %8.4f  %-16s  %s\n", rank, h->score, h->id, h->text);
    }
}

/* ---- add -------------------------------------------------------------------------- */

typedef struct {
    int tty, acks;
    double t0;
    size_t docs;
} add_ui;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void add_progress(void *user, size_t docs, uint64_t bytes, uint64_t total) {
    add_ui *u = user;
    u->docs = docs;
    if (!u->tty) return;
    double dt = now_s() - u->t0;
    int width = 30, fill = total ? (int)((double)bytes / (double)total * width) : 0;
    fprintf(stderr, "\radd [");
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %zu docs, %.0f docs/s ", docs, dt > 0 ? (double)docs / dt : 0.0);
    fflush(stderr);
}

static void add_committed(void *user, size_t total) {
    add_ui *u = user;
    if (u->acks) {
        printf("committed %zu\n", total);
        fflush(stdout);
    }
}

int cmd_add(int argc, char **argv, const cli_globals *g) {
    const char *model = NULL, *id_field = NULL, *fields = NULL, *tpl = NULL, *format = NULL, *analyzer = NULL,
               *metric = NULL, *index = NULL, *vector_field = NULL;
    int skip_bad = 0, batch = 256, acks = 0, no_sync = 0, threads = 0, m = 0, efc = 0, chunk = 0, overlap = 0;
    const cli_opt opts[] = {
        {"model", 0, CLI_STRING, &model, "DIR", "model folder (new collection; default: bundled all-MiniLM-L6-v2)"},
        {"id-field", 0, CLI_STRING, &id_field, "F", "field holding the document id (default: id, else _id)"},
        {"fields", 0, CLI_STRING, &fields, "a,b", "fields embedded, joined with a space (default: text)"},
        {"template", 0, CLI_STRING, &tpl, "TPL", "embedded text template, e.g. '{title}. {text}'"},
        {"format", 0, CLI_STRING, &format, "FMT", "jsonl, csv, tsv or text (default: from the extension)"},
        {"analyzer", 0, CLI_STRING, &analyzer, "NAME", "BM25 analyzer of a new collection: standard, english"},
        {"metric", 0, CLI_STRING, &metric, "M", "new collection: cosine (default), dot, l2"},
        {"index", 0, CLI_STRING, &index, "TYPE", "new collection: flat (default) or hnsw"},
        {"m", 0, CLI_INT, &m, "N", "HNSW links per node (new collection)", .lo = 0, .hi = 256},
        {"ef-construction", 0, CLI_INT, &efc, "N", "HNSW build beam (new collection)", .lo = 0, .hi = 100000},
        {"vector-field", 0, CLI_STRING, &vector_field, "F",
         "precomputed vectors: each record's field F (array of dim numbers) is its vector, not embedded"},
        {"batch-size", 0, CLI_INT, &batch, "N", "documents per transaction (default 256)", .lo = 1, .hi = 1000000},
        {"skip-bad", 0, CLI_FLAG, &skip_bad, NULL, "skip bad records (counted) instead of stopping"},
        {"acks", 0, CLI_FLAG, &acks, NULL, "print 'committed N' on stdout after each committed batch"},
        {"no-sync", 0, CLI_FLAG, &no_sync, NULL, "synchronous=NORMAL: faster, a crash may lose the last batches"},
        {"threads", 0, CLI_INT, &threads, "N", "encoder threads (0: all cores)", .hi = CLI_THREADS},
        {"chunk-tokens", 0, CLI_INT, &chunk, "N", "new collection: embed passages of <= N model tokens (hits roll up)",
         .lo = 0, .hi = 100000},
        {"chunk-overlap", 0, CLI_INT, &overlap, "M", "tokens consecutive passages share (with --chunk-tokens)", .lo = 0,
         .hi = 100000},
        {0}};
    const cli_spec spec = {"add", "[options] COLLECTION FILE...",
                           "  adds JSONL / CSV / TSV / text documents to COLLECTION (created on first use)", opts, 2,
                           -1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    char path[4096];
    if (!store_cli_path(g, "add", pos[0], path, sizeof path)) {
        free(pos);
        return 2;
    }
    ss_collection_options o = {.create = 1, .model_dir = cli_model_dir(model), .fields = fields,
                               .template_text = tpl, .analyzer = analyzer, .sync_off = no_sync,
                               .lock_wait_ms = 2000, .n_threads = threads, .hnsw_m = m, .ef_construction = efc,
                               .chunk_tokens = chunk, .chunk_overlap = overlap};
    if (metric) {
        if (!strcmp(metric, "cosine")) o.metric = SS_METRIC_COSINE;
        else if (!strcmp(metric, "dot")) o.metric = SS_METRIC_DOT;
        else if (!strcmp(metric, "l2")) o.metric = SS_METRIC_L2;
        else {
            free(pos);
            return cli_usage_error(&spec, "unknown --metric '%s' (cosine, dot, l2)", metric);
        }
    }
    if (index) {
        if (!strcmp(index, "flat")) o.index_type = SS_INDEX_FLAT;
        else if (!strcmp(index, "hnsw")) o.index_type = SS_INDEX_HNSW;
        else {
            free(pos);
            return cli_usage_error(&spec, "unknown --index '%s' (flat, hnsw)", index);
        }
    }
    ss_error err;
    ss_collection *c = ss_collection_open(path, &o, &err);
    if (!c) {
        fprintf(stderr, "semsearch add: %s\n", err.msg);
        free(pos);
        return 1;
    }
    add_ui ui = {.tty = isatty(2), .acks = acks, .t0 = now_s()};
    ss_ingest_options io = {.format = format, .id_field = id_field, .batch_size = batch, .skip_bad = skip_bad,
                            .vector_field = vector_field, .committed = add_committed, .progress = add_progress, .user = &ui};
    ss_add_stats st = {0};
    int rc = 0;
    for (int i = 1; i < np && rc == 0; i++)
        if (ss_collection_add_file(c, pos[i], &io, &st, &err) != SS_OK) {
            if (ui.tty) fputc('\n', stderr);
            fprintf(stderr, "semsearch add: %s\n", err.msg);
            rc = 1;
        }
    if (ui.tty && rc == 0) fputc('\n', stderr);
    double dt = now_s() - ui.t0;
    if (ss_collection_close(c, &err) != SS_OK) {
        fprintf(stderr, "semsearch add: saving the index: %s\n", err.msg);
        rc = 1;
    }
    fprintf(stderr,
            "semsearch add: %zu added, %zu replaced (%zu unchanged, not re-embedded), %zu embedded, %zu with given "
            "vectors, %zu skipped, %zu batches in %.2f s (%.0f docs/s)\n",
            st.added, st.replaced, st.unchanged, st.embedded, st.given, st.skipped, st.batches, dt,
            dt > 0 ? (double)(st.added + st.replaced) / dt : 0.0);
    free(pos);
    return rc;
}

/* ---- delete ---------------------------------------------------------------------- */

int cmd_delete(int argc, char **argv, const cli_globals *g) {
    const cli_opt opts[] = {{0}};
    const cli_spec spec = {"delete", "COLLECTION ID...", "  deletes documents by id", opts, 2, -1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    ss_collection *c = store_cli_open(g, "delete", pos[0], 1, NULL);
    if (!c) {
        free(pos);
        return 1;
    }
    ss_error err;
    size_t n = 0;
    int rc = 0;
    if (ss_collection_delete(c, (const char *const *)pos + 1, (size_t)np - 1, &n, &err) != SS_OK) {
        fprintf(stderr, "semsearch delete: %s\n", err.msg);
        rc = 1;
    }
    if (ss_collection_close(c, &err) != SS_OK) {
        fprintf(stderr, "semsearch delete: %s\n", err.msg);
        rc = 1;
    }
    if (rc == 0) fprintf(stderr, "semsearch delete: %zu of %d ids deleted\n", n, np - 1);
    free(pos);
    return rc;
}

/* ---- search / similar / query ---------------------------------------------------- */

typedef struct {
    const char *mode, *where, *model;
    int k, json, window, rconst, ef;
    double k1, b, weight;
} qflags;

#define QUERY_OPTS(q)                                                                                              \
    {"k", 'k', CLI_INT, &(q).k, "K", "hits (default 10)", .lo = 1, .hi = 100000},                                \
        {"mode", 0, CLI_STRING, &(q).mode, "MODE", "vector (default), bm25, hybrid (RRF) or linear"},            \
        {"where", 0, CLI_STRING, &(q).where, "EXPR", "filter: country = \"USA\" AND year >= 2020 (= != < <= > >= IN NOT)"}, \
        {"json", 0, CLI_FLAG, &(q).json, NULL, "one JSON object per hit: id, score, text, fields"},              \
        {"k1", 0, CLI_FLOAT, &(q).k1, "X", "BM25 k1 (default 1.2)", .flo = 0, .fhi = 100},                       \
        {"b", 0, CLI_FLOAT, &(q).b, "X", "BM25 b (default 0.75)", .flo = 0, .fhi = 1},                            \
        {"rank-window", 0, CLI_INT, &(q).window, "N", "hybrid: candidates per side (default max(k,100))", .lo = 1, .hi = 100000}, \
        {"rank-constant", 0, CLI_INT, &(q).rconst, "N", "RRF rank constant (default 60)", .lo = 1, .hi = 100000}, \
        {"vector-weight", 0, CLI_FLOAT, &(q).weight, "W", "linear: weight of the vector side (default 0.5)", .flo = 0, .fhi = 1}, \
        {"ef", 0, CLI_INT, &(q).ef, "N", "HNSW search beam", .lo = 1, .hi = 100000},                              \
        {"model", 0, CLI_STRING, &(q).model, "DIR", "model folder (must be the collection's)"}

static int make_query(const qflags *f, ss_query *q, const char *verb) {
    memset(q, 0, sizeof *q);
    int mode = store_cli_mode(f->mode);
    if (mode < 0) {
        fprintf(stderr, "semsearch %s: unknown --mode '%s' (vector, bm25, hybrid, linear)\n", verb, f->mode);
        return -1;
    }
    q->mode = (ss_search_mode)mode;
    q->k = f->k;
    q->where = f->where;
    q->k1 = f->k1;
    q->b = f->b > 0 ? f->b : -1; /* the API reads b < 0 as b = 0 */
    q->rank_window = f->window;
    q->rank_constant = f->rconst;
    q->vector_weight = f->weight;
    q->ef_search = f->ef;
    return 0;
}

static void qflags_init(qflags *q) {
    memset(q, 0, sizeof *q);
    q->k = 10;
    q->k1 = 1.2;
    q->b = 0.75;
}

static int print_results(const ss_results *r, int json) {
    for (size_t i = 0; i < ss_results_count(r); i++) store_cli_print_hit(stdout, r, i, json);
    return 0;
}

int cmd_search(int argc, char **argv, const cli_globals *g) {
    qflags f;
    qflags_init(&f);
    const cli_opt opts[] = {QUERY_OPTS(f), {0}};
    const cli_spec spec = {"search", "[options] COLLECTION QUERY",
                           "  the k best documents for QUERY (rank, score, id, text; --json: one object per hit)",
                           opts, 2, 2, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    ss_query q;
    if (make_query(&f, &q, "search")) {
        free(pos);
        return 2;
    }
    q.text = pos[1];
    ss_collection *c = store_cli_open(g, "search", pos[0], 0, f.model);
    int rc = 1;
    if (c) {
        ss_error err;
        ss_results *r = ss_collection_search(c, &q, &err);
        if (!r) fprintf(stderr, "semsearch search: %s\n", err.msg);
        else rc = print_results(r, f.json);
        ss_results_free(r);
        ss_collection_close(c, NULL);
    }
    free(pos);
    return rc;
}

int cmd_similar(int argc, char **argv, const cli_globals *g) {
    qflags f;
    qflags_init(&f);
    const cli_opt opts[] = {QUERY_OPTS(f), {0}};
    const cli_spec spec = {"similar", "[options] COLLECTION ID",
                           "  the k documents nearest to document ID (itself excluded): recommendations", opts, 2, 2,
                           NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    ss_query q;
    if (make_query(&f, &q, "similar")) {
        free(pos);
        return 2;
    }
    ss_collection *c = store_cli_open(g, "similar", pos[0], 0, f.model);
    int rc = 1;
    if (c) {
        ss_error err;
        ss_results *r = ss_collection_similar(c, pos[1], &q, &err);
        if (!r) fprintf(stderr, "semsearch similar: %s\n", err.msg);
        else rc = print_results(r, f.json);
        ss_results_free(r);
        ss_collection_close(c, NULL);
    }
    free(pos);
    return rc;
}

/* Queries file: JSONL ({"_id" or "id", "text"}) or one query per line (ids 1, 2, ...). */
int store_cli_read_queries(const char *path, char ***ids, char ***texts, size_t *n);
int store_cli_read_queries(const char *path, char ***ids, char ***texts, size_t *n) {
    FILE *fp = !strcmp(path, "-") ? stdin : fopen(path, "rb");
    *ids = *texts = NULL;
    *n = 0;
    if (!fp) {
        fprintf(stderr, "semsearch: cannot open queries %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0, acap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (!len) continue;
        char *id = NULL, *text = NULL, num[32];
        if (line[0] == '{') {
            cJSON *o = cJSON_Parse(line);
            const cJSON *jid = cJSON_GetObjectItemCaseSensitive(o, "_id");
            if (!jid) jid = cJSON_GetObjectItemCaseSensitive(o, "id");
            const cJSON *jt = cJSON_GetObjectItemCaseSensitive(o, "text");
            if (!cJSON_IsString(jt)) {
                fprintf(stderr, "semsearch: %s:%zu: expected {\"_id\": ..., \"text\": \"...\"}\n", path, lineno);
                cJSON_Delete(o);
                rc = -1;
                break;
            }
            if (cJSON_IsString(jid)) id = strdup(jid->valuestring);
            else if (cJSON_IsNumber(jid)) snprintf(num, sizeof num, "%lld", (long long)jid->valuedouble), id = strdup(num);
            text = strdup(jt->valuestring);
            cJSON_Delete(o);
        } else {
            text = strdup(line);
        }
        if (!id) {
            snprintf(num, sizeof num, "%zu", *n + 1);
            id = strdup(num);
        }
        if (*n == acap) {
            acap = acap ? acap * 2 : 256;
            *ids = realloc(*ids, acap * sizeof **ids);
            *texts = realloc(*texts, acap * sizeof **texts);
        }
        (*ids)[*n] = id;
        (*texts)[(*n)++] = text;
    }
    free(line);
    if (fp != stdin) fclose(fp);
    return rc;
}

int cmd_query(int argc, char **argv, const cli_globals *g) {
    qflags f;
    qflags_init(&f);
    const char *queries = NULL;
    int drop_own = 0;
    const cli_opt opts[] = {QUERY_OPTS(f),
                            {"queries", 0, CLI_STRING, &queries, "FILE", "JSONL {_id, text} or one query per line"},
                            {"drop-own-id", 0, CLI_FLAG, &drop_own, NULL, "drop a hit whose id is the query's id (BEIR)"},
                            {0}};
    const cli_spec spec = {"query", "[options] COLLECTION --queries FILE",
                           "  many queries at once (embedded in batches): one JSON line per query {query_id, hits}",
                           opts, 1, 1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    if (!queries) {
        free(pos);
        return cli_usage_error(&spec, "--queries FILE is required");
    }
    ss_query q0;
    char **ids, **texts;
    size_t n;
    if (make_query(&f, &q0, "query") || store_cli_read_queries(queries, &ids, &texts, &n)) {
        free(pos);
        return 2;
    }
    ss_collection *c = store_cli_open(g, "query", pos[0], 0, f.model);
    int rc = c ? 0 : 1;
    const size_t chunk = 256;
    ss_query *qs = calloc(chunk, sizeof *qs);
    ss_results **res = calloc(chunk, sizeof *res);
    for (size_t s = 0; rc == 0 && s < n; s += chunk) {
        size_t m = n - s < chunk ? n - s : chunk;
        for (size_t i = 0; i < m; i++) {
            qs[i] = q0;
            qs[i].text = texts[s + i];
            qs[i].exclude_id = drop_own ? ids[s + i] : NULL;
        }
        ss_error err;
        if (ss_collection_search_many(c, qs, m, res, &err) != SS_OK) {
            fprintf(stderr, "semsearch query: %s\n", err.msg);
            rc = 1;
            break;
        }
        for (size_t i = 0; i < m; i++) {
            cJSON *o = cJSON_CreateObject(), *hits = cJSON_CreateArray();
            cJSON_AddStringToObject(o, "query_id", ids[s + i]);
            for (size_t h = 0; h < ss_results_count(res[i]); h++) {
                const ss_hit *hit = ss_results_hit(res[i], h);
                cJSON *ho = cJSON_CreateObject();
                cJSON_AddStringToObject(ho, "id", hit->id);
                cJSON_AddNumberToObject(ho, "score", hit->score);
                if (f.json) cJSON_AddStringToObject(ho, "text", hit->text);
                cJSON_AddItemToArray(hits, ho);
            }
            cJSON_AddItemToObject(o, "hits", hits);
            char *js = cJSON_PrintUnformatted(o);
            puts(js);
            cJSON_free(js);
            cJSON_Delete(o);
            ss_results_free(res[i]);
        }
    }
    ss_collection_close(c, NULL);
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        free(texts[i]);
    }
    free(ids);
    free(texts);
    free(qs);
    free(res);
    free(pos);
    return rc;
}

/* ---- analyze ---------------------------------------------------------------------- */

static void print_token(void *user, const char *tok) {
    int *first = user;
    printf(*first ? "%s" : " %s", tok);
    *first = 0;
}

int cmd_analyze(int argc, char **argv, const cli_globals *g) {
    (void)g;
    const char *analyzer = "standard";
    const cli_opt opts[] = {{"analyzer", 0, CLI_STRING, &analyzer, "NAME", "standard (default) or english"}, {0}};
    const cli_spec spec = {"analyze", "[options] [FILE]",
                           "  prints the BM25 analyzer's tokens of each input line, space-separated", opts, 0, 1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    cli_texts in;
    int rc = cli_read_texts(np ? pos[0] : NULL, NULL, &in) ? 1 : 0;
    for (size_t i = 0; rc == 0 && i < in.n; i++) {
        ss_error err;
        int first = 1;
        if (ss_analyze(analyzer, in.texts[i], print_token, &first, &err) != SS_OK) {
            fprintf(stderr, "semsearch analyze: %s\n", err.msg);
            rc = 1;
        }
        putchar('\n');
    }
    if (np) cli_texts_free(&in);
    else cli_texts_free(&in);
    free(pos);
    return rc;
}
