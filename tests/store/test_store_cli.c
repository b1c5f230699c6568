/* test_store_cli.c — the interface outside checks rely on:
 *   semsearch --data DIR add COLLECTION FILE [--id-field F] [--fields a,b]
 *   semsearch --data DIR search COLLECTION "query" -k K --json [--mode ...]
 *   semsearch --data DIR similar COLLECTION ID -k K --json
 * with the bundled all-MiniLM-L6-v2 (the default model): JSON lines with id,
 * score, text, fields; scores equal the sentence-transformers golden to 1e-4. */
#include "store_test.h"
#include "test_util.h"

int main(void) {
    char *dir = st_tmpdir("cli"), cmd[2048];
    int status;
    cJSON *gold = st_read_json(SEMSEARCH_TESTS_DIR "/store/golden/seed_vector.json");
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' add seed '%s/seed_docs.jsonl' 2>&1", SEMSEARCH_CLI, dir, STORE_DATA);
    char *out = tu_run_read(cmd, &status);
    CHECKF(status == 0, "add: %s", out);
    CHECK_CONTAINS(out, "10 added");
    free(out);

    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(gold, "queries")) {
        snprintf(cmd, sizeof cmd, "'%s' --data '%s' search seed \"%s\" -k 3 --json", SEMSEARCH_CLI, dir,
                 cJSON_GetObjectItem(q, "query")->valuestring);
        out = tu_run_read(cmd, &status);
        CHECK(status == 0 && tu_count_lines(out) == 3);
        char *line = out;
        for (int i = 0; i < 3 && line && *line; i++) {
            char *nl = strchr(line, '\n');
            *nl = 0;
            cJSON *h = cJSON_Parse(line);
            REQUIRE(h != NULL);
            const cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(q, "hits"), i);
            CHECK(!strcmp(cJSON_GetObjectItem(h, "id")->valuestring, cJSON_GetObjectItem(g, "id")->valuestring));
            CHECK(fabs(cJSON_GetObjectItem(h, "score")->valuedouble - cJSON_GetObjectItem(g, "score")->valuedouble) <=
                  1e-4);
            CHECK(cJSON_IsString(cJSON_GetObjectItem(h, "text")));
            CHECK(cJSON_IsObject(cJSON_GetObjectItem(h, "fields")) &&
                  cJSON_GetObjectItem(cJSON_GetObjectItem(h, "fields"), "topic"));
            cJSON_Delete(h);
            line = nl + 1;
        }
        free(out);
    }
    const char *modes[] = {"bm25", "hybrid", "linear"};
    for (int m = 0; m < 3; m++) {
        snprintf(cmd, sizeof cmd, "'%s' --data '%s' search seed 'pyramids of Egypt' -k 2 --json --mode %s", SEMSEARCH_CLI,
                 dir, modes[m]);
        out = tu_run_read(cmd, &status);
        CHECK(status == 0 && tu_count_lines(out) == 2);
        CHECKF(!strncmp(out, "{\"id\":\"pyramids\"", 16), "%s: %s", modes[m], out);
        free(out);
    }
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' similar seed ml -k 4 --json", SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status == 0 && tu_count_lines(out) == 4 && !strstr(out, "{\"id\":\"ml\"") && !strncmp(out, "{\"id\":\"ai\"", 10));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' search seed 'ancient' -k 5 --json --where 'topic = \"history\"'",
             SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status == 0 && tu_count_lines(out) == 3);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' delete seed ml nothere 2>&1", SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status == 0);
    CHECK_CONTAINS(out, "1 of 2 ids deleted");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' similar seed ml 2>&1", SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status != 0);
    CHECK_CONTAINS(out, "no document with id 'ml'");
    free(out);

    /* CSV with --id-field and --fields (the "Semantic Search in Elasticsearch" flow) */
    char csv[400];
    snprintf(csv, sizeof csv, "%s/people.csv", dir);
    st_write(csv, "uid,name,email,gender,country\n7,Ann Lee,ann@example.com,Female,USA\n9,Bo Chen,bo@example.com,Male,China\n");
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' add people '%s' --id-field uid --fields name,email,gender,country 2>&1",
             SEMSEARCH_CLI, dir, csv);
    out = tu_run_read(cmd, &status);
    CHECKF(status == 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' search people 'woman from America' -k 1 --json", SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status == 0);
    CHECK_CONTAINS(out, "\"id\":\"7\"");
    CHECK_CONTAINS(out, "\"text\":\"Ann Lee ann@example.com Female USA\"");
    free(out);
    /* errors go to stderr with a non-zero exit */
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' search nosuch 'x' 2>&1", SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status != 0);
    CHECK_CONTAINS(out, "no collection at");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' search seed 'x' --mode fuzzy 2>&1", SEMSEARCH_CLI, dir);
    out = tu_run_read(cmd, &status);
    CHECK(status != 0);
    CHECK_CONTAINS(out, "unknown --mode 'fuzzy'");
    free(out);
    cJSON_Delete(gold);
    st_rm_rf(dir);
    return TEST_REPORT();
}
