/* `semsearch index build|query` end to end: .fvecs and .npy inputs, flat and
 * HNSW, ids = row numbers, one JSON object per query line, errors. */
#include <cjson/cJSON.h>
#include <unistd.h>

#include "idx_util.h"
#include "vecio.h"
#include "test.h"

static void write_npy(const char *path, const float *v, size_t n, int d) {
    FILE *f = fopen(path, "wb");
    char hdr[128];
    int len = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %d), }", n, d);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    uint16_t hl = (uint16_t)(len + pad + 1);
    fwrite(&hl, 2, 1, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(v, 4, n * (size_t)d, f);
    fclose(f);
}

static int run(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int main(void) {
    /* A missing CLI is a failed prerequisite, never a pass. */
    REQUIRE(access(SEMSEARCH_CLI, X_OK) == 0);
    int d = 16;
    size_t n = 600, nq = 7;
    float *base = gen_clustered(n, d, 8, 0.4f, 21), *qs = gen_clustered(nq, d, 8, 0.4f, 22);
    char dir[] = "/tmp/ss_index_cli_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char p_v[256], p_q[256], p_i[256], p_o[256], cmd[2048];
    snprintf(p_v, sizeof p_v, "%s/v.fvecs", dir);
    snprintf(p_q, sizeof p_q, "%s/q.npy", dir);
    snprintf(p_i, sizeof p_i, "%s/x.idx", dir);
    snprintf(p_o, sizeof p_o, "%s/out.jsonl", dir);
    ss_error err;
    REQUIRE(ss_write_fvecs(p_v, base, n, d, &err) == SS_OK);
    write_npy(p_q, qs, nq, d);
    const char *types[] = {"flat", "hnsw"}, *metrics[] = {"cosine", "l2"};
    for (int t = 0; t < 2; t++)
        for (int m = 0; m < 2; m++) {
            snprintf(cmd, sizeof cmd, "'%s' index build '%s' --out '%s' --type %s --metric %s --m 8 --ef-construction 50 2>/dev/null",
                     SEMSEARCH_CLI, p_v, p_i, types[t], metrics[m]);
            CHECK(run(cmd) == 0);
            snprintf(cmd, sizeof cmd, "'%s' index query '%s' '%s' -k 5 --ef 100 > '%s'", SEMSEARCH_CLI, p_i, p_q, p_o);
            CHECK(run(cmd) == 0);
            FILE *f = fopen(p_o, "r");
            REQUIRE(f);
            char line[4096];
            size_t rows = 0;
            int bad = 0;
            while (fgets(line, sizeof line, f)) {
                cJSON *j = cJSON_Parse(line);
                cJSON *ids = cJSON_GetObjectItem(j, "ids"), *sc = cJSON_GetObjectItem(j, "scores");
                CHECK(cJSON_GetArraySize(ids) == 5 && cJSON_GetArraySize(sc) == 5);
                int64_t want[5];
                double wsc[5];
                ref_search(base, n, d, NULL, NULL, m ? SS_METRIC_L2 : SS_METRIC_COSINE, qs + rows * d, 5, want, wsc);
                for (int i = 0; i < 5 && rows < nq; i++) {
                    if ((int64_t)cJSON_GetArrayItem(ids, i)->valuedouble != want[i]) bad++;
                    if (fabs(cJSON_GetArrayItem(sc, i)->valuedouble - wsc[i]) > 1e-4) bad++;
                }
                cJSON_Delete(j);
                rows++;
            }
            fclose(f);
            CHECKF(rows == nq, "%s/%s: %zu output lines for %zu queries", types[t], metrics[m], rows, nq);
            CHECKF(bad == 0, "%s/%s: %d ids/scores differ from the reference", types[t], metrics[m], bad);
        }
    /* fp16 with --rescore keeps the fp32 copy beside the fp16 codes: more bytes per vector than fp16 alone */
    double bpv[2] = {0, 0};
    for (int r = 0; r < 2; r++) {
        snprintf(cmd, sizeof cmd, "'%s' index build '%s' --out '%s' --quantize fp16 %s 2>/dev/null && '%s' index stats '%s' > '%s'",
                 SEMSEARCH_CLI, p_v, p_i, r ? "--rescore" : "", SEMSEARCH_CLI, p_i, p_o);
        CHECK(run(cmd) == 0);
        FILE *sf = fopen(p_o, "r");
        char js[1024] = {0};
        CHECK(sf && fread(js, 1, sizeof js - 1, sf) > 0);
        if (sf) fclose(sf);
        cJSON *o = cJSON_Parse(js);
        cJSON *b = cJSON_GetObjectItem(o, "bytes_per_vector");
        CHECKF(cJSON_IsNumber(b), "index stats: %s", js);
        if (cJSON_IsNumber(b)) bpv[r] = b->valuedouble;
        cJSON_Delete(o);
    }
    CHECKF(bpv[1] >= bpv[0] + 4.0 * d, "fp16 %.1f B/vector, fp16 --rescore %.1f (fp32 copy %d B)", bpv[0], bpv[1], 4 * d);
    /* quantised builds run and answer */
    snprintf(cmd, sizeof cmd, "'%s' index build '%s' --out '%s' --quantize int8 2>/dev/null && '%s' index query '%s' '%s' -k 3 > '%s'",
             SEMSEARCH_CLI, p_v, p_i, SEMSEARCH_CLI, p_i, p_q, p_o);
    CHECK(run(cmd) == 0);
    /* errors: corrupt index, dimension mismatch, bad flag */
    FILE *f = fopen(p_i, "r+b");
    fseek(f, 4000, SEEK_SET);
    fputc(0x55, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' index query '%s' '%s' -k 3 > /dev/null 2> '%s'", SEMSEARCH_CLI, p_i, p_q, p_o);
    CHECK(run(cmd) == 1);
    char msg[1024] = {0};
    f = fopen(p_o, "r");
    CHECK(fread(msg, 1, sizeof msg - 1, f) > 0);
    fclose(f);
    const char *mp = msg;
    CHECK_CONTAINS(mp, "checksum");
    snprintf(cmd, sizeof cmd, "'%s' index build '%s' --out '%s' --metric manhattan 2>/dev/null", SEMSEARCH_CLI, p_v, p_i);
    CHECK(run(cmd) == 2);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(run(cmd) == 0);
    free(base), free(qs);
    return TEST_REPORT();
}
