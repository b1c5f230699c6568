/* test_store_errors.c — bad inputs, each asserting its message, and the
 * derived index rebuilt when missing / corrupt / stale. Tiny random model. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store/store_internal.h"
#include "store_test.h"
#include "test_util.h"

static ss_collection *fresh(const char *tag, char *cdir, size_t cap, ss_error *err) {
    char *dir = st_tmpdir(tag);
    snprintf(cdir, cap, "%s/c", dir);
    ss_collection *c = st_create(cdir, TINY_MODEL, "english", SS_INDEX_FLAT, err);
    REQUIRE(c != NULL);
    return c;
}

static void expect_add_fail(const char *content, const char *ext, const char *needle, size_t want_count,
                            int batch, const char *fields) {
    char cdir[300], file[400];
    ss_error err;
    char *dir = st_tmpdir("bad");
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    ss_collection_options o = {.create = 1, .model_dir = TINY_MODEL, .fields = fields};
    ss_collection *c = ss_collection_open(cdir, &o, &err);
    REQUIRE(c != NULL);
    snprintf(file, sizeof file, "%s/in.%s", dir, ext);
    st_write(file, content);
    ss_ingest_options io = {.batch_size = batch};
    CHECKF(ss_collection_add_file(c, file, &io, NULL, &err) != SS_OK, "expected failure: %s", needle);
    char where[500];
    snprintf(where, sizeof where, "in.%s:", ext);
    CHECK_CONTAINS(err.msg, where);
    CHECK_CONTAINS(err.msg, needle);
    CHECKF(ss_collection_count(c) == (int64_t)want_count, "%s: count %lld, want %zu", needle,
           (long long)ss_collection_count(c), want_count);
    /* skip_bad: the same file goes through with the bad record counted */
    ss_add_stats st = {0};
    io.skip_bad = 1;
    CHECK(ss_collection_add_file(c, file, &io, &st, &err) == SS_OK);
    CHECKF(st.skipped >= 1, "%s: skipped %zu", needle, st.skipped);
    ss_collection_close(c, NULL);
    st_rm_rf(dir);
}

/* fuzz_store finding store-1: a template or fields list that can never
 * compose a valid text (not UTF-8, an unclosed '{', '{}', no field at all, a
 * name over 255 bytes that put_field cut short) was recorded at creation and
 * then failed, or fed invalid UTF-8 to the model, for every document. */
static void test_bad_specs(void) {
    struct {
        const char *fields, *tpl, *needle;
    } bad[] = {
        {NULL, "{title}: \xe9t\xe9", "template are not valid UTF-8 (byte 9)"},
        {"title,\xff", NULL, "fields are not valid UTF-8 (byte 6)"},
        {NULL, "{title}. {text", "unclosed '{' at byte 9"},
        {NULL, "{} and {title}", "empty field name '{}' at byte 0"},
        {",,", NULL, "fields ',,' name no field"},
        {"", NULL, "fields '' name no field"},
    };
    char *dir = st_tmpdir("specs");
    char cdir[300];
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    ss_error err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ss_collection_options o = {.create = 1, .model_dir = TINY_MODEL, .fields = bad[i].fields,
                                   .template_text = bad[i].tpl};
        ss_collection *c = ss_collection_open(cdir, &o, &err);
        CHECKF(c == NULL, "spec %zu accepted", i);
        ss_collection_close(c, NULL);
        CHECK_CONTAINS(err.msg, bad[i].needle);
        CHECK_CONTAINS(err.msg, "creating ");
    }
    char longname[300];
    memset(longname, 'a', 256);
    longname[256] = '\0';
    ss_collection_options o = {.create = 1, .model_dir = TINY_MODEL, .fields = longname};
    CHECK(ss_collection_open(cdir, &o, &err) == NULL);
    CHECK_CONTAINS(err.msg, "a field name of 256 bytes (at most 255)");
    /* the good ones still work: {{ }} escapes, a 255-byte name, a trailing comma */
    longname[255] = '\0';
    const char *good_tpl[] = {"{{literal}} {title}", NULL};
    const char *good_fields[] = {NULL, "title,"};
    for (int i = 0; i < 2; i++) {
        ss_collection_options g = {.create = 1, .model_dir = TINY_MODEL, .fields = good_fields[i],
                                   .template_text = good_tpl[i]};
        ss_collection *c = ss_collection_open(cdir, &g, &err);
        CHECKF(c != NULL, "good spec %d refused: %s", i, err.msg);
        ss_collection_close(c, NULL);
        st_rm_rf(cdir);
    }
    CHECK(ss__compose_check(longname, NULL, NULL, 0) == 0);
    st_rm_rf(dir);
}

