/* test_store_vectors.c — documents added with precomputed vectors (vectors
 * computed elsewhere, as Chroma's and FAISS's users bring them): the C API's
 * ss_doc.vector and add_file's vector_field. The stored vector is exactly the
 * one given, never embedded, also on replace; documents without one in the
 * same batch are embedded by the model; the vector field is not kept among
 * the stored fields; every bad vector fails its batch with FILE:LINE and why,
 * and a chunked collection refuses them. Tiny random model. */
#include <math.h>

#include "store_test.h"
#include "test_util.h"

/* The stored vector of document id (via the iterator), into out; 0 if absent. */
static int stored_vector(ss_collection *c, const char *id, float *out, char *fields, size_t cap) {
    ss_error err;
    ss_collection_iter *it = ss_collection_iter_new(c, 0, &err);
    REQUIRE(it != NULL);
    ss_doc_vec d;
    int found = 0, rc;
    while ((rc = ss_collection_iter_next(it, &d, &err)) == 1)
        if (!strcmp(d.id, id)) {
            REQUIRE(d.vector != NULL);
            memcpy(out, d.vector, (size_t)ss_collection_dim(c) * sizeof *out);
            if (fields) snprintf(fields, cap, "%s", d.fields_json);
            found = 1;
        }
    CHECK(rc == 0);
    ss_collection_iter_free(it);
    return found;
}

/* A deterministic vector unlike any model output: v[j] = sin(seed * (j + 1)). */
static void make_vec(float *v, int d, int seed) {
    for (int j = 0; j < d; j++) v[j] = (float)sin((double)seed * (j + 1));
}

/* A JSON array of v's d elements; element `at` (>= 0) written as `token` instead. */
static void json_vec_with(char *buf, size_t cap, const float *v, int d, int at, const char *token) {
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int j = 0; j < d && o < cap; j++) {
        if (j) o += (size_t)snprintf(buf + o, cap - o, ",");
        if (j == at) o += (size_t)snprintf(buf + o, cap - o, "%s", token);
        else o += (size_t)snprintf(buf + o, cap - o, "%.9g", v[j]);
    }
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

static void json_vec(char *buf, size_t cap, const float *v, int d) { json_vec_with(buf, cap, v, d, -1, NULL); }

