/* test_store_bm25.c — Lucene BM25 through FTS5 with semsearch's analyzers
 * against tests/store/golden/bm25.json (tools/reference/make_store_bm25_golden.py:
 * bm25s method="lucene" on the same tokens; for documents >= 24 tokens,
 * Lucene's formula with SmallFloat length norms), to 1e-5 relative; the
 * SmallFloat table; analyzer behaviour (possessive, stop words, porter). */
#include "store/store_internal.h"
#include "store_test.h"

typedef struct {
    char buf[512];
} toks;

static void cat_tok(void *user, const char *t) {
    toks *b = user;
    if (b->buf[0]) strncat(b->buf, " ", sizeof b->buf - strlen(b->buf) - 1);
    strncat(b->buf, t, sizeof b->buf - strlen(b->buf) - 1);
}

static void check_analyzer(const char *an, const char *text, const char *want) {
    toks t = {{0}};
    ss_error err;
    CHECK(ss_analyze(an, text, cat_tok, &t, &err) == SS_OK);
    CHECKF(!strcmp(t.buf, want), "%s(\"%s\") = \"%s\", want \"%s\"", an, text, t.buf, want);
}

int main(void) {
    ss_error err;
    cJSON *g = st_read_json(SEMSEARCH_TESTS_DIR "/store/golden/bm25.json");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(g, "smallfloat")) {
        int in = cJSON_GetArrayItem(p, 0)->valueint, want = cJSON_GetArrayItem(p, 1)->valueint;
        CHECKF(ss__lucene_byte4_to_int(ss__lucene_int_to_byte4(in)) == want, "SmallFloat %d", in);
    }
    check_analyzer("english", "John's dogs AREN'T running to the U.S.A.", "john dog aren't run u.s.a");
    check_analyzer("english", "Généralisations ’s Connections", "généralis connect");
    check_analyzer("standard", "The QUICK brown-fox, 3.14 and ÉLAN", "the quick brown fox 3.14 and élan");
    check_analyzer("english", "the of and a", "");
    CHECK(ss_analyze("klingon", "x", cat_tok, &(toks){{0}}, &err) != SS_OK);
    CHECK_CONTAINS(err.msg, "unknown analyzer 'klingon'");

    int sets = 0;
    const cJSON *set;
    cJSON_ArrayForEach(set, cJSON_GetObjectItem(g, "sets")) {
        const char *corpus = cJSON_GetObjectItem(set, "corpus")->valuestring;
        const char *an = cJSON_GetObjectItem(set, "analyzer")->valuestring;
        char *dir = st_tmpdir("bm25"), cdir[300], file[400];
        snprintf(cdir, sizeof cdir, "%s/c", dir);
        snprintf(file, sizeof file, "%s/%s", STORE_DATA, corpus);
        ss_collection *c = st_create(cdir, TINY_MODEL, an, SS_INDEX_FLAT, &err);
        REQUIRE(c != NULL);
        REQUIRE(ss_collection_add_file(c, file, NULL, NULL, &err) == SS_OK);
        const cJSON *q;
        int nq = 0;
        cJSON_ArrayForEach(q, cJSON_GetObjectItem(set, "queries")) {
            const cJSON *hits = cJSON_GetObjectItem(q, "hits");
            ss_query sq = {.text = cJSON_GetObjectItem(q, "query")->valuestring, .k = 100, .mode = SS_SEARCH_BM25};
            ss_results *r = ss_collection_search(c, &sq, &err);
            REQUIRE(r != NULL);
            CHECKF(ss_results_count(r) == (size_t)cJSON_GetArraySize(hits), "%s %s \"%s\": %zu hits, want %d", corpus,
                   an, sq.text, ss_results_count(r), cJSON_GetArraySize(hits));
            for (size_t i = 0; i < ss_results_count(r); i++) {
                const ss_hit *h = ss_results_hit(r, i);
                const cJSON *gh;
                int found = 0;
                cJSON_ArrayForEach(gh, hits) if (!strcmp(cJSON_GetObjectItem(gh, "id")->valuestring, h->id)) {
                    double gs = cJSON_GetObjectItem(gh, "score")->valuedouble;
                    CHECKF(rel_close(h->score, gs, 1e-5), "%s %s \"%s\" %s: %.9f vs %.9f", corpus, an, sq.text, h->id,
                           h->score, gs);
                    found = 1;
                }
                CHECKF(found, "%s: unexpected hit %s", sq.text, h->id);
                if (i > 0) CHECK(ss_results_hit(r, i - 1)->score >= h->score);
            }
            ss_results_free(r);
            nq++;
        }
        CHECK(nq >= 5);
        /* k1 / b are honoured: b = 0 removes length normalisation */
        ss_query b0 = {.text = "pyramids", .k = 5, .mode = SS_SEARCH_BM25, .b = -1};
        ss_results *r = ss_collection_search(c, &b0, &err);
        REQUIRE(r != NULL);
        for (size_t i = 1; i < ss_results_count(r); i++) CHECK(ss_results_hit(r, i)->score <= ss_results_hit(r, 0)->score);
        ss_results_free(r);
        ss_collection_close(c, NULL);
        st_rm_rf(dir);
        sets++;
    }
    CHECK(sets == 3);
    cJSON_Delete(g);
    return TEST_REPORT();
}
