/* test_store_chunk.c — chunked collections (--chunk-tokens / --chunk-overlap)
 * against tests/store/golden/chunk.json (tools/reference/make_store_chunk_golden.py:
 * an independent Python chunker on the Hugging Face tokenizer + sentence-
 * transformers scores of every passage text):
 *   - ss_chunk_text: the passages' offsets (in code points) equal the
 *     reference's for four settings; passage text = text[start:end]; each
 *     passage's own tokenization has n_tokens <= N tokens; consecutive passages
 *     share >= M tokens (or the next segment would not fit); the passages
 *     cover the text;
 *   - a collection with the real all-MiniLM-L6-v2, flat and HNSW: every
 *     document's score = its best passage's reference score (1e-4), the hit's
 *     passage is that best passage (offsets equal), hits ranked by it;
 *   - hybrid and --where keep working, similar excludes itself, re-adding a
 *     changed document re-chunks it (old passages gone from SQLite and the
 *     index), unchanged is not re-embedded, delete removes the passages, a
 *     read-only reopen rebuilds / catches up, settings are recorded and
 *     other settings are refused with a clear message. */
#include <math.h>

#include "store_test.h"

static int64_t cp_offset(const char *s, size_t byte) {
    int64_t n = 0;
    for (size_t i = 0; i < byte; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int ntokens(const ss_tokenizer *tok, const char *s, size_t len) {
    int32_t ids[1024];
    ss_error err;
    int n = ss_tokenizer_encode(tok, s, len, 0, ids, 1024, &err);
    REQUIRE(n >= 2);
    return n - 2; /* [CLS] [SEP] */
}

static char *body_of(const cJSON *d) {
    const char *t = cJSON_GetObjectItem(d, "title")->valuestring, *x = cJSON_GetObjectItem(d, "text")->valuestring;
    char *b = malloc(strlen(t) + strlen(x) + 2);
    sprintf(b, "%s %s", t, x);
    return b;
}

static cJSON *read_docs(void) {
    FILE *f = fopen(STORE_DATA "/chunk_docs.jsonl", "rb");
    REQUIRE(f != NULL);
    cJSON *arr = cJSON_CreateArray();
    char line[65536];
    while (fgets(line, sizeof line, f)) cJSON_AddItemToArray(arr, cJSON_Parse(line));
    fclose(f);
    return arr;
}

static void check_chunker(const ss_tokenizer *tok, const cJSON *docs, const cJSON *setting) {
    int n = cJSON_GetObjectItem(setting, "chunk_tokens")->valueint;
    int m = cJSON_GetObjectItem(setting, "chunk_overlap")->valueint;
    int di = 0;
    const cJSON *gd;
    cJSON_ArrayForEach(gd, cJSON_GetObjectItem(setting, "docs")) {
        char *body = body_of(cJSON_GetArrayItem(docs, di++));
        const cJSON *gp = cJSON_GetObjectItem(gd, "passages");
        ss_chunk *ch = NULL;
        size_t nch = 0;
        ss_error err;
        REQUIRE(ss_chunk_text(tok, body, n, m, &ch, &nch, &err) == SS_OK);
        CHECKF(nch == (size_t)cJSON_GetArraySize(gp), "N %d M %d doc %d: %zu passages vs %d", n, m, di, nch,
               cJSON_GetArraySize(gp));
        int total = ntokens(tok, body, strlen(body)), covered = 0;
        for (size_t i = 0; i < nch && i < (size_t)cJSON_GetArraySize(gp); i++) {
            const cJSON *p = cJSON_GetArrayItem(gp, (int)i);
            int64_t cs = cp_offset(body, ch[i].start), ce = cp_offset(body, ch[i].end);
            CHECKF(cs == cJSON_GetObjectItem(p, "start")->valueint && ce == cJSON_GetObjectItem(p, "end")->valueint,
                   "N %d M %d doc %d passage %zu: [%lld, %lld) vs [%d, %d)", n, m, di, i, (long long)cs, (long long)ce,
                   cJSON_GetObjectItem(p, "start")->valueint, cJSON_GetObjectItem(p, "end")->valueint);
            /* the passage text tokenizes to exactly n_tokens, within the budget */
            int nt = ntokens(tok, body + ch[i].start, ch[i].end - ch[i].start);
            CHECKF(nt == ch[i].n_tokens && nt == cJSON_GetObjectItem(p, "ntok")->valueint && nt <= n,
                   "passage %zu: %d tokens, says %d", i, nt, ch[i].n_tokens);
            covered += nt;
            if (i > 0) {
                /* consecutive passages overlap by >= M tokens of shared text, or the next segment did not fit */
                CHECK(ch[i].start > ch[i - 1].start);
                int shared = ch[i].start < ch[i - 1].end ? ntokens(tok, body + ch[i].start, ch[i - 1].end - ch[i].start)
                                                         : 0;
                CHECKF(shared >= m || ch[i - 1].n_tokens - shared + 1 > 0, "overlap %d < %d", shared, m);
                if (m > 0 && ch[i].n_tokens < n - 8) CHECKF(shared >= m, "passage %zu: overlap %d < %d", i, shared, m);
                if (m == 0) CHECK(shared == 0 && ch[i].start > ch[i - 1].end);
                covered -= shared;
            }
        }
        CHECKF(covered == total, "N %d M %d doc %d: passages cover %d of %d tokens", n, m, di, covered, total);
        ss_chunks_free(ch);
        free(body);
    }
}

/* The reference's best passage per document for query qi. */
static void best_passage(const cJSON *gdoc, int qi, int *best, double *score) {
    *best = -1;
    *score = -2;
    int i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(gdoc, "passages")) {
        double s = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "scores"), qi)->valuedouble;
        if (s > *score) *score = s, *best = i;
        i++;
    }
}

