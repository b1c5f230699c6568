/* test_trainer.c — the training loop end to end on the tiny seeded BERT:
 * saving a folder round-trips (the saved model embeds exactly as the base),
 * a few epochs of MNRL on a small pair file lower the loss and change the
 * embeddings, the CSV log has one row per step, and mismatched data / loss
 * combinations fail with a message. */
#include "train/save.h"
#include "train/trainer.h"

#include <unistd.h>

#include "model/config.h"
#include "model/transformer.h"
#include "test.h"

#define MODEL SEMSEARCH_TESTS_DIR "/models/bert-mean-normalize"

static char dir[256];

static const char *texts[] = {"how do plants make food", "photosynthesis turns light into sugar",
                              "what is the capital of france", "paris is the capital of france",
                              "cats are small mammals", "a domesticated carnivorous animal",
                              "the stock market fell today", "shares dropped sharply on monday"};

static void embed(const char *model_dir, float *out) {
    ss_error err = {0};
    ss_model *m = ss_model_load(model_dir, NULL, &err);
    REQUIRE(m != NULL);
    CHECKF(ss_encode(m, texts, 8, NULL, out, &err) == SS_OK, "%s", err.msg);
    ss_model_free(m);
}

static void test_save_roundtrip(void) {
    ss_error err = {0};
    ss_tf_config cfg;
    ss_transformer tf;
    REQUIRE(ss_tf_config_load(&cfg, MODEL, &err) == SS_OK);
    REQUIRE(ss_transformer_load(&tf, &cfg, MODEL, &err) == SS_OK);
    char out[512];
    snprintf(out, sizeof out, "%s/saved", dir);
    CHECKF(ss_train_save(&tf, MODEL, out, &err) == SS_OK, "%s", err.msg);
    CHECKF(ss_train_save(&tf, MODEL, out, &err) == SS_OK, "replace: %s", err.msg); /* replaces atomically */
    const char *files[] = {"model.safetensors", "config.json", "modules.json", "sentence_bert_config.json",
                           "1_Pooling/config.json", "tokenizer.json", "vocab.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", out, files[i]);
        CHECKF(access(p, R_OK) == 0, "saved folder lacks %s", files[i]);
    }
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", out, (int)getpid());
    CHECK(access(tmp, F_OK) != 0);
    float a[8 * 32], b[8 * 32];
    embed(MODEL, a);
    embed(out, b);
    double md = 0;
    for (int i = 0; i < 8 * 32; i++) md = fmax(md, fabs(a[i] - b[i]));
    printf("saved == base: max |diff| %.3g\n", md);
    CHECK(md == 0);
    ss_transformer_free(&tf);
}

static double first_loss, last_loss, step_loss[64];
static int64_t n_steps;
static void on_step(void *user, int64_t step, int64_t total, int epoch, double loss, double lr) {
    (void)user, (void)total, (void)epoch, (void)lr;
    if (step == 1) first_loss = loss;
    if (step < 64) step_loss[step] = loss;
    last_loss = loss;
    n_steps = step;
}

