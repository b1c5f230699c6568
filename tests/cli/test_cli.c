/* The CLI contract outside checks rely on: `semsearch embed` reads one text
 * per line on stdin and writes one JSON array of floats per line (equal to
 * the library's vectors); `tokenize` prints one JSON array of ids per line;
 * .npy / .fvecs outputs are well-formed; JSONL input with --field; errors
 * name the input line; option flags mirror sentence-transformers' names. */
#include <stdint.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "semsearch.h"
#include "test.h"

static char tmp[256];

/* Run `printf input | CLI args > out 2> err`; returns the exit status. */
static int run(const char *input, const char *args, char **out, char **errtext) {
    char in_path[300], out_path[300], err_path[300], cmd[4096];
    snprintf(in_path, sizeof in_path, "%s/in.txt", tmp);
    snprintf(out_path, sizeof out_path, "%s/out", tmp);
    snprintf(err_path, sizeof err_path, "%s/err", tmp);
    FILE *f = fopen(in_path, "wb");
    fputs(input, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' %s < '%s' > '%s' 2> '%s'", SEMSEARCH_CLI, args, in_path, out_path, err_path);
    int st = system(cmd);
    const char *paths[2] = {out_path, err_path};
    char **dst[2] = {out, errtext};
    for (int i = 0; i < 2; i++) {
        if (!dst[i]) continue;
        FILE *r = fopen(paths[i], "rb");
        fseek(r, 0, SEEK_END);
        long n = ftell(r);
        fseek(r, 0, SEEK_SET);
        *dst[i] = malloc((size_t)n + 1);
        size_t got = fread(*dst[i], 1, (size_t)n, r);
        (*dst[i])[got] = 0;
        fclose(r);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

int main(void) {
    REQUIRE(access(SEMSEARCH_CLI, X_OK) == 0); /* a missing CLI fails the test */
    snprintf(tmp, sizeof tmp, "/tmp/semsearch-cli-XXXXXX");
    REQUIRE(mkdtemp(tmp) != NULL);
    ss_error err;
    ss_model *m = ss_model_load(SEMSEARCH_MODEL_DIR, NULL, &err);
    REQUIRE(m != NULL);
    const char *texts[] = {"What is AI?", "Artificial Intelligence aims to build machines.", ""};
    float ref[3 * 384];
    REQUIRE(ss_encode(m, texts, 3, NULL, ref, &err) == SS_OK);

    char *out = NULL, *e = NULL;
    /* embed: JSONL arrays equal to the library's output */
    CHECK(run("What is AI?\nArtificial Intelligence aims to build machines.\n\n", "embed", &out, &e) == 0);
    CHECK(count_lines(out) == 3);
    char *line = out;
    for (int i = 0; i < 3 && line; i++) {
        char *nl = strchr(line, '\n');
        *nl = 0;
        cJSON *a = cJSON_Parse(line);
        CHECKF(cJSON_IsArray(a) && cJSON_GetArraySize(a) == 384, "line %d is not a 384-float array", i + 1);
        double maxd = 0;
        for (int j = 0; j < 384 && a; j++) {
            double d = fabs(cJSON_GetArrayItem(a, j)->valuedouble - ref[i * 384 + j]);
            if (d > maxd) maxd = d;
        }
        CHECKF(maxd < 1e-7, "line %d differs from the library by %g", i + 1, maxd);
        cJSON_Delete(a);
        line = nl + 1;
    }
    free(out);
    free(e);

    /* tokenize: one JSON array of ids per line; --tokens adds the pieces. The
     * expected ids and tokens are sentence-transformers' (tests/golden/cli_tokenize.json,
     * tools/reference/make_cli_goldens.py). */
    FILE *gf = fopen(SEMSEARCH_TESTS_DIR "/golden/cli_tokenize.json", "rb");
    REQUIRE(gf != NULL);
    static char gtext[1 << 16];
    size_t glen = fread(gtext, 1, sizeof gtext - 1, gf);
    fclose(gf);
    gtext[glen] = 0;
    cJSON *gold = cJSON_Parse(gtext);
    REQUIRE(cJSON_IsArray(gold) && cJSON_GetArraySize(gold) >= 3);
    int row_i = 0;
    for (const cJSON *row = gold->child; row; row = row->next, row_i++) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(row, "text");
        const cJSON *msl = cJSON_GetObjectItemCaseSensitive(row, "max_seq_length");
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(row, "input_ids");
        const cJSON *toks = cJSON_GetObjectItemCaseSensitive(row, "tokens");
        REQUIRE(cJSON_IsString(text) && cJSON_IsArray(ids) && cJSON_IsArray(toks));
        char input[512], targs[64], want[1024];
        snprintf(input, sizeof input, "%s\n", text->valuestring);
        if (cJSON_IsNumber(msl)) snprintf(targs, sizeof targs, "tokenize --max-seq-length %d", msl->valueint);
        else snprintf(targs, sizeof targs, "tokenize");
        size_t wl = 0;
        want[wl++] = '[';
        for (const cJSON *id = ids->child; id; id = id->next)
            wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%d", id == ids->child ? "" : ", ", id->valueint);
        snprintf(want + wl, sizeof want - wl, "]\n");
        CHECK(run(input, targs, &out, NULL) == 0);
        CHECKF(!strcmp(out, want), "golden row %d: tokenize printed %s, reference %s", row_i, out, want);
        free(out);
        strncat(targs, " --tokens", sizeof targs - strlen(targs) - 1);
        CHECK(run(input, targs, &out, NULL) == 0);
        cJSON *o = cJSON_Parse(out);
        const cJSON *got = cJSON_GetObjectItemCaseSensitive(o, "tokens");
        int same = cJSON_IsArray(got) && cJSON_GetArraySize(got) == cJSON_GetArraySize(toks);
        for (int t = 0; same && t < cJSON_GetArraySize(toks); t++)
            same = cJSON_IsString(cJSON_GetArrayItem(got, t)) &&
                   !strcmp(cJSON_GetArrayItem(got, t)->valuestring, cJSON_GetArrayItem(toks, t)->valuestring);
        CHECKF(same, "golden row %d: tokenize --tokens printed %s", row_i, out);
        cJSON_Delete(o);
        free(out);
    }
    cJSON_Delete(gold);
    /* several lines in one run: one array per line, in order */
    CHECK(run("What is AI?\nCaf\xc3\xa9\n", "tokenize", &out, NULL) == 0);
    CHECK(count_lines(out) == 2);
    free(out);

    /* JSONL input with --field; npy and fvecs outputs */
    char args[600];
    snprintf(args, sizeof args, "embed --field text --format npy --out %s/v.npy", tmp);
    CHECK(run("{\"text\": \"What is AI?\", \"id\": 1}\n{\"id\": 2, \"text\": \"Artificial Intelligence aims to build machines.\"}\n",
              args, NULL, &e) == 0);
    free(e);
    snprintf(args, sizeof args, "%s/v.npy", tmp);
    FILE *f = fopen(args, "rb");
    REQUIRE(f != NULL);
    unsigned char hdr[128];
    CHECK(fread(hdr, 1, 128, f) == 128);
    CHECK(memcmp(hdr, "\x93NUMPY\x01\x00", 8) == 0);
    CHECK(hdr[8] + 256 * hdr[9] + 10 == 128); /* 64-byte aligned header */
    CHECK(strstr((char *)hdr + 10, "'shape': (2, 384)") != NULL);
    float v[384];
    CHECK(fread(v, 4, 384, f) == 384);
    CHECK(fabsf(v[0] - ref[0]) < 1e-7 && fabsf(v[383] - ref[383]) < 1e-7);
    fclose(f);
    snprintf(args, sizeof args, "embed --format fvecs --out %s/v.fvecs", tmp);
    CHECK(run("What is AI?\n", args, NULL, NULL) == 0);
    snprintf(args, sizeof args, "%s/v.fvecs", tmp);
    f = fopen(args, "rb");
    int32_t dim = 0;
    CHECK(f && fread(&dim, 4, 1, f) == 1 && dim == 384);
    CHECK(fread(v, 4, 384, f) == 384 && fabsf(v[5] - ref[5]) < 1e-7);
    CHECK(fgetc(f) == EOF);
    fclose(f);

    /* options */
    CHECK(run("What is AI?\n", "embed --truncate-dim 8", &out, NULL) == 0);
    cJSON *a = cJSON_Parse(out);
    CHECK(cJSON_GetArraySize(a) == 8 && fabs(cJSON_GetArrayItem(a, 7)->valuedouble - ref[7]) < 1e-7);
    cJSON_Delete(a);
    free(out);
    CHECK(run("What is AI?\n", "embed --precision ubinary", &out, NULL) == 0);
    a = cJSON_Parse(out);
    CHECK(cJSON_GetArraySize(a) == 48);
    int byte0 = 0;
    for (int j = 0; j < 8; j++) byte0 |= (ref[j] > 0) << (7 - j);
    CHECK(cJSON_GetArrayItem(a, 0)->valueint == byte0);
    cJSON_Delete(a);
    free(out);
    CHECK(run("What is AI?\n", "embed --output-value token_embeddings", &out, NULL) == 0);
    a = cJSON_Parse(out);
    CHECK(cJSON_GetArraySize(a) == 6 && cJSON_GetArraySize(cJSON_GetArrayItem(a, 0)) == 384);
    cJSON_Delete(a);
    free(out);

    /* similarity: a 2x2 matrix with ones on the diagonal */
    CHECK(run("What is AI?\nArtificial Intelligence aims to build machines.\n", "similarity --json", &out, NULL) == 0);
    a = cJSON_Parse(out);
    CHECK(cJSON_GetArraySize(a) == 2);
    CHECK(fabs(cJSON_GetArrayItem(cJSON_GetArrayItem(a, 0), 0)->valuedouble - 1) < 1e-5);
    double c01 = cJSON_GetArrayItem(cJSON_GetArrayItem(a, 0), 1)->valuedouble;
    CHECK(fabs(c01 - ss_cosine(ref, ref + 384, 384)) < 1e-5);
    cJSON_Delete(a);
    free(out);

    /* errors name the input line */
    CHECK(run("fine\nfine too\nbad \xff here\n", "embed", &out, &e) == 1);
    CHECK_CONTAINS(e, "input line 3");
    CHECK_CONTAINS(e, "invalid UTF-8");
    free(out);
    free(e);
    CHECK(run("{\"text\": \"ok\"}\n{\"body\": \"no text field\"}\n", "embed --field text", &out, &e) == 1);
    CHECK_CONTAINS(e, ":2:");
    free(out);
    free(e);
    CHECK(run("x\n", "embed --model /nonexistent/dir", &out, &e) == 1);
    CHECK_CONTAINS(e, "/nonexistent/dir does not exist");
    free(out);
    free(e);
    CHECK(run("x\n", "embed --precision float16", &out, &e) == 2);
    CHECK_CONTAINS(e, "--precision");
    free(out);
    free(e);
    /* empty input: no vectors, no error */
    CHECK(run("", "embed", &out, &e) == 0);
    CHECK(out[0] == 0);
    free(out);
    free(e);

    ss_model_free(m);
    snprintf(args, sizeof args, "rm -rf '%s'", tmp);
    CHECK(system(args) == 0);
    return TEST_REPORT();
}
