/* store_test.h — helpers for the collection tests: temp folders, files, models. */
#ifndef SS_STORE_TEST_H
#define SS_STORE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "semsearch.h"
#include "test.h"

#define TINY_MODEL SEMSEARCH_TESTS_DIR "/models/bert-mean-normalize"
#define TINY_MODEL2 SEMSEARCH_TESTS_DIR "/models/bert-cls"
#define STORE_DATA SEMSEARCH_TESTS_DIR "/store/data"

static inline char *st_tmpdir(const char *tag) {
    static char dirs[8][256];
    static int n;
    char *d = dirs[n++ % 8];
    snprintf(d, 256, "/tmp/ss-store-%s-XXXXXX", tag);
    REQUIRE(mkdtemp(d) != NULL);
    return d;
}

static inline void st_write(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static inline void st_rm_rf(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static inline cJSON *st_read_json(const char *path) {
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = 0;
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    REQUIRE(j != NULL);
    return j;
}

/* A new collection at dir/NAME with a model; opts fields may be overridden by the caller. */
static inline ss_collection *st_create(const char *dir, const char *model, const char *analyzer, ss_index_type type,
                                       ss_error *err) {
    ss_collection_options o = {.create = 1, .model_dir = model, .analyzer = analyzer, .index_type = type};
    return ss_collection_open(dir, &o, err);
}

static inline int rel_close(double a, double b, double rtol) {
    double d = a - b;
    if (d < 0) d = -d;
    double m = (a < 0 ? -a : a) > (b < 0 ? -b : b) ? (a < 0 ? -a : a) : (b < 0 ? -b : b);
    return d <= rtol * (m > 1e-12 ? m : 1e-12);
}

#endif
