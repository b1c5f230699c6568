/* test_durability.c — the short form of tests/server/durability.py: 3 trials
 * of a 3,000-document bulk load (the official elasticsearch client's bulk
 * helper, pinned venv from tests/server/setup-venv.sh) into `semsearch serve`,
 * SIGKILL at a random moment, restart, every acknowledged document present
 * (_count, mget of all of them, spot GETs). The long form (20 trials x 100k
 * documents) is run by hand: see docs/server.md. A venv that cannot be made
 * FAILS the test, with the reason. */
#include "harness.h"
#include "test.h"

int main(void) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s/server/setup-venv.sh' servervenv requirements.txt", SEMSEARCH_TESTS_DIR);
    int rc = system(cmd);
    CHECKF(rc == 0, "the client venv could not be set up: run %s by hand to see why (needs PyPI once)", cmd);
    if (rc != 0) return TEST_REPORT();
    snprintf(cmd, sizeof cmd,
             "servervenv/bin/python '%s/server/durability.py' --cli '%s' --model '%s' --trials 3 --docs 3000 --chunk 250",
             SEMSEARCH_TESTS_DIR, SEMSEARCH_CLI, SEMSEARCH_MODEL_DIR);
    rc = system(cmd);
    CHECKF(rc == 0, "durability.py: an acknowledged document was lost, or the run failed (status %d)", rc);
    return TEST_REPORT();
}
