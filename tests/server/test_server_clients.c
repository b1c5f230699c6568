/* test_server_clients.c — runs tests/server/test_clients.py (the real openai,
 * huggingface_hub and elasticsearch 8.x Python clients, pinned in a venv that
 * tests/server/setup-venv.sh makes from requirements.txt; then the
 * elasticsearch 9.x client from requirements-es9.txt) against a
 * `semsearch serve` started here and always stopped here. A venv that cannot
 * be made FAILS the test, with the reason. */
#include "harness.h"
#include "test.h"

int main(void) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s/server/setup-venv.sh' servervenv", SEMSEARCH_TESTS_DIR);
    int rc = system(cmd);
    CHECKF(rc == 0, "the client venv (servervenv) could not be set up: run %s by hand to see why (needs PyPI once)",
           cmd);
    if (rc != 0) return TEST_REPORT();
    snprintf(cmd, sizeof cmd, "'%s/server/setup-venv.sh' servervenv9 requirements-es9.txt", SEMSEARCH_TESTS_DIR);
    rc = system(cmd);
    CHECKF(rc == 0, "the elasticsearch 9.x venv (servervenv9) could not be set up: run %s by hand (needs PyPI once)",
           cmd);
    if (rc != 0) return TEST_REPORT();
    char tmpdir[] = "/tmp/ss-test-clients-XXXXXX";
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char data[512];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, NULL};
    REQUIRE(server_start(&s, args) == 0);
    snprintf(cmd, sizeof cmd, "servervenv/bin/python '%s/server/test_clients.py' --port %d --cli '%s' --model '%s'",
             SEMSEARCH_TESTS_DIR, s.port, SEMSEARCH_CLI, SEMSEARCH_MODEL_DIR);
    rc = system(cmd);
    CHECKF(rc == 0, "test_clients.py failed (status %d)", rc);
    snprintf(cmd, sizeof cmd, "servervenv9/bin/python '%s/server/test_clients.py' --port %d --only-es",
             SEMSEARCH_TESTS_DIR, s.port);
    rc = system(cmd);
    CHECKF(rc == 0, "test_clients.py --only-es with the elasticsearch 9.x client failed (status %d)", rc);
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_REPORT();
}
