/* test_store_filter.c — filters on an HNSW collection of 5,000 documents:
 * the allow-list walk (2,500 allowed > SS_EXACT_FILTER_MAX) and the exact
 * scan (few allowed) both return only allowed documents, honour k when enough
 * match, and agree with a flat (exact) collection: the walk's recall@10
 * >= 0.9, the exact scan's hits identical. Tiny random model. */
#include "store_test.h"
#include "store/store_internal.h"

#define N 5000

static int has(const ss_results *r, const char *id) {
    for (size_t i = 0; i < ss_results_count(r); i++)
        if (!strcmp(ss_results_hit(r, i)->id, id)) return 1;
    return 0;
}

int main(void) {
    ss_error err;
    char *dir = st_tmpdir("filter"), hd[300], fd[300];
    snprintf(hd, sizeof hd, "%s/h", dir);
    snprintf(fd, sizeof fd, "%s/f", dir);
    ss_collection *h = st_create(hd, TINY_MODEL, "standard", SS_INDEX_HNSW, &err);
    ss_collection *f = st_create(fd, TINY_MODEL, "standard", SS_INDEX_FLAT, &err);
    REQUIRE(h && f);
    static char ids[N][16], bodies[N][200];
    static ss_doc docs[N];
    const char *words[] = {"river", "mountain", "city", "forest", "ocean", "desert", "valley", "island"};
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "d%d", i);
        snprintf(bodies[i], sizeof bodies[i],
                 "{\"text\": \"a %s near the %s, number %d\", \"odd\": %d, \"g\": %d, \"tag\": \"t%d\"}", words[i % 8],
                 words[(i / 8) % 8], i, i % 2, i % 1000, i % 7);
        docs[i] = (ss_doc){.id = ids[i], .fields_json = bodies[i]};
    }
    for (int i = 0; i < N; i += 1000) {
        REQUIRE(ss_collection_add(h, docs + i, 1000, NULL, &err) == SS_OK);
        REQUIRE(ss_collection_add(f, docs + i, 1000, NULL, &err) == SS_OK);
    }
    /* the default HNSW beam: the index's 64 up to k 32, then 2k; an explicit
     * beam (the call's, else the collection's) is raised to k, never lowered */
    CHECK(ss__collection_search_beam(0, 0, 10) == 0);
    CHECK(ss__collection_search_beam(0, 0, 32) == 0);
    CHECKF(ss__collection_search_beam(0, 0, 33) == 66, "%d", ss__collection_search_beam(0, 0, 33));
    CHECKF(ss__collection_search_beam(0, 0, 100) == 200, "%d", ss__collection_search_beam(0, 0, 100));
    CHECK(ss__collection_search_beam(0, 0, 1000000) == 100000);
    CHECK(ss__collection_search_beam(0, 150, 100) == 150);
    CHECK(ss__collection_search_beam(0, 50, 100) == 100);
    CHECK(ss__collection_search_beam(300, 0, 100) == 300);
    CHECK(ss__collection_search_beam(300, 120, 100) == 120);
    CHECK(ss__collection_search_beam(80, 0, 100) == 100);
    const char *queries[] = {"a river near the mountain", "ocean island", "desert valley city", "forest"};
    double hits = 0, total = 0;
    for (int qi = 0; qi < 4; qi++) {
        /* walk with the allow-list: 2,500 allowed */
        ss_query q = {.text = queries[qi], .k = 10, .where = "odd = 1"};
        ss_results *rh = ss_collection_search(h, &q, &err), *rf = ss_collection_search(f, &q, &err);
        REQUIRE(rh && rf);
        CHECK(ss_results_count(rh) == 10 && ss_results_count(rf) == 10);
        for (size_t i = 0; i < ss_results_count(rh); i++) {
            CHECK(strstr(ss_results_hit(rh, i)->fields_json, "\"odd\":1") != NULL);
            hits += has(rf, ss_results_hit(rh, i)->id);
            total += 1;
        }
        ss_results_free(rh);
        ss_results_free(rf);
        /* exact scan: g < 10 AND tag IN (...) allows ~28 */
        ss_query e = {.text = queries[qi], .k = 10, .where = "g < 10 AND tag IN ('t0', 't1', 't2', 't3')"};
        rh = ss_collection_search(h, &e, &err);
        rf = ss_collection_search(f, &e, &err);
        REQUIRE(rh && rf);
        CHECKF(ss_results_count(rh) == ss_results_count(rf) && ss_results_count(rh) == 10, "%zu vs %zu",
               ss_results_count(rh), ss_results_count(rf));
        for (size_t i = 0; i < ss_results_count(rh) && i < ss_results_count(rf); i++) {
            CHECK(!strcmp(ss_results_hit(rh, i)->id, ss_results_hit(rf, i)->id));
            CHECK(fabs(ss_results_hit(rh, i)->score - ss_results_hit(rf, i)->score) < 1e-5);
        }
        ss_results_free(rh);
        ss_results_free(rf);
        /* fewer matches than k: all of them */
        ss_query few = {.text = queries[qi], .k = 10, .where = "g = 7 AND odd = 1"};
        rh = ss_collection_search(h, &few, &err);
        REQUIRE(rh != NULL);
        CHECKF(ss_results_count(rh) == 5, "%zu hits (d7, d1007, ..., d4007)", ss_results_count(rh));
        ss_results_free(rh);
        /* BM25 with a filter */
        ss_query bq = {.text = "river", .k = 10, .mode = SS_SEARCH_BM25, .where = "NOT odd = 1"};
        rh = ss_collection_search(h, &bq, &err);
        REQUIRE(rh != NULL);
        CHECK(ss_results_count(rh) == 10);
        for (size_t i = 0; i < ss_results_count(rh); i++)
            CHECK(strstr(ss_results_hit(rh, i)->fields_json, "\"odd\":0") != NULL);
        ss_results_free(rh);
    }
    printf("filtered HNSW walk recall@10 vs flat: %.3f\n", hits / total);
    CHECK(hits / total >= 0.9);
    /* a deep k at the default beam (2k = 200): recall@100 of the unfiltered
     * HNSW search against the flat collection */
    double dh = 0, dt = 0;
    for (int qi = 0; qi < 4; qi++) {
        ss_query q = {.text = queries[qi], .k = 100};
        ss_results *rh = ss_collection_search(h, &q, &err), *rf = ss_collection_search(f, &q, &err);
        REQUIRE(rh && rf);
        CHECK(ss_results_count(rh) == 100 && ss_results_count(rf) == 100);
        for (size_t i = 0; i < ss_results_count(rh); i++) dh += has(rf, ss_results_hit(rh, i)->id);
        dt += (double)ss_results_count(rf);
        ss_results_free(rh);
        ss_results_free(rf);
    }
    printf("HNSW recall@100 vs flat at the default beam: %.3f\n", dh / dt);
    CHECK(dh / dt >= 0.97);
    ss_collection_close(h, NULL);
    ss_collection_close(f, NULL);
    st_rm_rf(dir);
    return TEST_REPORT();
}
