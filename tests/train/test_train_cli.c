/* test_train_cli.c — `semsearch train` and `semsearch eval sts` through the
 * binary on the tiny seeded BERT: a short run writes a folder that `embed`
 * loads, eval prints Spearman/Pearson for an STSb-format file, and bad
 * invocations fail with a message. */
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "test_util.h"

#define MODEL SEMSEARCH_TESTS_DIR "/models/bert-mean-normalize"

static char dir[256];

/* Runs the CLI with args; returns its exit code, *out / *err the captured streams. */
static int run(const char *args, char **out, char **errtext) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s", SEMSEARCH_CLI, args);
    return tu_run_files(cmd, dir, out, errtext);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ss_test_train_cli_%d", (int)getpid());
    char cmd[4096], *out, *err;
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    REQUIRE(system(cmd) == 0);
    char data[300], sts[300];
    snprintf(data, sizeof data, "%s/pairs.csv", dir);
    snprintf(sts, sizeof sts, "%s/sts.csv", dir);
    FILE *f = fopen(data, "w");
    REQUIRE(f);
    fputs("q,d\nhow do plants make food,photosynthesis\ncapital of france,paris\ncats,small mammals\n"
          "stocks fell,market drop\n",
          f);
    fclose(f);
    f = fopen(sts, "w");
    REQUIRE(f);
    const char *pairs[][3] = {{"5.0", "A plane is taking off.", "An air plane is taking off."},
                              {"3.8", "A man is playing a flute.", "A man plays a flute."},
                              {"0.5", "Three men are playing chess.", "The stock market fell."},
                              {"1.0", "A cat sleeps.", "Parliament passed a law."},
                              {"4.2", "A woman slices an onion.", "A woman is cutting an onion."}};
    for (int i = 0; i < 5; i++) fprintf(f, "g\tf\t2012\t%04d\t%s\t%s\t%s\n", i, pairs[i][0], pairs[i][1], pairs[i][2]);
    fclose(f);

    snprintf(cmd, sizeof cmd, "train --model %s --data %s --loss mnrl --batch-size 2 --max-steps 3 --lr 1e-3 --out %s/m",
             MODEL, data, dir);
    int rc = run(cmd, &out, &err);
    CHECKF(rc == 0, "train rc %d: %s", rc, err);
    CHECK_CONTAINS(err, "3 steps over 4 rows");
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "embed --model %s/m %s", dir, data);
    rc = run(cmd, &out, &err);
    CHECKF(rc == 0, "embed of the trained folder: %s", err);
    CHECK(out[0] == '[');
    free(out), free(err);

    snprintf(cmd, sizeof cmd, "eval sts %s --model %s", sts, MODEL);
    rc = run(cmd, &out, &err);
    CHECKF(rc == 0, "eval rc %d: %s", rc, err);
    CHECK_CONTAINS(out, "pairs: 5");
    CHECK_CONTAINS(out, "spearman: ");
    CHECK_CONTAINS(out, "pearson: ");

    double sp_cli = 0;
    {
        const char *k = strstr(out, "spearman: ");
        if (k) sp_cli = atof(k + 10);
    }
    free(out), free(err);

    /* evaluation during training: the score before training equals `eval sts`'s, best model kept */
    snprintf(cmd, sizeof cmd,
             "train --model %s --data %s --loss mnrl --batch-size 2 --max-steps 2 --eval-sts %s --eval-steps 1 --out %s/best",
             MODEL, data, sts, dir);
    rc = run(cmd, &out, &err);
    CHECKF(rc == 0, "train with eval rc %d: %s", rc, err);
    CHECK_CONTAINS(err, "eval after step 0: spearman");
    CHECK_CONTAINS(err, "eval after step 2: spearman");
    {
        const char *k = strstr(err, "eval after step 0: spearman ");
        double sp0 = k ? atof(k + strlen("eval after step 0: spearman ")) : -1e9;
        CHECKF(fabs(sp0 - sp_cli) < 0.01, "eval before training %.4f vs eval sts %.4f", sp0, sp_cli);
    }
    CHECK_CONTAINS(err, "best ");
    free(out), free(err);
    /* the IR and triplet evaluators during training (the fixture of tests/golden/train/ir): the score
     * before training equals `eval ir` / `eval triplet`'s on the same model; best model kept */
    {
        const char *ir = SEMSEARCH_TESTS_DIR "/golden/train/ir";
        double map0 = -1, acc0 = -1;
        snprintf(cmd, sizeof cmd, "eval ir %s --model %s", ir, MODEL);
        rc = run(cmd, &out, &err);
        CHECKF(rc == 0, "eval ir rc %d: %s", rc, err);
        const char *k = strstr(out, "map@100: ");
        if (k) map0 = atof(k + 9);
        CHECK_CONTAINS(out, "ndcg@10: ");
        free(out), free(err);
        snprintf(cmd, sizeof cmd, "eval triplet %s/triplets.csv --model %s", ir, MODEL);
        rc = run(cmd, &out, &err);
        CHECKF(rc == 0, "eval triplet rc %d: %s", rc, err);
        k = strstr(out, "cosine_accuracy: ");
        if (k) acc0 = atof(k + 17);
        free(out), free(err);
        snprintf(cmd, sizeof cmd,
                 "train --model %s --data %s --loss mnrl --batch-size 2 --max-steps 2 --eval-ir %s --eval-steps 1 "
                 "--out %s/best-ir",
                 MODEL, data, ir, dir);
        rc = run(cmd, &out, &err);
        CHECKF(rc == 0, "train with eval-ir rc %d: %s", rc, err);
        CHECK_CONTAINS(err, "eval after step 2: map@100");
        k = strstr(err, "eval after step 0: map@100 ");
        double m0 = k ? atof(k + strlen("eval after step 0: map@100 ")) : -1e9;
        CHECKF(fabs(m0 - 100 * map0) < 0.01, "eval-ir before training %.4f vs eval ir %.4f", m0, 100 * map0);
        free(out), free(err);
        snprintf(cmd, sizeof cmd,
                 "train --model %s --data %s --loss mnrl --batch-size 2 --max-steps 2 --eval-triplet %s/triplets.csv "
                 "--out %s/best-triplet",
                 MODEL, data, ir, dir);
        rc = run(cmd, &out, &err);
        CHECKF(rc == 0, "train with eval-triplet rc %d: %s", rc, err);
        k = strstr(err, "eval after step 0: cosine accuracy ");
        double a0 = k ? atof(k + strlen("eval after step 0: cosine accuracy ")) : -1e9;
        CHECKF(fabs(a0 - 100 * acc0) < 0.01, "eval-triplet before training %.4f vs eval triplet %.4f", a0, 100 * acc0);
        CHECK_CONTAINS(err, "best ");
        free(out), free(err);
        /* one evaluator per run; a bad IR spec fails with a message */
        snprintf(cmd, sizeof cmd, "train --model %s --data %s --loss mnrl --max-steps 1 --eval-ir %s --eval-sts %s",
                 MODEL, data, ir, sts);
        rc = run(cmd, &out, &err);
        CHECK(rc != 0);
        CHECK_CONTAINS(err, "one evaluator per run");
        free(out), free(err);
        snprintf(cmd, sizeof cmd, "eval ir %s/nope --model %s", dir, MODEL);
        rc = run(cmd, &out, &err);
        CHECK(rc != 0);
        CHECK_CONTAINS(err, "QUERIES,CORPUS,QRELS");
        free(out), free(err);
    }
    /* MSE to a teacher, the parallel-sentences form (both columns learn the teacher's embedding of q) */
    snprintf(cmd, sizeof cmd,
             "train --model %s --data %s --columns q,d --loss mse --teacher %s/models/mpnet-mean-normalize "
             "--batch-size 2 --max-steps 2 --out %s/distilled",
             MODEL, data, SEMSEARCH_TESTS_DIR, dir);
    rc = run(cmd, &out, &err);
    CHECKF(rc == 0, "train --teacher rc %d: %s", rc, err);
    CHECK_CONTAINS(err, "2 steps");
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "train --model %s --data %s --loss mnrl --teacher %s --max-steps 1", MODEL, data, MODEL);
    rc = run(cmd, &out, &err);
    CHECK(rc != 0);
    CHECK_CONTAINS(err, "teacher goes with the MSE loss");
    free(out), free(err);
    /* an STSb file for the cosine loss: label 4 / 5 picked automatically */
    snprintf(cmd, sizeof cmd, "train --model %s --data %s --loss cosine --batch-size 2 --max-steps 2", MODEL, sts);
    rc = run(cmd, &out, &err);
    CHECKF(rc == 0, "cosine on STSb rc %d: %s", rc, err);
    CHECK_CONTAINS(err, "looks like STSb");
    free(out), free(err);

    /* bad invocations */
    snprintf(cmd, sizeof cmd, "train --model %s --data %s --loss cosine", MODEL, data);
    rc = run(cmd, &out, &err);
    CHECK(rc == 2);
    CHECK_CONTAINS(err, "needs --label");
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "train --model %s --data %s --loss nope", MODEL, data);
    rc = run(cmd, &out, &err);
    CHECK(rc == 2);
    CHECK_CONTAINS(err, "unknown loss nope");
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "train --model %s --data %s/missing.csv --loss mnrl", MODEL, dir);
    rc = run(cmd, &out, &err);
    CHECK(rc == 1);
    CHECK_CONTAINS(err, "missing.csv: cannot open");
    free(out), free(err);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return TEST_REPORT();
}
