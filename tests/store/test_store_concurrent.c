/* test_store_concurrent.c — one ss_collection, one writer thread adding
 * batches while three reader threads search it (vector, BM25, filtered) and a
 * read-only handle in the same process catches up by sequence number. Run
 * under ThreadSanitizer by `make test`. Tiny random model. */
#include <pthread.h>

#include "store_test.h"

#define BATCHES 12
#define PER 16

typedef struct {
    ss_collection *c;
    const char *dir;
    volatile int done;
    int failures, searches;
} shared;

static void *writer(void *arg) {
    shared *s = arg;
    char ids[PER][16], bodies[PER][160];
    ss_doc docs[PER];
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < PER; i++) {
            int n = b * PER + i;
            snprintf(ids[i], sizeof ids[i], "w%d", n);
            snprintf(bodies[i], sizeof bodies[i], "{\"text\": \"writer document %d on subject %d\", \"n\": %d}", n, n % 5,
                     n);
            docs[i] = (ss_doc){.id = ids[i], .fields_json = bodies[i]};
        }
        ss_error err;
        if (ss_collection_add(s->c, docs, PER, NULL, &err) != SS_OK) __atomic_add_fetch(&s->failures, 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *reader(void *arg) {
    shared *s = arg;
    int mode = 0;
    while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) || mode < 6) {
        ss_query q = {.text = "writer document on subject 3", .k = 5, .mode = (ss_search_mode)(mode % 3)};
        if (mode % 4 == 3) q.where = "n >= 8";
        ss_error err;
        ss_results *r = ss_collection_search(s->c, &q, &err);
        if (!r) __atomic_add_fetch(&s->failures, 1, __ATOMIC_RELAXED);
        for (size_t i = 1; r && i < ss_results_count(r); i++)
            if (ss_results_hit(r, i)->score > ss_results_hit(r, i - 1)->score)
                __atomic_add_fetch(&s->failures, 1, __ATOMIC_RELAXED);
        ss_results_free(r);
        __atomic_add_fetch(&s->searches, 1, __ATOMIC_RELAXED);
        mode++;
    }
    return NULL;
}

int main(void) {
    ss_error err;
    char *dir = st_tmpdir("conc"), cdir[300];
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    shared s = {.dir = cdir};
    s.c = st_create(cdir, TINY_MODEL, "standard", SS_INDEX_HNSW, &err);
    REQUIRE(s.c != NULL);
    ss_doc first = {.id = "seed", .fields_json = "{\"text\": \"writer document zero\", \"n\": 0}"};
    REQUIRE(ss_collection_add(s.c, &first, 1, NULL, &err) == SS_OK);
    ss_collection_options ro = {.read_only = 1};
    ss_collection *rc = ss_collection_open(cdir, &ro, &err);
    REQUIRE(rc != NULL);
    pthread_t w, r[3];
    pthread_create(&w, NULL, writer, &s);
    for (int i = 0; i < 3; i++) pthread_create(&r[i], NULL, reader, &s);
    pthread_join(w, NULL);
    for (int i = 0; i < 3; i++) pthread_join(r[i], NULL);
    CHECKF(s.failures == 0, "%d failures", s.failures);
    CHECK(s.searches >= 18);
    CHECK(ss_collection_count(s.c) == 1 + BATCHES * PER);
    /* the read-only handle sees the writer's commits at its next search */
    ss_query q = {.text = "writer document", .k = 1000};
    ss_results *res = ss_collection_search(rc, &q, &err);
    REQUIRE(res != NULL);
    CHECKF(ss_results_count(res) == 1 + BATCHES * PER, "read-only handle sees %zu", ss_results_count(res));
    ss_results_free(res);
    ss_collection_close(rc, NULL);
    CHECK(ss_collection_close(s.c, &err) == SS_OK);
    st_rm_rf(dir);
    return TEST_REPORT();
}