int main(void) {
    ss_error err;
    test_bad_specs();
    char cdir[300], file[400];
    /* malformed JSONL on line 5, batches of 2: lines 1-4 committed, nothing of the bad batch */
    expect_add_fail("{\"id\":\"a\",\"text\":\"one\"}\n{\"id\":\"b\",\"text\":\"two\"}\n{\"id\":\"c\",\"text\":\"three\"}\n"
                    "{\"id\":\"d\",\"text\":\"four\"}\n{\"id\":\"e\",\"text\":\"five\"\n{\"id\":\"f\",\"text\":\"six\"}\n",
                    "jsonl", "in.jsonl:5: not a valid JSON object", 4, 2, NULL);
    /* line 3 is bad and its batch (lines 3-4) is rolled back as a whole */
    expect_add_fail("{\"id\":\"a\",\"text\":\"one\"}\n{\"id\":\"b\",\"text\":\"two\"}\n{\"id\":\"c\",\"text\":\"three\"}\n"
                    "[1,2]\n",
                    "jsonl", "in.jsonl:4: a JSON value that is not an object", 2, 2, NULL);
    expect_add_fail("id,text\n1,fine\n2,a \"bad\" quote\n", "csv", "in.csv:3: a quote inside an unquoted field", 0, 256,
                    NULL);
    expect_add_fail("id,text\n1,fine\n2,\"never closed\n3,x\n", "csv", "unterminated quoted field (opened on line 3)", 0,
                    256, NULL);
    expect_add_fail("id,text\n1,fine\n2,too,many\n", "csv", "in.csv:3: 3 fields, the header has 2", 0, 256, NULL);
    expect_add_fail("{\"id\":\"a\",\"title\":\"t\"}\n", "jsonl", "in.jsonl:1: no field 'text'", 0, 256, NULL);
    expect_add_fail("{\"id\":\"a\",\"title\":\"t\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":\"x\"}\n", "jsonl",
                    "in.jsonl:2: no field 'title'", 0, 256, "title,text");
    expect_add_fail("{\"id\":\"a\",\"text\":\"   \"}\n", "jsonl", "in.jsonl:1: the embedded text is empty", 0, 256, NULL);
    expect_add_fail("{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":\"y\"}\n{\"id\":\"a\",\"text\":\"z\"}\n", "jsonl",
                    "in.jsonl:3: duplicate id 'a' (first on line 1)", 0, 256, NULL);
    expect_add_fail("good line\nbad \xff\xfe byte\n", "txt", "in.txt:2: invalid UTF-8 at byte offset 4", 0, 256, NULL);

    /* CSV with RFC 4180 quoting: embedded commas, doubled quotes, newlines */
    ss_collection *c = fresh("csv", cdir, sizeof cdir, &err);
    snprintf(file, sizeof file, "%s/../in.csv", cdir);
    st_write(file, "id,text,country\r\nx1,\"Hello, \"\"world\"\"\nsecond line\",USA\r\nx2,plain,UK\r\n");
    CHECK(ss_collection_add_file(c, file, NULL, NULL, &err) == SS_OK);
    ss_results *r = ss_collection_get(c, "x1", &err);
    REQUIRE(r != NULL);
    CHECK(!strcmp(ss_results_hit(r, 0)->text, "Hello, \"world\"\nsecond line"));
    ss_results_free(r);
    ss_query fq = {.text = "hello", .where = "country = 'UK'", .k = 5};
    r = ss_collection_search(c, &fq, &err);
    REQUIRE(r != NULL);
    CHECK(ss_results_count(r) == 1 && !strcmp(ss_results_hit(r, 0)->id, "x2"));
    ss_results_free(r);

    /* a second writer: "locked by pid N" (our own pid: the first handle holds it) */
    ss_collection_options w = {.model_dir = TINY_MODEL};
    CHECK(ss_collection_open(cdir, &w, &err) == NULL);
    char pid[64];
    snprintf(pid, sizeof pid, "is locked by pid %ld", (long)getpid());
    CHECK_CONTAINS(err.msg, pid);
    /* readers are fine meanwhile */
    ss_collection_options ro = {.read_only = 1};
    ss_collection *rc = ss_collection_open(cdir, &ro, &err);
    CHECK(rc != NULL && ss_collection_count(rc) == 2);
    ss_collection_close(rc, NULL);
    ss_collection_close(c, NULL);

    /* a different model is refused, naming both */
    ss_collection_options other = {.model_dir = TINY_MODEL2};
    CHECK(ss_collection_open(cdir, &other, &err) == NULL);
    CHECK_CONTAINS(err.msg, "was built with model");
    CHECK_CONTAINS(err.msg, "bert-mean-normalize");
    CHECK_CONTAINS(err.msg, "refusing to use model");
    CHECK_CONTAINS(err.msg, "bert-cls");
    ss_collection_options ofields = {.fields = "title"};
    CHECK(ss_collection_open(cdir, &ofields, &err) == NULL);
    CHECK_CONTAINS(err.msg, "the fields 'title' differ");

    /* not a collection */
    char *nd = st_tmpdir("notcoll");
    char junk[400];
    snprintf(junk, sizeof junk, "%s/somefile", nd);
    st_write(junk, "x");
    ss_collection_options cr = {.create = 1, .model_dir = TINY_MODEL};
    CHECK(ss_collection_open(nd, &cr, &err) == NULL);
    CHECK_CONTAINS(err.msg, "is not a semsearch collection (no collection.db)");
    CHECK(ss_collection_open(nd, &ro, &err) == NULL);
    CHECK_CONTAINS(err.msg, "is not a semsearch collection");
    snprintf(junk, sizeof junk, "%s/collection.db", nd);
    st_write(junk, "this is not sqlite at all, just some text padding padding padding padding padding padding");
    CHECK(ss_collection_open(nd, &ro, &err) == NULL);
    CHECK_CONTAINS(err.msg, "collection.db");
    st_rm_rf(nd);

    /* the derived index: deleted, corrupted, stale -> rebuilt / caught up from SQLite */
    char idx[400], seqf[400], save_idx[400], save_seq[400];
    snprintf(idx, sizeof idx, "%s/index.ssi", cdir);
    snprintf(seqf, sizeof seqf, "%s/index.ssi.log", cdir);
    snprintf(save_idx, sizeof save_idx, "%s/../old.ssi", cdir);
    snprintf(save_seq, sizeof save_seq, "%s/../old.ssi.log", cdir);
    for (int mode = 0; mode < 3; mode++) {
        char cmd[2000];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s' '%s'", idx, save_idx, seqf, save_seq);
        REQUIRE(system(cmd) == 0);
        c = ss_collection_open(cdir, &w, &err);
        REQUIRE(c != NULL);
        char body[128], id[32];
        snprintf(id, sizeof id, "new%d", mode);
        snprintf(body, sizeof body, "{\"text\": \"fresh document number %d about volcanoes\"}", mode);
        ss_doc d = {.id = id, .fields_json = body};
        struct stat before, after, logb, loga;
        REQUIRE(stat(idx, &before) == 0 && stat(seqf, &logb) == 0);
        CHECK(ss_collection_add(c, &d, 1, NULL, &err) == SS_OK);
        /* a commit appends to the log (generation = SQLite's seq); the snapshot is not rewritten */
        REQUIRE(stat(idx, &after) == 0 && stat(seqf, &loga) == 0);
        CHECK(after.st_ino == before.st_ino && after.st_size == before.st_size);
        CHECKF(loga.st_size > logb.st_size, "log %lld -> %lld bytes", (long long)logb.st_size,
               (long long)loga.st_size);
        CHECK((int64_t)ss_index_generation(c->idx) == ss__meta_seq(c->wdb));
        const char *gone[] = {"x2"};
        if (mode == 2) CHECK(ss_collection_delete(c, gone, 1, NULL, &err) == SS_OK);
        int64_t n = ss_collection_count(c);
        ss_collection_close(c, NULL);
        if (mode == 0) unlink(idx);
        if (mode == 1) { /* flip bytes in the middle of the index file */
            int fd = open(idx, O_RDWR);
            REQUIRE(fd >= 0);
            char junkb[64];
            memset(junkb, 0x5a, sizeof junkb);
            CHECK(pwrite(fd, junkb, sizeof junkb, 600) == (ssize_t)sizeof junkb);
            close(fd);
        }
        if (mode == 2) { /* stale: the snapshot and log from before the add / delete */
            snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s' '%s'", save_idx, idx, save_seq, seqf);
            REQUIRE(system(cmd) == 0);
        }
        c = ss_collection_open(cdir, &ro, &err);
        REQUIRE(c != NULL);
        ss_index_stats s;
        ss_index_get_stats(c->idx, &s);
        CHECKF(s.count == n, "mode %d: index %lld vs sqlite %lld", mode, (long long)s.count, (long long)n);
        ss_query q = {.text = "fresh document about volcanoes", .k = 10};
        r = ss_collection_search(c, &q, &err);
        REQUIRE(r != NULL);
        int found = 0, has_deleted = 0;
        for (size_t i = 0; i < ss_results_count(r); i++) {
            found |= !strcmp(ss_results_hit(r, i)->id, id);
            has_deleted |= !strcmp(ss_results_hit(r, i)->id, "x2");
        }
        CHECKF(found, "mode %d: new document not searchable", mode);
        if (mode == 2) CHECK(!has_deleted);
        ss_results_free(r);
        ss_collection_close(c, NULL);
        /* a writer open rebuilds / catches up too, and saves the index on close */
        c = ss_collection_open(cdir, &w, &err);
        REQUIRE(c != NULL);
        CHECK(ss_collection_close(c, &err) == SS_OK);
        CHECK(ss_path_exists_(idx));
    }
    st_rm_rf(cdir);
    return TEST_REPORT();
}
