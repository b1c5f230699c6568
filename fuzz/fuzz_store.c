/* fuzz_store.c — the store's document parser (src/store/reader.c: JSONL, CSV
 * / TSV with RFC 4180 quoting, plain text), the embedded-text composer
 * (--fields lists and "{title}. {text}" templates), the --where compiler
 * (filter.c) and, end to end, ss_collection_add_file + search + delete on a
 * real collection.
 *
 * Input: a mode byte, then up to three parts separated by 0x1e (ASCII RS):
 *     SPEC RS WHERE RS FILE
 * mode bits 0-1: the file's format (jsonl, csv, tsv, text); bit 2: SPEC is a
 * template (else a comma-separated field list); bit 3: also ingest FILE into
 * the collection (fields "text"; skip_bad when bit 4), search it with WHERE
 * (BM25 and hybrid, SPEC as the query text), then delete every document it
 * holds; bit 5: format 0 = by the extension (.jsonl / .csv / .tsv / .txt
 * chosen by bits 0-1), as the CLI without --format.
 *
 * The collection (tiny test model tests/models/bert-mean-normalize, flat
 * cosine index) is created once per process and emptied after every input
 * that wrote to it, so its size stays bounded and inputs do not depend on
 * each other beyond internal row ids.
 *
 * Invariants (abort = finding): a record the reader returns is a JSON
 * object; CSV / TSV records have one key per header column; an embedded text
 * the composer returns is valid UTF-8 and not blank; a failed record or
 * compose says why; a compiled filter has SQL; search returns at most k
 * hits, each with an id and JSON-object fields; after deleting every id the
 * search listed, the collection is empty. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "semsearch.h"
#include "store/reader.h"
#include "store/store_internal.h"
#include "util.h"

#define MAX_RECORDS 4096
#define INGEST_MAX 8192 /* bytes of FILE that the (slower) end-to-end path ingests */

static ss_collection *g_coll;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_store: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void close_collection(void) {
    ss_error err;
    if (g_coll && ss_collection_close(g_coll, &err) != SS_OK) fprintf(stderr, "fuzz_store: close: %s\n", err.msg);
    g_coll = NULL;
}

static ss_collection *collection(void) {
    if (g_coll) return g_coll;
    ss_collection_options o = {.model_dir = SEMSEARCH_TESTS_DIR "/models/bert-mean-normalize",
                               .create = 1,
                               .sync_off = 1,
                               .n_threads = 1};
    ss_error err;
    if (!(g_coll = ss_collection_open(fz_path("coll"), &o, &err))) die("cannot create the collection", err.msg);
    atexit(close_collection); /* before util.c's removal of the folder (atexit runs last-registered first) */
    return g_coll;
}

/* The part of [*p, end) up to the next RS (or end); advances *p past it. */
static char *part(const char **p, const char *end, size_t *n) {
    const char *rs = memchr(*p, 0x1e, (size_t)(end - *p));
    size_t len = rs ? (size_t)(rs - *p) : (size_t)(end - *p);
    char *s = malloc(len + 1);
    if (!s) abort();
    memcpy(s, *p, len);
    s[len] = '\0';
    *p = rs ? rs + 1 : end;
    if (n) *n = len;
    return s;
}

static void parse_file(const char *path, int format, const char *spec, int is_template) {
    ss_collection fake; /* ss__compose reads only fields / template_text */
    memset(&fake, 0, sizeof fake);
    if (is_template) fake.template_text = (char *)spec;
    else fake.fields = *spec ? (char *)spec : NULL;
    char why[1024];
    /* a spec that collection creation refuses never reaches ss__compose */
    int compose = ss__compose_check(fake.fields, fake.template_text, why, sizeof why) == 0;
    ss_rec_reader r;
    why[0] = '\0';
    if (ss__rec_open(&r, path, format, why, sizeof why) != 0) {
        if (!why[0]) die("ss__rec_open failed without a reason", NULL);
        return;
    }
    for (int k = 0; k < MAX_RECORDS; k++) {
        cJSON *obj = NULL;
        size_t line = 0;
        why[0] = '\0';
        int rc = ss__rec_next(&r, &obj, &line, why, sizeof why);
        if (rc == 0) break;
        if (rc < 0) {
            if (!why[0]) die("ss__rec_next failed without a reason", NULL);
            if (obj) die("ss__rec_next failed but returned a record", why);
            if (rc == -2) break;
            continue;
        }
        if (!cJSON_IsObject(obj)) die("a record that is not a JSON object", NULL);
        if (line < 1 || line > r.lineno) die("a record's line number is out of range", NULL);
        if (r.format == SS_FMT_CSV || r.format == SS_FMT_TSV) {
            if (cJSON_GetArraySize(obj) != r.nheader) die("a CSV record with a key count unlike the header's", NULL);
        }
        char w2[512];
        w2[0] = '\0';
        char *body = compose ? ss__compose(&fake, obj, w2, sizeof w2) : NULL;
        if (body) {
            size_t n = strlen(body);
            if (ss__utf8_check(body, n)) die("composed text is not valid UTF-8", body);
            if (strspn(body, " \t\r\n") == n) die("composed text is blank", NULL);
            free(body);
        } else if (compose && !w2[0]) {
            die("ss__compose failed without a reason", NULL);
        }
        cJSON_Delete(obj);
    }
    ss__rec_close(&r);
}

