/* The CLI against hostile or unlucky input (issue 13): several inputs are all
 * embedded in order, a directory is refused, JSONL lines are one object each
 * (duplicate keys keep the last value, \u0000 is refused), `--out` never
 * destroys a good earlier file and write errors fail the command (/dev/full),
 * NaN weights give an error instead of `nan` / 0.000000, ids without a token
 * string print as JSON null, --threads is capped, a huge .npy shape is refused. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "test.h"
#include "test_util.h"

static char tmp[256];

static void put(const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    FILE *f = fopen(p, "wb");
    REQUIRE(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

/* Run `CLI args < input > out 2> err` in tmp; returns the exit status (-1: killed by a signal). */
static int run(const char *input, const char *args, char **out, char **err) {
    char cmd[4096];
    put("in.txt", input);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s < in.txt", tmp, SEMSEARCH_CLI, args);
    return tu_run_files(cmd, tmp, out, err);
}

/* Names in tmp that look like leftover temp files. */
static int leftover_temps(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '\\.tmp-'", tmp);
    return system(cmd) == 0;
}

/* Copy tests/models/bert-cased into tmp/name and set every value of one tensor to NaN. */
static void make_nan_model(const char *name, const char *tensor) {
    char cmd[1024], p[512];
    snprintf(cmd, sizeof cmd, "cp -r '%s/models/bert-cased' '%s/%s'", SEMSEARCH_TESTS_DIR, tmp, name);
    REQUIRE(system(cmd) == 0);
    snprintf(p, sizeof p, "%s/%s/model.safetensors", tmp, name);
    size_t len;
    char *buf = tu_slurp(p, &len);
    REQUIRE(buf && len > 8);
    uint64_t hl;
    memcpy(&hl, buf, 8);
    REQUIRE(hl < len - 8);
    cJSON *h = cJSON_ParseWithLength(buf + 8, (size_t)hl);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(h, tensor);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    REQUIRE(cJSON_IsString(dt) && cJSON_GetArraySize(off) == 2);
    size_t a = 8 + (size_t)hl + (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
    size_t b = 8 + (size_t)hl + (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
    REQUIRE(b <= len);
    if (!strcmp(dt->valuestring, "F32")) {
        float nan = NAN;
        for (size_t i = a; i + 4 <= b; i += 4) memcpy(buf + i, &nan, 4);
    } else {
        uint16_t nan = !strcmp(dt->valuestring, "BF16") ? 0x7FC0 : 0x7E00; /* bf16 / fp16 quiet NaN */
        for (size_t i = a; i + 2 <= b; i += 2) memcpy(buf + i, &nan, 2);
    }
    cJSON_Delete(h);
    FILE *f = fopen(p, "wb");
    REQUIRE(f && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
    free(buf);
}

int main(void) {
    REQUIRE(access(SEMSEARCH_CLI, X_OK) == 0); /* a missing CLI fails the test */
    snprintf(tmp, sizeof tmp, "/tmp/semsearch-cli-hard-XXXXXX");
    REQUIRE(mkdtemp(tmp) != NULL);
    char *out, *err, *o1, *o2;

    /* several inputs: all embedded, in order */
    put("a.txt", "first\nsecond\n");
    put("b.txt", "third\n");
    CHECK(run("", "embed --truncate-dim 4 a.txt b.txt", &out, &err) == 0);
    CHECKF(tu_count_lines(out) == 3, "embed a.txt b.txt printed %d lines", tu_count_lines(out));
    CHECK(run("third\n", "embed --truncate-dim 4", &o1, NULL) == 0);
    /* the last line is "third" (equal to embedding it alone, up to batching round-off) */
    const char *last = out ? strrchr(out, '[') : NULL;
    cJSON *ja = last ? cJSON_Parse(last) : NULL, *jb = o1 ? cJSON_Parse(o1) : NULL;
    int same = cJSON_GetArraySize(ja) == 4 && cJSON_GetArraySize(jb) == 4;
    for (int i = 0; same && i < 4; i++)
        same = fabs(cJSON_GetArrayItem(ja, i)->valuedouble - cJSON_GetArrayItem(jb, i)->valuedouble) < 1e-6;
    CHECKF(same, "the last line of embed a.txt b.txt is not b.txt's text: %s vs %s", last, o1);
    cJSON_Delete(ja), cJSON_Delete(jb);
    free(out), free(err), free(o1);
    /* an error in the second input names that file and line */
    put("bad.txt", "fine\nbad \xff\n");
    CHECK(run("", "embed a.txt bad.txt", NULL, &err) == 1);
    CHECK_CONTAINS(err, "bad.txt:2");
    free(err);
    /* a directory is not an input */
    CHECK(run("", "embed .", &out, &err) == 1);
    CHECK_CONTAINS(err, "directory");
    CHECK(out && out[0] == 0);
    free(out), free(err);

    /* --out: an error half-way leaves the earlier good file as it was, no temp files */
    CHECK(run("good text\n", "embed --out v.jsonl", NULL, NULL) == 0);
    char p[512];
    snprintf(p, sizeof p, "%s/v.jsonl", tmp);
    o1 = tu_slurp(p, NULL);
    CHECK(tu_count_lines(o1) == 1);
    CHECK(run("ok\nbad \xff here\n", "embed --out v.jsonl", NULL, &err) == 1);
    CHECK_CONTAINS(err, "input line 2");
    o2 = tu_slurp(p, NULL);
    CHECKF(o1 && o2 && !strcmp(o1, o2), "a failed embed changed the earlier --out file");
    free(o2), free(err);
    CHECK(run("ok\nbad \xff here\n", "embed --output-value token_embeddings --out v.jsonl", NULL, &err) == 1);
    o2 = tu_slurp(p, NULL);
    CHECKF(o1 && o2 && !strcmp(o1, o2), "a failed token_embeddings run changed the earlier --out file");
    free(o1), free(o2), free(err);
    CHECK(!leftover_temps());
    /* write errors fail the command with a message */
    CHECK(run("x\n", "embed --out /dev/full", NULL, &err) == 1);
    CHECK_CONTAINS(err, "/dev/full");
    free(err);
    CHECK(run("x\n", "embed --output-value token_embeddings --out /dev/full", NULL, &err) == 1);
    CHECK_CONTAINS(err, "/dev/full");
    free(err);
    CHECK(run("x\n", "embed --format npy --out /dev/full", NULL, &err) == 1);
    free(err);
    const char *verbs[] = {"embed", "similarity", "tokenize"};
    for (int i = 0; i < 3; i++) {
        char c[1024];
        snprintf(c, sizeof c, "echo x | '%s' %s > /dev/full 2>/dev/null", SEMSEARCH_CLI, verbs[i]);
        int st = system(c);
        CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s > /dev/full: status %d", verbs[i], st);
    }

    /* JSONL: one object per line; duplicate keys keep the last; \u0000 refused */
    CHECK(run("{\"t\": \"a\"} {\"t\": \"b\"}\n", "embed --field t", &out, &err) == 1);
    CHECK_CONTAINS(err, ":1:");
    CHECK(out && out[0] == 0);
    free(out), free(err);
    CHECK(run("{\"t\": \"first\", \"t\": \"second\"}\n", "embed --field t --truncate-dim 4", &o1, NULL) == 0);
    CHECK(run("second\n", "embed --truncate-dim 4", &o2, NULL) == 0);
    CHECKF(o1 && o2 && !strcmp(o1, o2), "duplicate key: embedded %s, Python's json keeps the last (%s)", o1, o2);
    free(o1), free(o2);
    CHECK(run("{\"t\": \"ab\\u0000cd\"}\n", "embed --field t", &out, &err) == 1);
    CHECK_CONTAINS(err, "\\u0000");
    free(out), free(err);
    CHECK(run("{\"t\": \"ab\\\\u0000cd\"}\n", "embed --field t", NULL, NULL) == 0); /* an escaped backslash is text */
    /* a blank line does not shift the line numbers of later errors */
    CHECK(run("{\"t\": \"ok\"}\n\n{\"t\": \"bad \xff\"}\n", "embed --field t", NULL, &err) == 1);
    CHECK_CONTAINS(err, "input line 3");
    free(err);

    /* NaN weights: an error naming the problem, never `nan` or 0.000000 */
    make_nan_model("nanmodel", "embeddings.LayerNorm.weight");
    CHECK(run("hello\n", "embed --model nanmodel", &out, &err) != 0);
    CHECKF(out && !strstr(out, "nan"), "embed printed %s", out);
    CHECKF(err && (strstr(err, "non-finite") || strstr(err, "NaN")), "embed said: %s", err);
    free(out), free(err);
    CHECK(run("hello\n", "embed --model nanmodel --precision int8", &out, &err) != 0);
    CHECK(out && out[0] == 0);
    free(out), free(err);
    CHECK(run("hello\n", "embed --model nanmodel --output-value token_embeddings", &out, &err) != 0);
    CHECKF(out && !strstr(out, "nan"), "embed token_embeddings printed %s", out);
    free(out), free(err);
    CHECK(run("hello\nworld\n", "similarity --model nanmodel", &out, &err) != 0);
    CHECKF(out && !strstr(out, "0.0000"), "similarity printed %s", out);
    CHECKF(err && (strstr(err, "non-finite") || strstr(err, "NaN")), "similarity said: %s", err);
    free(out), free(err);

    /* tokenize --tokens: an id without a string can no longer reach the
     * printer (the loader refuses sparse vocab ids and post-processor ids
     * outside the vocabulary, naming the file), so the output is never
     * "(null)"; the printer itself writes JSON null for such ids. */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cp -r '%s/models/bert-cased' '%s/notok' && cd '%s/notok' && "
             "sed -i 's/\"\\[CLS\\]\": *101,//; s/{\"id\": *101,[^}]*},//' tokenizer.json",
             SEMSEARCH_TESTS_DIR, tmp, tmp);
    REQUIRE(system(cmd) == 0);
    CHECK(run("hi\n", "tokenize --tokens --model notok", &out, &err) != 0);
    CHECK(out && !strstr(out, "(null)"));
    CHECKF(err && strstr(err, "tokenizer.json") && strstr(err, "30521"), "tokenize said: %s", err);
    free(out), free(err);

    /* --threads beyond a multiple of the cores is refused */
    CHECK(run("x\n", "embed --threads 1000000000", NULL, &err) == 2);
    CHECK_CONTAINS(err, "--threads 1000000000 is out of range");
    free(err);
    /* a .npy whose shape overflows the byte count is refused, not read past the heap */
    {
        const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 1), }";
        unsigned char hdr[128] = "\x93NUMPY\x01\x00";
        size_t dl = strlen(dict), pad = (64 - (10 + dl + 1) % 64) % 64;
        uint16_t hl = (uint16_t)(dl + pad + 1);
        memcpy(hdr + 8, &hl, 2);
        memcpy(hdr + 10, dict, dl);
        memset(hdr + 10 + dl, ' ', pad);
        hdr[10 + dl + pad] = '\n';
        snprintf(p, sizeof p, "%s/huge.npy", tmp);
        FILE *f = fopen(p, "wb");
        REQUIRE(f && fwrite(hdr, 1, 10 + dl + pad + 1, f) > 0 && fwrite("\0\0\0\0\0\0\0\0", 1, 8, f) == 8 && fclose(f) == 0);
        CHECK(run("", "index build huge.npy --out x.idx", NULL, &err) == 1);
        CHECK_CONTAINS(err, "too large");
        free(err);
    }

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    return TEST_REPORT();
}