static void test_train(void) {
    char csv[512], log[512], out[512];
    snprintf(csv, sizeof csv, "%s/pairs.csv", dir);
    snprintf(log, sizeof log, "%s/log.csv", dir);
    snprintf(out, sizeof out, "%s/trained", dir);
    FILE *f = fopen(csv, "w");
    REQUIRE(f != NULL);
    fprintf(f, "source_sentence,target_sentence\n");
    for (int i = 0; i < 8; i += 2) fprintf(f, "%s,%s\n", texts[i], texts[i + 1]);
    fclose(f);
    ss_train_options o;
    ss_train_options_default(&o);
    o.model_dir = MODEL, o.data_path = csv, o.out_dir = out, o.log_csv = log;
    o.batch_size = 4, o.epochs = 15, o.lr = 1e-3, o.n_threads = 2, o.on_step = on_step;
    o.dropout = 0; /* memorising 4 pairs tests the loop; dropout (on below) only slows that */
    ss_train_result r;
    ss_error err = {0};
    CHECKF(ss_train_run(&o, &r, &err) == SS_OK, "%s", err.msg);
    printf("trained %lld steps: loss %.4f -> %.4f, %zu tokens, %.2f s\n", (long long)r.steps, r.first_loss,
           r.last_loss, r.tokens, r.seconds);
    CHECKF(r.steps == 15 && n_steps == 15 && r.rows == 4, "steps %lld, callback %lld, rows %zu", (long long)r.steps, (long long)n_steps, r.rows);
    CHECK(first_loss == r.first_loss && r.last_loss < 0.5 * r.first_loss);
    f = fopen(log, "r");
    int lines = 0;
    char buf[256];
    while (f && fgets(buf, sizeof buf, f)) lines++;
    if (f) fclose(f);
    CHECK(lines == 16);
    float a[8 * 32], b[8 * 32];
    embed(MODEL, a);
    embed(out, b);
    double md = 0;
    for (int i = 0; i < 8 * 32; i++) md = fmax(md, fabs(a[i] - b[i]));
    CHECK(md > 1e-3); /* it changed the model */

    /* same seed, same run: bit-identical losses */
    double l1 = r.last_loss;
    o.out_dir = NULL, o.log_csv = NULL;
    CHECK(ss_train_run(&o, &r, &err) == SS_OK && r.last_loss == l1);

    /* with dropout (the default): interrupted after 7 steps (checkpoint), resumed: the same losses
     * (the same masks) and the same model as an uninterrupted run */
    char out3[512];
    snprintf(out3, sizeof out3, "%s/trained-dropout", dir);
    o.dropout = 1, o.out_dir = out3;
    CHECKF(ss_train_run(&o, &r, &err) == SS_OK, "%s", err.msg);
    CHECK(r.last_loss != l1); /* the masks changed the run */
    embed(out3, b);
    o.out_dir = NULL;
    double full[16];
    memcpy(full, step_loss, sizeof full);
    char ck[512], out2[512];
    snprintf(ck, sizeof ck, "%s/ckpt.bin", dir);
    snprintf(out2, sizeof out2, "%s/resumed", dir);
    o.checkpoint = ck, o.stop_after = 7;
    CHECKF(ss_train_run(&o, &r, &err) == SS_OK, "%s", err.msg);
    CHECK(r.stopped && r.steps == 7);
    o.stop_after = 0, o.checkpoint = NULL, o.resume = ck, o.out_dir = out2;
    memset(step_loss, 0, sizeof step_loss);
    CHECKF(ss_train_run(&o, &r, &err) == SS_OK, "%s", err.msg);
    CHECK(r.steps == 15 && !r.stopped);
    int same = 1;
    for (int t = 8; t <= 15; t++) same &= step_loss[t] == full[t];
    CHECKF(same, "resumed losses differ (step 8: %.9g vs %.9g)", step_loss[8], full[8]);
    float c[8 * 32];
    embed(out2, c);
    CHECK(memcmp(b, c, sizeof b) == 0);
    printf("resume after 7 of 15 steps: losses 8..15 and the saved model bit-identical: %s\n",
           same && !memcmp(b, c, sizeof b) ? "yes" : "NO");
    /* a checkpoint of another run is refused */
    o.batch_size = 2;
    CHECK(ss_train_run(&o, &r, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "of another run");
    o.batch_size = 4, o.resume = NULL, o.out_dir = NULL;

    /* mismatches fail with a message */
    o.loss = ss_loss_defaults(SS_LOSS_COSINE);
    CHECK(ss_train_run(&o, &r, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "label column");
    o.loss = ss_loss_defaults(SS_LOSS_TRIPLET);
    CHECK(ss_train_run(&o, &r, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "needs 3 text columns");
    o.loss = ss_loss_defaults(SS_LOSS_MNRL);
    o.data_path = "/nonexistent.csv";
    CHECK(ss_train_run(&o, &r, &err) == SS_ERR_IO);
}

/* Unsupervised SimCSE: plain texts, each paired with itself (MNRL), the two
 * views told apart only by their dropout masks (test_dropout checks that the
 * views differ): the loss falls. */
static double simcse_loss[128];
static void on_simcse_step(void *user, int64_t step, int64_t total, int epoch, double loss, double lr) {
    (void)user, (void)total, (void)epoch, (void)lr;
    if (step >= 1 && step <= 128) simcse_loss[step - 1] = loss;
}

static void test_simcse(void) {
    char txt[512];
    snprintf(txt, sizeof txt, "%s/plain.txt", dir);
    FILE *f = fopen(txt, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < 8; i++) fprintf(f, "%s\n", texts[i]);
    fclose(f);
    ss_train_options o;
    ss_train_options_default(&o);
    static char c0[] = "0";
    o.model_dir = MODEL, o.data_path = txt, o.simcse = 1;
    o.data.format = SS_DATA_TSV, o.data.header = 0, o.data.n_text_cols = 1, o.data.text_cols[0] = c0;
    o.batch_size = 8, o.epochs = 30, o.lr = 1e-3, o.n_threads = 2, o.on_step = on_simcse_step;
    ss_train_result r;
    ss_error err = {0};
    CHECKF(ss_train_run(&o, &r, &err) == SS_OK, "%s", err.msg);
    double first = 0, last = 0;
    for (int i = 0; i < 5; i++) first += simcse_loss[i] / 5, last += simcse_loss[25 + i] / 5;
    printf("simcse, 8 plain texts, 30 steps with dropout: mean loss of steps 1-5 %.4f, of steps 26-30 %.4f\n", first,
           last);
    CHECK(r.steps == 30 && r.rows == 8 && last < 0.5 * first);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ss_test_trainer_%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    REQUIRE(system(cmd) == 0);
    test_save_roundtrip();
    test_train();
    test_simcse();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return TEST_REPORT();
}