static void check_results(ss_results *res, int k) {
    size_t n = ss_results_count(res);
    if (n > (size_t)k) die("more hits than k", NULL);
    for (size_t i = 0; i < n; i++) {
        const ss_hit *h = ss_results_hit(res, i);
        if (!h || !h->id) die("a hit without an id", NULL);
        cJSON *f = h->fields_json ? cJSON_Parse(h->fields_json) : NULL;
        if (!cJSON_IsObject(f)) die("a hit whose fields are not a JSON object", h->fields_json);
        cJSON_Delete(f);
    }
}

static void ingest(const char *path, const char *fmt, int skip_bad, const char *text, const char *where) {
    ss_collection *c = collection();
    ss_ingest_options io = {.format = fmt, .batch_size = 7, .skip_bad = skip_bad};
    ss_add_stats st = {0};
    ss_error err;
    ss_status as = ss_collection_add_file(c, path, &io, &st, &err);
    if (getenv("FUZZ_STORE_VERBOSE")) /* seeds: see what they reach */
        fprintf(stderr, "add_file: %s, %zu added, %zu skipped\n", as == SS_OK ? "ok" : err.msg, st.added, st.skipped);
    const ss_search_mode modes[] = {SS_SEARCH_BM25, SS_SEARCH_HYBRID};
    for (int m = 0; m < 2; m++) {
        ss_query q = {.text = *text ? text : "dog", .k = 5, .mode = modes[m], .where = *where ? where : NULL};
        ss_results *res = ss_collection_search(c, &q, &err);
        if (getenv("FUZZ_STORE_VERBOSE"))
            fprintf(stderr, "search %d: %s\n", m, res ? "ok" : err.msg);
        if (res) check_results(res, 5);
        ss_results_free(res);
    }
    /* empty it again: list every document (exact vector search, k = count), delete them */
    int64_t n = ss_collection_count(c);
    if (n < 0) die("ss_collection_count failed", NULL);
    if (n == 0) return;
    ss_query all = {.text = "x", .k = (int)n, .mode = SS_SEARCH_VECTOR};
    ss_results *res = ss_collection_search(c, &all, &err);
    if (!res) die("listing the collection failed", err.msg);
    check_results(res, (int)n);
    size_t got = ss_results_count(res);
    const char **ids = malloc(got * sizeof *ids);
    if (!ids) abort();
    for (size_t i = 0; i < got; i++) ids[i] = ss_results_hit(res, i)->id;
    size_t deleted = 0;
    if (ss_collection_delete(c, ids, got, &deleted, &err) != SS_OK) die("deleting the listed ids failed", err.msg);
    free(ids);
    ss_results_free(res);
    if (ss_collection_count(c) != 0) die("documents left after deleting every listed id", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    size_t flen;
    char *spec = part(&p, end, NULL), *where = part(&p, end, NULL);
    const char *file = p;
    flen = (size_t)(end - p);
    static const char *const fmts[] = {"jsonl", "csv", "tsv", "text"};
    static const char *const exts[] = {"in.jsonl", "in.csv", "in.tsv", "in.txt"};
    static const int codes[] = {SS_FMT_JSONL, SS_FMT_CSV, SS_FMT_TSV, SS_FMT_TEXT};
    int f = mode & 3, by_ext = (mode >> 5) & 1;
    const char *name = by_ext ? exts[f] : "in.dat";
    fz_write(name, file, flen);
    char path[4096];
    snprintf(path, sizeof path, "%s", fz_path(name));
    parse_file(path, by_ext ? 0 : codes[f], spec, (mode >> 2) & 1);
    ss_filter_sql fs;
    memset(&fs, 0, sizeof fs);
    ss_error err;
    if (ss__filter_compile(where, &fs, &err) == SS_OK) {
        if (!fs.sql) die("a compiled filter without SQL", where);
        ss__filter_free(&fs);
    }
    if (mode & 8) {
        if (flen > INGEST_MAX) fz_write(name, file, INGEST_MAX);
        ingest(path, by_ext ? NULL : fmts[f], (mode >> 4) & 1, spec, where);
    }
    fz_unlink(name);
    free(spec);
    free(where);
    return 0;
}