static void test_c_api(void) {
    char *dir = st_tmpdir("vec-api"), cdir[300];
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    ss_error err;
    ss_collection *c = st_create(cdir, TINY_MODEL, "standard", SS_INDEX_HNSW, &err);
    REQUIRE(c != NULL);
    int d = ss_collection_dim(c);
    float *v = malloc(4 * (size_t)d * sizeof *v), *got = malloc((size_t)d * sizeof *got);
    REQUIRE(v && got);
    for (int i = 0; i < 3; i++) make_vec(v + i * d, d, i + 1);
    ss_doc docs[4] = {{.id = "a", .fields_json = "{\"text\": \"alpha doc\"}", .vector = v},
                      {.id = "b", .fields_json = "{\"text\": \"beta doc\"}", .vector = v + d},
                      {.id = "c", .fields_json = "{\"text\": \"gamma doc\"}", .vector = v + 2 * d},
                      {.id = "m", .fields_json = "{\"text\": \"embedded by the model\"}"}};
    ss_add_stats st = {0};
    CHECK(ss_collection_add(c, docs, 4, &st, &err) == SS_OK);
    CHECKF(st.added == 4 && st.given == 3 && st.embedded == 1, "added %zu given %zu embedded %zu", st.added, st.given,
           st.embedded);
    for (int i = 0; i < 3; i++) {
        CHECK(stored_vector(c, docs[i].id, got, NULL, 0));
        CHECK(!memcmp(got, v + i * d, (size_t)d * sizeof *got)); /* bit for bit what was given */
    }
    /* the one without a vector was embedded: equal to the model's own encoding */
    ss_model *m = ss_model_load(TINY_MODEL, NULL, &err);
    REQUIRE(m != NULL);
    const char *t = "embedded by the model";
    REQUIRE(ss_encode(m, &t, 1, NULL, v + 3 * d, &err) == SS_OK);
    CHECK(stored_vector(c, "m", got, NULL, 0));
    CHECK(!memcmp(got, v + 3 * d, (size_t)d * sizeof *got));
    ss_model_free(m);
    /* searching with a given vector finds its document first, cosine 1 */
    ss_query q = {.vector = v + d, .k = 2};
    ss_results *r = ss_collection_search(c, &q, &err);
    REQUIRE(r != NULL);
    CHECK(ss_results_count(r) == 2 && !strcmp(ss_results_hit(r, 0)->id, "b"));
    CHECKF(fabs(ss_results_hit(r, 0)->score - 1.0) < 1e-5, "score %g", ss_results_hit(r, 0)->score);
    ss_results_free(r);
    /* replace with the same text and a new vector: the vector changes (text unchanged does not matter) */
    make_vec(v + 3 * d, d, 9);
    ss_doc rep = {.id = "b", .fields_json = "{\"text\": \"beta doc\"}", .vector = v + 3 * d};
    memset(&st, 0, sizeof st);
    CHECK(ss_collection_add(c, &rep, 1, &st, &err) == SS_OK);
    CHECK(st.replaced == 1 && st.given == 1 && st.embedded == 0 && st.unchanged == 0);
    CHECK(stored_vector(c, "b", got, NULL, 0) && !memcmp(got, v + 3 * d, (size_t)d * sizeof *got));
    q.vector = v + 3 * d;
    r = ss_collection_search(c, &q, &err);
    REQUIRE(r != NULL);
    CHECK(!strcmp(ss_results_hit(r, 0)->id, "b") && fabs(ss_results_hit(r, 0)->score - 1.0) < 1e-5);
    ss_results_free(r);
    /* a non-finite element: the whole call fails, nothing written */
    v[5] = NAN;
    ss_doc bad[2] = {{.id = "x", .fields_json = "{\"text\": \"x\"}", .vector = v + d},
                     {.id = "y", .fields_json = "{\"text\": \"y\"}", .vector = v}};
    CHECK(ss_collection_add(c, bad, 2, NULL, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "document 1 (id 'y'): element 5 of its vector is not finite");
    CHECK(ss_collection_count(c) == 4);
    /* the index file is derived data: rebuilt from SQLite, the given vectors still find their documents */
    ss_collection_close(c, NULL);
    char idx[400];
    snprintf(idx, sizeof idx, "%s/index.ssi", cdir);
    CHECK(unlink(idx) == 0);
    ss_collection_options o = {0};
    c = ss_collection_open(cdir, &o, &err);
    REQUIRE(c != NULL);
    r = ss_collection_search(c, &q, &err);
    REQUIRE(r != NULL);
    CHECK(!strcmp(ss_results_hit(r, 0)->id, "b") && fabs(ss_results_hit(r, 0)->score - 1.0) < 1e-5);
    ss_results_free(r);
    ss_collection_close(c, NULL);
    free(v);
    free(got);
    st_rm_rf(dir);
}

/* add_file with vector_field: JSONL arrays and CSV cells holding one. */
static void test_file(void) {
    char *dir = st_tmpdir("vec-file"), cdir[300], file[400];
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    ss_error err;
    ss_collection *c = st_create(cdir, TINY_MODEL, "standard", SS_INDEX_FLAT, &err);
    REQUIRE(c != NULL);
    int d = ss_collection_dim(c);
    float *v = malloc(2 * (size_t)d * sizeof *v), *got = malloc((size_t)d * sizeof *got);
    size_t cap = (size_t)d * 24 + 64;
    char *a = malloc(cap), *b = malloc(cap), *content = malloc(4 * cap), fields[512];
    REQUIRE(v && got && a && b && content);
    make_vec(v, d, 3);
    make_vec(v + d, d, 4);
    json_vec(a, cap, v, d);
    json_vec(b, cap, v + d, d);
    snprintf(content, 4 * cap, "{\"id\": \"p\", \"text\": \"first\", \"emb\": %s, \"tag\": 1}\n"
                               "{\"id\": \"q\", \"text\": \"second\", \"emb\": %s}\n", a, b);
    snprintf(file, sizeof file, "%s/docs.jsonl", dir);
    st_write(file, content);
    ss_ingest_options io = {.vector_field = "emb"};
    ss_add_stats st = {0};
    CHECK(ss_collection_add_file(c, file, &io, &st, &err) == SS_OK);
    CHECK(st.added == 2 && st.given == 2 && st.embedded == 0);
    CHECK(stored_vector(c, "p", got, fields, sizeof fields));
    for (int j = 0; j < d; j++) CHECKF(got[j] == v[j], "p[%d] %g != %g", j, got[j], v[j]); /* %.9g round-trips */
    CHECKF(!strstr(fields, "emb") && strstr(fields, "\"tag\":1"), "stored fields %s", fields);
    /* CSV: the vector is a cell holding a JSON array (quoted: it has commas) */
    snprintf(content, 4 * cap, "id,text,emb\nr,third,\"%s\"\n", b);
    snprintf(file, sizeof file, "%s/docs.csv", dir);
    st_write(file, content);
    CHECK(ss_collection_add_file(c, file, &io, NULL, &err) == SS_OK);
    CHECK(stored_vector(c, "r", got, NULL, 0));
    for (int j = 0; j < d; j++) CHECK(got[j] == v[d + j]);
    CHECK(ss_collection_count(c) == 3);

    /* bad vectors: FILE:LINE and why; the batch (both lines) is not written */
    char *nonnum = malloc(cap), *big = malloc(cap);
    REQUIRE(nonnum && big);
    json_vec_with(nonnum, cap, v, d, 1, "\"no\"");
    json_vec_with(big, cap, v, d, 0, "9e39"); /* > FLT_MAX: finite as a double, not as a float */
    struct {
        const char *rec, *needle;
    } bad[] = {
        {"{\"id\": \"z\", \"text\": \"z\"}", "docs.jsonl:2: no vector field 'emb'"},
        {"{\"id\": \"z\", \"text\": \"z\", \"emb\": [0.5, 0.25, 1]}", "has 3 numbers, the collection's vectors have"},
        {"{\"id\": \"z\", \"text\": \"z\", \"emb\": {\"x\": 1}}", "vector field 'emb' is not an array of numbers"},
        {"{\"id\": \"z\", \"text\": \"z\", \"emb\": \"0.5 0.25\"}", "is a string that is not a JSON array of numbers"},
        {NULL, "element 1 of vector field 'emb' is not a number"},
        {NULL, "element 0 of vector field 'emb' is out of float range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *rec = malloc(cap + 100);
        REQUIRE(rec);
        if (bad[i].rec) snprintf(rec, cap + 100, "%s", bad[i].rec);
        else snprintf(rec, cap + 100, "{\"id\": \"z\", \"text\": \"z\", \"emb\": %s}", i == 4 ? nonnum : big);
        snprintf(content, 4 * cap, "{\"id\": \"ok\", \"text\": \"fine\", \"emb\": %s}\n%s\n", a, rec);
        free(rec);
        snprintf(file, sizeof file, "%s/docs.jsonl", dir);
        st_write(file, content);
        CHECKF(ss_collection_add_file(c, file, &io, NULL, &err) == SS_ERR_FORMAT, "case %zu", i);
        CHECK_CONTAINS(err.msg, "docs.jsonl:2: ");
        CHECK_CONTAINS(err.msg, bad[i].needle);
        CHECKF(ss_collection_count(c) == 3, "case %zu: count %lld", i, (long long)ss_collection_count(c));
        /* --skip-bad: the good line goes in, the bad one is counted */
        ss_ingest_options skip = io;
        skip.skip_bad = 1;
        memset(&st, 0, sizeof st);
        CHECK(ss_collection_add_file(c, file, &skip, &st, &err) == SS_OK && st.skipped == 1 && st.given == 1);
        CHECK(ss_collection_count(c) == 4);
        const char *ok = "ok";
        size_t del = 0;
        CHECK(ss_collection_delete(c, &ok, 1, &del, &err) == SS_OK && del == 1);
    }
    io.vector_field = "";
    CHECK(ss_collection_add_file(c, file, &io, NULL, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "empty vector field name");
    ss_collection_close(c, NULL);

    /* a chunked collection embeds passages: a document vector cannot stand for them */
    snprintf(cdir, sizeof cdir, "%s/chunked", dir);
    ss_collection_options co = {.create = 1, .model_dir = TINY_MODEL, .chunk_tokens = 16, .chunk_overlap = 4};
    c = ss_collection_open(cdir, &co, &err);
    REQUIRE(c != NULL);
    CHECK_CONTAINS(ss_collection_describe(c), "chunking 16 tokens, overlap 4");
    io.vector_field = "emb";
    CHECK(ss_collection_add_file(c, file, &io, NULL, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "embeds passages (chunk tokens 16): precomputed vectors (vector field 'emb')");
    ss_doc one = {.id = "w", .fields_json = "{\"text\": \"w\"}", .vector = v};
    CHECK(ss_collection_add(c, &one, 1, NULL, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "a precomputed document vector cannot stand for its passages");
    CHECK(ss_collection_count(c) == 0);
    ss_collection_close(c, NULL);
    free(v);
    free(got);
    free(a);
    free(b);
    free(content);
    free(nonnum);
    free(big);
    st_rm_rf(dir);
}

static void test_cli(void) {
    char *dir = st_tmpdir("vec-cli"), cmd[2048], file[400];
    ss_error err;
    /* the tiny model's dimension, for a vector of the right length */
    ss_model *m = ss_model_load(TINY_MODEL, NULL, &err);
    REQUIRE(m != NULL);
    int d = ss_model_dim(m);
    ss_model_free(m);
    float *v = malloc((size_t)d * sizeof *v);
    size_t cap = (size_t)d * 24 + 64;
    char *a = malloc(cap), *content = malloc(2 * cap);
    REQUIRE(v && a && content);
    make_vec(v, d, 5);
    json_vec(a, cap, v, d);
    snprintf(content, 2 * cap, "{\"id\": \"k\", \"text\": \"kappa\", \"vec\": %s}\n", a);
    snprintf(file, sizeof file, "%s/in.jsonl", dir);
    st_write(file, content);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' add v '%s' --model '%s' --vector-field vec 2>&1", SEMSEARCH_CLI, dir,
             file, TINY_MODEL);
    int status;
    char *out = tu_run_read(cmd, &status);
    CHECKF(status == 0, "%s", out);
    CHECK_CONTAINS(out, "1 added");
    CHECK_CONTAINS(out, "0 embedded, 1 with given vectors");
    free(out);
    snprintf(content, 2 * cap, "{\"id\": \"k2\", \"text\": \"kappa\", \"vec\": [1, 2]}\n");
    st_write(file, content);
    out = tu_run_read(cmd, &status);
    CHECK(status != 0);
    CHECK_CONTAINS(out, "in.jsonl:1: vector field 'vec' has 2 numbers, the collection's vectors have");
    free(out);
    free(v);
    free(a);
    free(content);
    st_rm_rf(dir);
}

int main(void) {
    test_c_api();
    test_file();
    test_cli();
    return TEST_REPORT();
}