static const cJSON *gdoc_by_id(const cJSON *setting, const char *id) {
    const cJSON *gd;
    cJSON_ArrayForEach(gd, cJSON_GetObjectItem(setting, "docs")) if (!strcmp(cJSON_GetObjectItem(gd, "id")->valuestring, id)) return gd;
    return NULL;
}

static int64_t passages_in_db(const char *cdir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s/collection.db' 'SELECT count(*) FROM passages' 2>/dev/null", cdir);
    FILE *p = popen(cmd, "r");
    long long n = -1;
    if (p) {
        if (fscanf(p, "%lld", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}

static void check_search(ss_collection *c, const cJSON *gold, const cJSON *setting, int ndocs) {
    const cJSON *qs = cJSON_GetObjectItem(gold, "queries");
    for (int qi = 0; qi < cJSON_GetArraySize(qs); qi++) {
        ss_query q = {.text = cJSON_GetArrayItem(qs, qi)->valuestring, .k = ndocs};
        ss_error err;
        ss_results *r = ss_collection_search(c, &q, &err);
        REQUIRE(r != NULL);
        CHECKF(ss_results_count(r) == (size_t)ndocs, "query %d: %zu hits", qi, ss_results_count(r));
        double prev = 2;
        for (size_t i = 0; i < ss_results_count(r); i++) {
            const ss_hit *h = ss_results_hit(r, i);
            const cJSON *gd = gdoc_by_id(setting, h->id);
            REQUIRE(gd != NULL);
            int best;
            double bs;
            best_passage(gd, qi, &best, &bs);
            CHECKF(fabs(h->score - bs) <= 1e-4, "query %d %s: score %f vs best passage %f", qi, h->id, h->score, bs);
            CHECK(h->score <= prev + 1e-9);
            prev = h->score;
            ss_passage p;
            CHECK(ss_results_passage(r, i, &p) == 1);
            CHECK(fabs(p.score - h->score) < 1e-9);
            const cJSON *gp = cJSON_GetArrayItem(cJSON_GetObjectItem(gd, "passages"), best);
            /* the hit's passage is the best one (unless another ties within 1e-4) */
            int same = p.start == cJSON_GetObjectItem(gp, "start")->valueint &&
                       p.end == cJSON_GetObjectItem(gp, "end")->valueint;
            if (!same) {
                const cJSON *o;
                cJSON_ArrayForEach(o, cJSON_GetObjectItem(gd, "passages")) if (o->child &&
                                   p.start == cJSON_GetObjectItem(o, "start")->valueint &&
                                   fabs(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "scores"), qi)->valuedouble - bs) < 1e-4) same = 1;
            }
            CHECKF(same, "query %d %s: passage [%lld, %lld) is not the best [%d, %d)", qi, h->id, (long long)p.start,
                   (long long)p.end, cJSON_GetObjectItem(gp, "start")->valueint, cJSON_GetObjectItem(gp, "end")->valueint);
            /* byte and code point offsets agree on the hit's text */
            CHECK(p.byte_start <= p.byte_end && (size_t)p.byte_end <= strlen(h->text));
            CHECK(cp_offset(h->text, (size_t)p.byte_start) == p.start && cp_offset(h->text, (size_t)p.byte_end) == p.end);
        }
        ss_results_free(r);
    }
}

int main(void) {
    ss_error err;
    cJSON *gold = st_read_json(SEMSEARCH_TESTS_DIR "/store/golden/chunk.json");
    cJSON *docs = read_docs();
    int ndocs = cJSON_GetArraySize(docs);
    const cJSON *settings = cJSON_GetObjectItem(gold, "settings");
    const cJSON *s0 = cJSON_GetArrayItem(settings, 0);

    ss_tokenizer *tok = ss_tokenizer_load(SEMSEARCH_MODEL_DIR, &err);
    REQUIRE(tok != NULL);
    const cJSON *setting;
    cJSON_ArrayForEach(setting, settings) check_chunker(tok, docs, setting);
    /* bad settings */
    ss_chunk *ch;
    size_t nch;
    CHECK(ss_chunk_text(tok, "a b c", 4, 4, &ch, &nch, &err) != SS_OK);
    CHECK_CONTAINS(err.msg, "overlap 4 tokens: must be 0 .. chunk size - 1 (3)");
    CHECK(ss_chunk_text(tok, "a b c", 0, 0, &ch, &nch, &err) != SS_OK);
    CHECK_CONTAINS(err.msg, "at least 1");
    CHECK(ss_chunk_text(tok, "ok \xff", 4, 0, &ch, &nch, &err) != SS_OK);
    CHECK_CONTAINS(err.msg, "invalid UTF-8 at byte offset 3");
    CHECK(ss_chunk_text(tok, "  \n ", 4, 0, &ch, &nch, &err) == SS_OK && nch == 0);
    ss_chunks_free(ch);
    /* a segment longer than N is a passage of its own */
    CHECK(ss_chunk_text(tok, "a supercalifragilisticexpialidocious b", 3, 1, &ch, &nch, &err) == SS_OK);
    CHECKF(nch == 3 && ch[1].n_tokens > 3, "%zu passages", nch);
    ss_chunks_free(ch);
    ss_tokenizer_free(tok);

    int n0 = cJSON_GetObjectItem(s0, "chunk_tokens")->valueint, m0 = cJSON_GetObjectItem(s0, "chunk_overlap")->valueint;
    int64_t gpass = 0;
    const cJSON *gd;
    cJSON_ArrayForEach(gd, cJSON_GetObjectItem(s0, "docs")) gpass += cJSON_GetArraySize(cJSON_GetObjectItem(gd, "passages"));
    for (int type = 0; type < 2; type++) {
        char *dir = st_tmpdir("chunk");
        char cdir[300];
        snprintf(cdir, sizeof cdir, "%s/c", dir);
        ss_collection_options o = {.create = 1, .model_dir = SEMSEARCH_MODEL_DIR, .analyzer = "english",
                                   .index_type = type ? SS_INDEX_HNSW : SS_INDEX_FLAT, .fields = "title,text",
                                   .chunk_tokens = n0, .chunk_overlap = m0};
        ss_collection *c = ss_collection_open(cdir, &o, &err);
        REQUIRE(c != NULL);
        int ct, co;
        ss_collection_chunking(c, &ct, &co);
        CHECK(ct == n0 && co == m0);
        ss_add_stats st = {0};
        CHECK(ss_collection_add_file(c, STORE_DATA "/chunk_docs.jsonl", NULL, &st, &err) == SS_OK);
        CHECK(st.added == (size_t)ndocs && st.embedded == (size_t)ndocs);
        CHECK(ss_collection_count(c) == ndocs);
        CHECKF(passages_in_db(cdir) == gpass, "%lld passages in SQLite, reference %lld", (long long)passages_in_db(cdir),
               (long long)gpass);
        check_search(c, gold, s0, ndocs);

        /* hybrid: documents, each with its vector passage; BM25 alone: no passage */
        ss_query hq = {.text = "risotto parmesan butter", .k = 3, .mode = SS_SEARCH_HYBRID};
        ss_results *r = ss_collection_search(c, &hq, &err);
        REQUIRE(r != NULL);
        CHECK(ss_results_count(r) == 3);
        ss_passage p;
        for (size_t i = 0; i < 2; i++) CHECK(strstr(ss_results_hit(r, i)->id, "cooking") != NULL); /* 2 cooking docs */
        CHECK(ss_results_passage(r, 0, &p) == 1 && p.end > p.start);
        ss_results_free(r);
        hq.mode = SS_SEARCH_BM25;
        r = ss_collection_search(c, &hq, &err);
        REQUIRE(r != NULL);
        CHECK(ss_results_count(r) >= 2 && ss_results_passage(r, 0, &p) == 0);
        ss_results_free(r);

        /* filters: only matching documents, k honoured, scores still the best passage's */
        const char *wh[] = {"topic = \"sport\"", "year >= 2022", "topic IN ('space', 'medicine') AND NOT year = 2030"};
        size_t want[] = {2, 5, 4};
        for (int i = 0; i < 3; i++) {
            ss_query fq = {.text = "How cold are the telescope's instruments?", .k = 4, .where = wh[i]};
            r = ss_collection_search(c, &fq, &err);
            REQUIRE(r != NULL);
            CHECKF(ss_results_count(r) == (want[i] < 4 ? want[i] : 4), "%s: %zu hits", wh[i], ss_results_count(r));
            for (size_t h = 0; h < ss_results_count(r); h++) {
                cJSON *f = cJSON_Parse(ss_results_hit(r, h)->fields_json);
                const char *topic = cJSON_GetObjectItem(f, "topic")->valuestring;
                int year = cJSON_GetObjectItem(f, "year")->valueint;
                if (i == 0) CHECK(!strcmp(topic, "sport"));
                if (i == 1) CHECK(year >= 2022);
                if (i == 2) CHECK((!strcmp(topic, "space") || !strcmp(topic, "medicine")) && year != 2030);
                int best;
                double bs;
                best_passage(gdoc_by_id(s0, ss_results_hit(r, h)->id), 0, &best, &bs);
                CHECKF(fabs(ss_results_hit(r, h)->score - bs) <= 1e-4, "%s: %f vs %f", wh[i], ss_results_hit(r, h)->score, bs);
                cJSON_Delete(f);
            }
            ss_results_free(r);
        }

        /* similar: the centroid of the document's passages; itself excluded */
        ss_query sq = {.k = 3};
        r = ss_collection_similar(c, "space-1", &sq, &err);
        REQUIRE(r != NULL);
        CHECK(ss_results_count(r) == 3);
        for (size_t i = 0; i < ss_results_count(r); i++) CHECK(strcmp(ss_results_hit(r, i)->id, "space-1"));
        CHECKF(!strcmp(ss_results_hit(r, 0)->id, "space-0"), "similar top %s", ss_results_hit(r, 0)->id);
        CHECK(ss_results_passage(r, 0, &p) == 1);
        ss_results_free(r);

        /* re-add: unchanged = not re-embedded; changed = re-chunked */
        memset(&st, 0, sizeof st);
        CHECK(ss_collection_add_file(c, STORE_DATA "/chunk_docs.jsonl", NULL, &st, &err) == SS_OK);
        CHECK(st.unchanged == (size_t)ndocs && st.embedded == 0);
        ss_doc nd = {.id = "space-0", .fields_json = "{\"title\":\"About space\",\"text\":\"The sunshield keeps the instruments extremely cold.\","
                                "\"topic\":\"space\",\"year\":2018}"};
        memset(&st, 0, sizeof st);
        CHECK(ss_collection_add(c, &nd, 1, &st, &err) == SS_OK && st.embedded == 1);
        int64_t before = gpass - cJSON_GetArraySize(cJSON_GetObjectItem(gdoc_by_id(s0, "space-0"), "passages")) + 1;
        CHECKF(passages_in_db(cdir) == before, "%lld passages after re-chunking", (long long)passages_in_db(cdir));
        ss_query q1 = {.text = "sunshield instruments cold", .k = 1};
        r = ss_collection_search(c, &q1, &err);
        REQUIRE(r != NULL);
        CHECK(!strcmp(ss_results_hit(r, 0)->id, "space-0"));
        CHECK(ss_results_passage(r, 0, &p) == 1 && p.start == 0 &&
              p.end == (int64_t)strlen("About space The sunshield keeps the instruments extremely cold."));
        ss_results_free(r);
        size_t ndel = 0;
        const char *del[] = {"cooking-1", "nope"};
        CHECK(ss_collection_delete(c, del, 2, &ndel, &err) == SS_OK && ndel == 1);
        before -= cJSON_GetArraySize(cJSON_GetObjectItem(gdoc_by_id(s0, "cooking-1"), "passages"));
        CHECK(passages_in_db(cdir) == before);
        ss_query all = {.text = "risotto", .k = 20};
        r = ss_collection_search(c, &all, &err);
        REQUIRE(r != NULL);
        CHECK(ss_results_count(r) == (size_t)ndocs - 1);
        for (size_t i = 0; i < ss_results_count(r); i++) CHECK(strcmp(ss_results_hit(r, i)->id, "cooking-1"));
        ss_results_free(r);
        CHECK(ss_collection_close(c, &err) == SS_OK);

        /* settings recorded: other settings refused; reopen read-only without the index file */
        ss_collection_options o2 = {.model_dir = SEMSEARCH_MODEL_DIR, .chunk_tokens = 32};
        CHECK(ss_collection_open(cdir, &o2, &err) == NULL);
        CHECK_CONTAINS(err.msg, "is chunked with --chunk-tokens 64 --chunk-overlap 16; the settings 32 / 0 differ");
        char path[400];
        snprintf(path, sizeof path, "%s/index.ssi", cdir);
        unlink(path);
        ss_collection_options ro = {.read_only = 1};
        c = ss_collection_open(cdir, &ro, &err);
        REQUIRE(c != NULL);
        ss_collection_chunking(c, &ct, &co);
        CHECK(ct == n0 && co == m0);
        r = ss_collection_search(c, &all, &err);
        REQUIRE(r != NULL);
        CHECK(ss_results_count(r) == (size_t)ndocs - 1);
        ss_results_free(r);
        ss_collection_close(c, NULL);
        st_rm_rf(dir);
    }

    /* the CLI: add --chunk-tokens / --chunk-overlap, search --json prints "passage" with code point offsets */
    {
        char *d = st_tmpdir("chunkcli");
        char cmd[2000];
        snprintf(cmd, sizeof cmd,
                 "%s --data %s add c %s --fields title,text --chunk-tokens %d --chunk-overlap %d --threads 1 2>&1 && "
                 "%s --data %s add c %s --fields title,text 2>&1", /* again, settings from the collection */
                 SEMSEARCH_CLI, d, STORE_DATA "/chunk_docs.jsonl", n0, m0, SEMSEARCH_CLI, d,
                 STORE_DATA "/chunk_docs.jsonl");
        FILE *p = popen(cmd, "r");
        REQUIRE(p != NULL);
        char line[65536], out[4096] = "";
        while (fgets(line, sizeof line, p)) strncat(out, line, sizeof out - strlen(out) - 1);
        CHECKF(pclose(p) == 0, "add: %s", out);
        CHECK_CONTAINS(out, "9 replaced (9 unchanged, not re-embedded), 0 embedded");
        const char *qtext = cJSON_GetArrayItem(cJSON_GetObjectItem(gold, "queries"), 1)->valuestring;
        snprintf(cmd, sizeof cmd, "%s --data %s search c \"%s\" -k 3 --json --mode hybrid", SEMSEARCH_CLI, d, qtext);
        p = popen(cmd, "r");
        REQUIRE(p != NULL);
        int nh = 0;
        while (fgets(line, sizeof line, p)) {
            cJSON *h = cJSON_Parse(line);
            REQUIRE(h != NULL);
            const cJSON *ps = cJSON_GetObjectItem(h, "passage");
            const char *id = cJSON_GetObjectItem(h, "id")->valuestring, *text = cJSON_GetObjectItem(h, "text")->valuestring;
            REQUIRE(ps != NULL);
            int64_t s = (int64_t)cJSON_GetObjectItem(ps, "start")->valuedouble,
                    e = (int64_t)cJSON_GetObjectItem(ps, "end")->valuedouble;
            int best;
            double bs;
            best_passage(gdoc_by_id(s0, id), 1, &best, &bs);
            const cJSON *gp = cJSON_GetArrayItem(cJSON_GetObjectItem(gdoc_by_id(s0, id), "passages"), best);
            CHECKF(s == cJSON_GetObjectItem(gp, "start")->valueint && e == cJSON_GetObjectItem(gp, "end")->valueint,
                   "cli %s: passage [%lld, %lld)", id, (long long)s, (long long)e);
            CHECKF(fabs(cJSON_GetObjectItem(ps, "score")->valuedouble - bs) <= 1e-4, "cli %s: passage score", id);
            CHECK((int64_t)cp_offset(text, strlen(text)) >= e);
            nh++;
            cJSON_Delete(h);
        }
        CHECK(pclose(p) == 0 && nh == 3);
        st_rm_rf(d);
    }

    /* creation errors */
    char *dir = st_tmpdir("chunkerr");
    char cdir[300];
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    ss_collection_options bad = {.create = 1, .model_dir = SEMSEARCH_MODEL_DIR, .chunk_tokens = 300};
    CHECK(ss_collection_open(cdir, &bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "--chunk-tokens 300 is more than the model takes (max_seq_length 256 minus [CLS] and [SEP] = 254)");
    bad.chunk_tokens = 10;
    bad.chunk_overlap = 10;
    CHECK(ss_collection_open(cdir, &bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "--chunk-overlap 10 must be less than --chunk-tokens 10");
    ss_collection_options plain = {.create = 1, .model_dir = SEMSEARCH_MODEL_DIR};
    ss_collection *c = ss_collection_open(cdir, &plain, &err);
    REQUIRE(c != NULL);
    ss_collection_close(c, NULL);
    bad.chunk_overlap = 0;
    bad.create = 0;
    CHECK(ss_collection_open(cdir, &bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "embeds whole documents (no chunking); --chunk-tokens 10 needs a new collection");
    st_rm_rf(dir);

    cJSON_Delete(docs);
    cJSON_Delete(gold);
    return TEST_REPORT();
}
