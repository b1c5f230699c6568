/* test_store_seed.c — the seed's ten documents and three queries through a
 * collection with the real all-MiniLM-L6-v2: top hits and cosine scores equal
 * sentence-transformers' util.semantic_search (tests/store/golden/seed_vector.json,
 * tools/reference/make_store_vector_golden.py) to 1e-4, flat and HNSW; similar,
 * filters honouring k, hybrid RRF arithmetic, re-adding without re-embedding. */
#include "store_test.h"

static const char *QUERIES[] = {"What is AI?", "Do you know about the pyramids?", "How do plants survive?"};

static void check_golden(ss_collection *c, const cJSON *gq) {
    int qi = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(gq, "queries")) {
        const cJSON *hits = cJSON_GetObjectItem(q, "hits");
        ss_query sq = {.text = cJSON_GetObjectItem(q, "query")->valuestring, .k = 10};
        CHECK(!strcmp(sq.text, QUERIES[qi]));
        ss_error err;
        ss_results *r = ss_collection_search(c, &sq, &err);
        REQUIRE(r != NULL);
        CHECKF(ss_results_count(r) == (size_t)cJSON_GetArraySize(hits), "%zu hits", ss_results_count(r));
        for (int i = 0; i < cJSON_GetArraySize(hits) && (size_t)i < ss_results_count(r); i++) {
            const cJSON *g = cJSON_GetArrayItem(hits, i);
            const ss_hit *h = ss_results_hit(r, (size_t)i);
            double gs = cJSON_GetObjectItem(g, "score")->valuedouble;
            CHECKF(fabs(h->score - gs) <= 1e-4, "query %d rank %d: %f vs %f", qi, i, h->score, gs);
            /* ids must agree except where the reference's scores tie within 1e-4 */
            if (strcmp(h->id, cJSON_GetObjectItem(g, "id")->valuestring)) {
                const cJSON *g2 = cJSON_GetArrayItem(hits, i + 1);
                CHECKF(g2 && fabs(cJSON_GetObjectItem(g2, "score")->valuedouble - gs) < 1e-4, "query %d rank %d: %s vs %s",
                       qi, i, h->id, cJSON_GetObjectItem(g, "id")->valuestring);
            }
        }
        CHECK(!strcmp(ss_results_hit(r, 0)->id, cJSON_GetObjectItem(cJSON_GetArrayItem(hits, 0), "id")->valuestring));
        ss_results_free(r);
        qi++;
    }
    CHECK(qi == 3);
}

