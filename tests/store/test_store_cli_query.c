/* test_store_cli_query.c — `semsearch query --queries FILE` and `semsearch
 * shell` (stdin piped: no tty, so no prompt and no libedit) over the seed's
 * ten documents with the bundled all-MiniLM-L6-v2: the ranked ids and scores
 * equal the sentence-transformers golden (tests/store/golden/seed_vector.json,
 * util.semantic_search) to 1e-4; query ids, --drop-own-id, plain-text query
 * files, and the shell's :k / :mode / :where / :similar / :get / :count /
 * :quit commands and its error line. */
#include <math.h>

#include "store_test.h"
#include "test_util.h"

/* The n-th line of s (0-based) in buf. */
static const char *line_at(const char *s, int n, char *buf, size_t cap) {
    for (int i = 0; i < n && s; i++) {
        s = strchr(s, '\n');
        if (s) s++;
    }
    if (!s) return "";
    size_t len = strcspn(s, "\n");
    if (len >= cap) len = cap - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
    return buf;
}

int main(void) {
    char *dir = st_tmpdir("cliq"), cmd[4096], path[400];
    int status;
    cJSON *gold = st_read_json(SEMSEARCH_TESTS_DIR "/store/golden/seed_vector.json");
    const cJSON *gq = cJSON_GetObjectItem(gold, "queries");
    int ngq = cJSON_GetArraySize(gq);
    REQUIRE(ngq >= 3);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' add seed '%s/seed_docs.jsonl' 2>&1", SEMSEARCH_CLI, dir, STORE_DATA);
    char *out = tu_run_read(cmd, &status);
    CHECKF(status == 0, "add: %s", out);
    free(out);

    /* JSONL queries with ids: one line per query, in file order, hits as the golden */
    snprintf(path, sizeof path, "%s/q.jsonl", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < ngq; i++)
        fprintf(f, "{\"_id\": \"q%d\", \"text\": \"%s\"}\n", i,
                cJSON_GetObjectItem(cJSON_GetArrayItem(gq, i), "query")->valuestring);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' query seed --queries '%s' -k 5", SEMSEARCH_CLI, dir, path);
    out = tu_run_read(cmd, &status);
    CHECK(status == 0);
    CHECKF(tu_count_lines(out) == ngq, "%d lines for %d queries", tu_count_lines(out), ngq);
    char buf[8192];
    for (int i = 0; i < ngq; i++) {
        cJSON *o = cJSON_Parse(line_at(out, i, buf, sizeof buf));
        REQUIRE(o != NULL);
        char want[16];
        snprintf(want, sizeof want, "q%d", i);
        CHECK(!strcmp(cJSON_GetObjectItem(o, "query_id")->valuestring, want));
        const cJSON *hits = cJSON_GetObjectItem(o, "hits"),
                    *ghits = cJSON_GetObjectItem(cJSON_GetArrayItem(gq, i), "hits");
        CHECK(cJSON_GetArraySize(hits) == 5);
        for (int h = 0; h < 5 && h < cJSON_GetArraySize(hits); h++) {
            const cJSON *x = cJSON_GetArrayItem(hits, h), *g = cJSON_GetArrayItem(ghits, h);
            CHECKF(!strcmp(cJSON_GetObjectItem(x, "id")->valuestring, cJSON_GetObjectItem(g, "id")->valuestring),
                   "query %d rank %d: %s vs %s", i, h, cJSON_GetObjectItem(x, "id")->valuestring,
                   cJSON_GetObjectItem(g, "id")->valuestring);
            CHECK(fabs(cJSON_GetObjectItem(x, "score")->valuedouble - cJSON_GetObjectItem(g, "score")->valuedouble) <=
                  1e-4);
            CHECK(cJSON_GetObjectItem(x, "text") == NULL); /* text only with --json */
        }
        cJSON_Delete(o);
    }
    free(out);

    /* plain text, one query per line: ids are line numbers; --json adds text */
    snprintf(path, sizeof path, "%s/q.txt", dir);
    st_write(path, "What is AI?\n\nHow do plants survive?\n");
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' query seed --queries '%s' -k 1 --json", SEMSEARCH_CLI, dir, path);
    out = tu_run_read(cmd, &status);
    CHECK(status == 0 && tu_count_lines(out) == 2);
    CHECK_CONTAINS(line_at(out, 0, buf, sizeof buf), "{\"query_id\":\"1\",\"hits\":[{\"id\":\"ai\"");
    CHECK_CONTAINS(line_at(out, 1, buf, sizeof buf), "{\"query_id\":\"2\",\"hits\":[{\"id\":\"photosynthesis\"");
    CHECK_CONTAINS(out, "\"text\":\"Artificial Intelligence aims to build machines");
    free(out);

    /* --drop-own-id: a query whose id is a document's id loses that hit (BEIR's rule) */
    snprintf(path, sizeof path, "%s/own.jsonl", dir);
    st_write(path, "{\"_id\": \"pyramids\", \"text\": \"Do you know about the pyramids?\"}\n");
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' query seed --queries '%s' -k 2 --drop-own-id", SEMSEARCH_CLI, dir,
             path);
    out = tu_run_read(cmd, &status);
    CHECK(status == 0 && tu_count_lines(out) == 1);
    CHECKF(!strstr(out, "\"id\":\"pyramids\"") && strstr(out, "\"hits\":[{\"id\":\"ai\""), "%s", out);
    free(out);

    /* bad query files: a JSONL line without text names file and line; a missing file; no --queries */
    snprintf(path, sizeof path, "%s/bad.jsonl", dir);
    st_write(path, "{\"_id\": \"a\", \"text\": \"ok\"}\n{\"_id\": \"b\", \"body\": \"no text\"}\n");
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' query seed --queries '%s' 2>&1", SEMSEARCH_CLI, dir, path);
    out = tu_run_read(cmd, &status);
    CHECK(status != 0);
    CHECK_CONTAINS(out, "bad.jsonl:2: expected {\"_id\": ..., \"text\": \"...\"}");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' query seed --queries '%s/nothere' 2>&1", SEMSEARCH_CLI, dir, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status != 0);
    CHECK_CONTAINS(out, "cannot open queries");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' query seed 2>&1", SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status != 0);
    CHECK_CONTAINS(out, "--queries FILE is required");
    free(out);

    /* shell with stdin piped: each query prints its hits (rank, score, id, text) */
    snprintf(path, sizeof path, "%s/shell.in", dir);
    st_write(path,
             "What is AI?\n"
             ":k 2\n"
             "How do plants survive?\n"
             ":mode bm25\n"
             "pyramids of Egypt\n"
             ":mode vector\n"
             ":where topic = \"history\"\n"
             ":k 5\n"
             "ancient\n"
             ":where\n"
             ":k 1\n"
             ":similar ml\n"
             ":get quantum\n"
             ":count\n"
             ":similar nosuchid\n"
             ":bogus\n"
             ":quit\n"
             "this line is never read\n");
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' shell seed < '%s' 2>&1", SEMSEARCH_CLI, dir, path);
    out = tu_run_read(cmd, &status);
    CHECKF(status == 0, "shell: %s", out);
    int l = 0;
    /* What is AI? at k 5: the golden's five, with scores */
    const cJSON *g0 = cJSON_GetObjectItem(cJSON_GetArrayItem(gq, 0), "hits");
    for (int h = 0; h < 5; h++, l++) {
        int rank;
        double score;
        char id[64];
        const char *ln = line_at(out, l, buf, sizeof buf);
        CHECKF(sscanf(ln, "%d %lf %63s", &rank, &score, id) == 3, "line %d: %s", l, ln);
        CHECK(rank == h + 1);
        CHECKF(!strcmp(id, cJSON_GetObjectItem(cJSON_GetArrayItem(g0, h), "id")->valuestring), "rank %d: %s", h, id);
        CHECK(fabs(score - cJSON_GetObjectItem(cJSON_GetArrayItem(g0, h), "score")->valuedouble) <= 1e-4);
    }
    /* :k 2 then plants: two lines, photosynthesis first */
    CHECK_CONTAINS(line_at(out, l++, buf, sizeof buf), "photosynthesis");
    CHECK_CONTAINS(line_at(out, l++, buf, sizeof buf), " 2  ");
    /* :mode bm25: pyramids first */
    CHECK_CONTAINS(line_at(out, l++, buf, sizeof buf), "pyramids");
    l++;
    /* :where topic = "history", :k 5, vector: only the history documents (3 of them) */
    for (int h = 0; h < 3; h++, l++) {
        const char *ln = line_at(out, l, buf, sizeof buf);
        CHECKF(strstr(ln, "pyramids") || strstr(ln, "rome") || strstr(ln, "greatwall"), "where line %d: %s", h, ln);
    }
    /* :where (cleared), :k 1, :similar ml: one hit, ai, not ml itself */
    CHECK_CONTAINS(line_at(out, l++, buf, sizeof buf), "ai");
    /* :get quantum prints the document as JSON */
    CHECK_CONTAINS(line_at(out, l++, buf, sizeof buf), "{\"id\":\"quantum\"");
    CHECK(!strcmp(line_at(out, l++, buf, sizeof buf), "10 documents"));
    CHECK_CONTAINS(line_at(out, l++, buf, sizeof buf), "error: ");
    CHECK_CONTAINS(line_at(out, l - 1, buf, sizeof buf), "nosuchid");
    CHECK_CONTAINS(line_at(out, l++, buf, sizeof buf), ":mode vector|bm25|hybrid|linear");
    CHECKF(tu_count_lines(out) == l, "%d lines, expected %d (nothing after :quit): %s", tu_count_lines(out), l, out);
    free(out);

    /* shell --json: JSON hit lines; a missing collection fails with a message */
    snprintf(cmd, sizeof cmd, "printf 'What is AI?\\n' | '%s' --data '%s' shell seed --json 2>&1", SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status == 0 && tu_count_lines(out) == 5);
    CHECK(!strncmp(out, "{\"id\":\"ai\"", 10));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' shell nosuch < /dev/null 2>&1", SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status != 0);
    CHECK_CONTAINS(out, "no collection at");
    free(out);

    cJSON_Delete(gold);
    st_rm_rf(dir);
    return TEST_REPORT();
}
