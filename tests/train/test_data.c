/* test_data.c — training data readers (CSV quoting, TSV, JSONL, column
 * selection by name or index, label scaling), bad rows as file:line errors or
 * skipped and counted, seeded shuffling, and no-duplicates batching. */
#include "train/data.h"

#include <unistd.h>

#include "test.h"

static char dir[256];

static const char *write_file(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_csv(void) {
    /* BOM, header, quoted comma, doubled quote, newline inside quotes, CRLF */
    const char *p = write_file("pairs.csv", "\xEF\xBB\xBFsource_sentence,target_sentence,extra\r\n"
                                            "\"Hello, world\",\"She said \"\"hi\"\"\",x\r\n"
                                            "\"two\nlines\",plain,y\n"
                                            "\n"
                                            "last,row,z");
    ss_data_options o = {.header = -1, .n_text_cols = 2, .text_cols = {"target_sentence", "source_sentence"}};
    ss_dataset d;
    ss_error err = {0};
    CHECKF(ss_dataset_load(&d, p, &o, &err) == SS_OK, "%s", err.msg);
    CHECK(d.n_rows == 3 && d.n_cols == 2 && d.labels == NULL);
    if (d.n_rows == 3) {
        CHECK(!strcmp(ss_dataset_text(&d, 0, 0), "She said \"hi\""));
        CHECK(!strcmp(ss_dataset_text(&d, 0, 1), "Hello, world"));
        CHECK(!strcmp(ss_dataset_text(&d, 1, 1), "two\nlines"));
        CHECK(!strcmp(ss_dataset_text(&d, 2, 0), "row"));
    }
    ss_dataset_free(&d);

    /* a missing column name is an error naming the file */
    ss_data_options o2 = {.header = 1, .n_text_cols = 1, .text_cols = {"nope"}};
    CHECK(ss_dataset_load(&d, p, &o2, &err) == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "pairs.csv:1: column \"nope\"");

    /* a short row (line 3, after a two-line record) and an unterminated quote */
    p = write_file("bad.csv", "a,b,score\n\"x\ny\",z,0.5\nonly-one\nc,d,notanumber\ne,f,1\n");
    ss_data_options o3 = {.header = 1, .n_text_cols = 2, .text_cols = {"a", "b"}, .label_col = "score"};
    CHECK(ss_dataset_load(&d, p, &o3, &err) == SS_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "bad.csv:4: 1 fields");
    o3.skip_bad = 1;
    CHECKF(ss_dataset_load(&d, p, &o3, &err) == SS_OK, "%s", err.msg);
    CHECK(d.n_rows == 2 && d.n_skipped == 2);
    CHECK_CONTAINS(d.first_bad, "bad.csv:4:");
    if (d.n_rows == 2) CHECK(d.labels[0] == 0.5f && d.labels[1] == 1.0f);
    ss_dataset_free(&d);
    o3.skip_bad = 0;
    p = write_file("bad2.csv", "a,b,score\nc,d,1\n\"open,e,2\n");
    CHECK(ss_dataset_load(&d, p, &o3, &err) == SS_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "bad2.csv:3: unterminated quoted field");
    o3.skip_bad = 1; /* not skippable */
    CHECK(ss_dataset_load(&d, p, &o3, &err) == SS_ERR_FORMAT);
    CHECK(ss_dataset_load(&d, "/nonexistent/x.csv", &o3, &err) == SS_ERR_IO);
    CHECK_CONTAINS(err.msg, "/nonexistent/x.csv");
}

static void test_tsv_stsb(void) {
    /* STSb: no header, unquoted (a quote is text), score in field 4 scaled by 1/5 */
    const char *p = write_file("sts.tsv", "g\tf\t2012\t0001\t5.000\tA \"plane\" is taking off.\tAn air plane.\n"
                                          "g\tf\t2012\t0004\t3.800\tA man.\tA man plays.\textra\tcols\n");
    ss_data_options o = {.header = -1, .n_text_cols = 2, .text_cols = {"5", "6"}, .label_col = "4",
                         .label_scale = 0.2};
    ss_dataset d;
    ss_error err = {0};
    CHECKF(ss_dataset_load(&d, p, &o, &err) == SS_OK, "%s", err.msg);
    CHECK(d.n_rows == 2);
    if (d.n_rows == 2) {
        CHECK(!strcmp(ss_dataset_text(&d, 0, 0), "A \"plane\" is taking off."));
        CHECK(fabsf(d.labels[0] - 1.0f) < 1e-7f && fabsf(d.labels[1] - 0.76f) < 1e-6f);
    }
    ss_dataset_free(&d);
    /* the real file: 5,749 rows */
    o.format = SS_DATA_TSV;
    CHECKF(ss_dataset_load(&d, SEMSEARCH_DATA_DIR "/stsbenchmark/sts-train.csv", &o, &err) == SS_OK, "%s", err.msg);
    printf("sts-train.csv: %zu rows, %zu skipped\n", d.n_rows, d.n_skipped);
    CHECK(d.n_rows == 5749 && d.n_skipped == 0);
    ss_dataset_free(&d);
}

static void test_jsonl(void) {
    const char *p = write_file("t.jsonl", "{\"anchor\": \"q1\", \"positive\": \"d1\", \"negative\": \"n1\"}\n"
                                          "\n"
                                          "{\"anchor\": \"q2\", \"positive\": \"d2\"}\n"
                                          "{\"anchor\": \"q3\", \"positive\": 5, \"negative\": \"n3\"}\n"
                                          "not json\n"
                                          "{\"anchor\": \"q4\", \"positive\": \"d4\", \"negative\": \"n4\"}\n");
    ss_data_options o = {.n_text_cols = 3, .text_cols = {"anchor", "positive", "negative"}};
    ss_dataset d;
    ss_error err = {0};
    CHECK(ss_dataset_load(&d, p, &o, &err) == SS_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "t.jsonl:3: key \"negative\" is missing");
    o.skip_bad = 1;
    CHECKF(ss_dataset_load(&d, p, &o, &err) == SS_OK, "%s", err.msg);
    CHECK(d.n_rows == 2 && d.n_skipped == 3);
    if (d.n_rows == 2) CHECK(!strcmp(ss_dataset_text(&d, 1, 2), "n4"));
    ss_dataset_free(&d);
    p = write_file("s.jsonl", "{\"s1\": \"a\", \"s2\": \"b\", \"score\": 0.25}\n{\"s1\": \"c\", \"s2\": \"d\", \"score\": \"1\"}\n");
    ss_data_options o2 = {.n_text_cols = 2, .text_cols = {"s1", "s2"}, .label_col = "score"};
    CHECKF(ss_dataset_load(&d, p, &o2, &err) == SS_OK, "%s", err.msg);
    CHECK(d.n_rows == 2 && d.labels && d.labels[0] == 0.25f && d.labels[1] == 1.0f);
    ss_dataset_free(&d);
}

static void test_batching(void) {
    /* 20 rows; rows 0..9 share their text with rows 10..19 (case and spaces differ) */
    char buf[4096] = "a,b\n";
    for (int i = 0; i < 20; i++) {
        char line[64];
        if (i < 10) snprintf(line, sizeof line, "q%d,d%d\n", i, i);
        else snprintf(line, sizeof line, " Q%d ,x%d\n", i - 10, i);
        strcat(buf, line);
    }
    const char *p = write_file("dup.csv", buf);
    ss_data_options o = {.header = 1, .n_text_cols = 2, .text_cols = {"a", "b"}};
    ss_dataset d;
    ss_error err = {0};
    REQUIRE(ss_dataset_load(&d, p, &o, &err) == SS_OK);
    size_t rows[8], seen[20] = {0};
    ss_train_batcher b, b2;
    /* plain: a permutation per epoch, batches 8, 8, 4; same seed same order */
    REQUIRE(ss_train_batcher_init(&b, &d, 8, 0, 7, &err) == SS_OK);
    REQUIRE(ss_train_batcher_init(&b2, &d, 8, 0, 7, &err) == SS_OK);
    CHECK(ss_train_batcher_len(&b) == 3);
    int sizes[4], k = 0, n;
    size_t rows2[8];
    int same = 1;
    while ((n = ss_train_batcher_next(&b, rows)) > 0) {
        sizes[k++] = n;
        CHECK(ss_train_batcher_next(&b2, rows2) == n);
        for (int i = 0; i < n; i++) seen[rows[i]]++, same &= rows[i] == rows2[i];
    }
    CHECK(k == 3 && sizes[0] == 8 && sizes[1] == 8 && sizes[2] == 4);
    CHECK(same);
    int perm = 1;
    for (int i = 0; i < 20; i++) perm &= seen[i] == 1;
    CHECK(perm);
    ss_train_batcher_free(&b2);
    REQUIRE(ss_train_batcher_init(&b2, &d, 8, 0, 8, &err) == SS_OK);
    ss_train_batcher_next(&b2, rows2);
    ss_train_batcher_next(&b, rows); /* epoch 2 of seed 7 */
    CHECK(memcmp(rows, rows2, sizeof rows) != 0);
    ss_train_batcher_free(&b), ss_train_batcher_free(&b2);

    /* no duplicates: floor(20/8) = 2 full batches per epoch, never two rows sharing a text */
    REQUIRE(ss_train_batcher_init(&b, &d, 8, 1, 3, &err) == SS_OK);
    CHECK(ss_train_batcher_len(&b) == 2);
    int clean = 1, batches = 0;
    for (int epoch = 0; epoch < 5; epoch++)
        while ((n = ss_train_batcher_next(&b, rows)) > 0) {
            batches++;
            CHECK(n == 8);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < i; j++)
                    if (rows[i] % 10 == rows[j] % 10) clean = 0;
        }
    CHECK(clean && batches == 10);
    ss_train_batcher_free(&b);
    /* a batch larger than the distinct texts allow stops short instead of looping */
    REQUIRE(ss_train_batcher_init(&b, &d, 12, 1, 3, &err) == SS_OK);
    n = ss_train_batcher_next(&b, (size_t[12]){0});
    CHECK(n == 10);
    ss_train_batcher_free(&b);
    CHECK(ss_train_batcher_init(&b, &d, 0, 0, 1, &err) == SS_ERR_INVALID);
    ss_dataset_free(&d);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ss_test_data_%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    REQUIRE(system(cmd) == 0);
    test_csv();
    test_tsv_stsb();
    test_jsonl();
    test_batching();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return TEST_REPORT();
}