int main(void) {
    ss_error err;
    cJSON *gold = st_read_json(SEMSEARCH_TESTS_DIR "/store/golden/seed_vector.json");
    for (int type = 0; type < 2; type++) {
        char *dir = st_tmpdir("seed");
        char cdir[300];
        snprintf(cdir, sizeof cdir, "%s/seed", dir);
        ss_collection *c = st_create(cdir, SEMSEARCH_MODEL_DIR, "english", type ? SS_INDEX_HNSW : SS_INDEX_FLAT, &err);
        REQUIRE(c != NULL);
        ss_add_stats st = {0};
        CHECK(ss_collection_add_file(c, STORE_DATA "/seed_docs.jsonl", NULL, &st, &err) == SS_OK);
        CHECK(st.added == 10 && st.embedded == 10 && st.batches == 1);
        CHECK(ss_collection_count(c) == 10);
        check_golden(c, gold);

        /* similar: the document itself is never a hit */
        ss_query sq = {.k = 3};
        ss_results *r = ss_collection_similar(c, "ml", &sq, &err);
        REQUIRE(r != NULL);
        CHECK(ss_results_count(r) == 3);
        for (size_t i = 0; i < ss_results_count(r); i++) CHECK(strcmp(ss_results_hit(r, i)->id, "ml"));
        CHECK(!strcmp(ss_results_hit(r, 0)->id, "ai"));
        ss_results_free(r);
        CHECK(ss_collection_similar(c, "nope", &sq, &err) == NULL && err.code == SS_ERR_NOT_FOUND);
        CHECK_CONTAINS(err.msg, "no document with id 'nope'");

        /* filters honour k when enough documents match */
        const char *wh[] = {"topic = \"history\"", "country IN (\"USA\", 'Egypt') AND NOT year < 2020",
                            "(topic = 'physics' OR topic = 'biology') AND year <= 1953", "year > 1900"};
        size_t want[] = {3, 3, 3, 10};
        for (int i = 0; i < 4; i++) {
            ss_query fq = {.text = "What is AI?", .k = 3, .where = wh[i]};
            r = ss_collection_search(c, &fq, &err);
            REQUIRE(r != NULL);
            CHECKF(ss_results_count(r) == (want[i] < 3 ? want[i] : 3), "%s: %zu hits", wh[i], ss_results_count(r));
            for (size_t h = 0; h < ss_results_count(r); h++) {
                cJSON *f = cJSON_Parse(ss_results_hit(r, h)->fields_json);
                const char *topic = cJSON_GetObjectItem(f, "topic")->valuestring;
                const char *country = cJSON_GetObjectItem(f, "country")->valuestring;
                int year = cJSON_GetObjectItem(f, "year")->valueint;
                if (i == 0) CHECK(!strcmp(topic, "history"));
                if (i == 1) CHECK((!strcmp(country, "USA") || !strcmp(country, "Egypt")) && year >= 2020);
                if (i == 2) CHECK((!strcmp(topic, "physics") || !strcmp(topic, "biology")) && year <= 1953);
                cJSON_Delete(f);
            }
            ss_results_free(r);
        }
        ss_query bad = {.text = "x", .where = "country = "};
        CHECK(ss_collection_search(c, &bad, &err) == NULL);
        CHECK_CONTAINS(err.msg, "--where: expected a value");

        /* hybrid: RRF score = sum 1/(60 + rank) over the vector and BM25 lists */
        ss_query vq = {.text = "Egypt pyramids history", .k = 10}, bq = vq, hq = vq;
        bq.mode = SS_SEARCH_BM25;
        hq.mode = SS_SEARCH_HYBRID;
        ss_results *rv = ss_collection_search(c, &vq, &err), *rb = ss_collection_search(c, &bq, &err),
                   *rh = ss_collection_search(c, &hq, &err);
        REQUIRE(rv && rb && rh);
        CHECK(!strcmp(ss_results_hit(rh, 0)->id, "pyramids"));
        for (size_t i = 0; i < ss_results_count(rh); i++) {
            const ss_hit *h = ss_results_hit(rh, i);
            double want_s = 0;
            for (size_t j = 0; j < ss_results_count(rv); j++)
                if (!strcmp(ss_results_hit(rv, j)->id, h->id)) want_s += 1.0 / (60 + j + 1);
            for (size_t j = 0; j < ss_results_count(rb); j++)
                if (!strcmp(ss_results_hit(rb, j)->id, h->id)) want_s += 1.0 / (60 + j + 1);
            CHECKF(fabs(h->score - want_s) < 1e-12, "%s: %f vs %f", h->id, h->score, want_s);
        }
        ss_results_free(rv);
        ss_results_free(rb);
        ss_results_free(rh);
        ss_query lq = {.text = "Egypt pyramids history", .k = 3, .mode = SS_SEARCH_LINEAR};
        r = ss_collection_search(c, &lq, &err);
        REQUIRE(r != NULL);
        CHECK(!strcmp(ss_results_hit(r, 0)->id, "pyramids") && fabs(ss_results_hit(r, 0)->score - 1.0) < 1e-9);
        ss_results_free(r);

        /* re-adding: unchanged texts are not re-embedded; a changed one is */
        ss_add_stats st2 = {0};
        CHECK(ss_collection_add_file(c, STORE_DATA "/seed_docs.jsonl", NULL, &st2, &err) == SS_OK);
        CHECK(st2.added == 0 && st2.replaced == 10 && st2.unchanged == 10 && st2.embedded == 0);
        ss_doc d = {.id = "ai", .fields_json = "{\"text\": \"The pyramids of Giza are in Egypt.\", \"topic\": \"history\"}"};
        ss_add_stats st3 = {0};
        CHECK(ss_collection_add(c, &d, 1, &st3, &err) == SS_OK && st3.embedded == 1 && st3.replaced == 1);
        ss_query pq = {.text = "Do you know about the pyramids?", .k = 2};
        r = ss_collection_search(c, &pq, &err);
        REQUIRE(r && ss_results_count(r) == 2);
        CHECK(!strcmp(ss_results_hit(r, 0)->id, "ai") || !strcmp(ss_results_hit(r, 1)->id, "ai"));
        ss_results_free(r);
        r = ss_collection_get(c, "ai", &err);
        REQUIRE(r != NULL);
        CHECK(!strcmp(ss_results_hit(r, 0)->text, "The pyramids of Giza are in Egypt."));
        ss_results_free(r);
        const char *del[] = {"ai", "missing"};
        size_t nd = 0;
        CHECK(ss_collection_delete(c, del, 2, &nd, &err) == SS_OK && nd == 1);
        CHECK(ss_collection_count(c) == 9);
        CHECK(ss_collection_get(c, "ai", &err) == NULL && err.code == SS_ERR_NOT_FOUND);
        r = ss_collection_search(c, &pq, &err);
        REQUIRE(r != NULL);
        for (size_t i = 0; i < ss_results_count(r); i++) CHECK(strcmp(ss_results_hit(r, i)->id, "ai"));
        ss_results_free(r);
        CHECK(ss_collection_close(c, &err) == SS_OK);

        /* reopen read-only: the saved index is used and agrees */
        ss_collection_options ro = {.read_only = 1};
        c = ss_collection_open(cdir, &ro, &err);
        REQUIRE(c != NULL);
        CHECK(ss_collection_count(c) == 9);
        r = ss_collection_search(c, &pq, &err);
        REQUIRE(r && ss_results_count(r) == 2 && !strcmp(ss_results_hit(r, 0)->id, "pyramids"));
        ss_results_free(r);
        CHECK(ss_collection_add_file(c, STORE_DATA "/seed_docs.jsonl", NULL, NULL, &err) != SS_OK);
        CHECK_CONTAINS(err.msg, "read-only");
        ss_collection_close(c, NULL);
        st_rm_rf(dir);
    }
    cJSON_Delete(gold);
    return TEST_REPORT();
}
