/* test_es_clients.c — runs tests/server/test_es_clients.py (the seed flow:
 * create index, helpers.bulk 1,000 documents embedded by the server, kNN, kNN
 * with a filter, BM25, bool, rrf, documents, errors) with the real
 * elasticsearch 8.x client and then the 9.x client, from the pinned venvs
 * tests/server/setup-venv.sh makes (the same ones test_server_clients uses),
 * against a `semsearch serve` started and always stopped here. Expected
 * values are computed by the script itself (brute-force kNN, Lucene BM25,
 * RRF). A venv that cannot be made FAILS the test, with the reason. */
#include "harness.h"
#include "test.h"

int main(void) {
    char cmd[4096];
    const char *venvs[2][2] = {{"servervenv", "requirements.txt"}, {"servervenv9", "requirements-es9.txt"}};
    for (int v = 0; v < 2; v++) {
        snprintf(cmd, sizeof cmd, "'%s/server/setup-venv.sh' %s %s", SEMSEARCH_TESTS_DIR, venvs[v][0], venvs[v][1]);
        int rc = system(cmd);
        CHECKF(rc == 0, "the client venv %s could not be set up: run %s by hand to see why (needs PyPI once)",
               venvs[v][0], cmd);
        if (rc != 0) return TEST_REPORT();
    }
    char tmpdir[] = "/tmp/ss-test-es-clients-XXXXXX";
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char data[512];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, NULL};
    REQUIRE(server_start(&s, args) == 0);
    for (int v = 0; v < 2; v++) {
        snprintf(cmd, sizeof cmd, "%s/bin/python '%s/server/test_es_clients.py' --port %d --docs 1000", venvs[v][0],
                 SEMSEARCH_TESTS_DIR, s.port);
        int rc = system(cmd);
        CHECKF(rc == 0, "test_es_clients.py with %s failed (status %d)", venvs[v][0], rc);
    }
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_REPORT();
}
