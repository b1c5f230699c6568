/* `models` (ss_hub_model_info) and the loader read a folder with one parser:
 * for every tiny model in tests/models/ — Dense modules included — the dim,
 * pooling, max_seq_length and Normalize flag the hub reports are those of the
 * loaded model (issue 8: the hub used to report a Dense module's out_features
 * for a folder the loader then refused). */
#include <dirent.h>

#include "semsearch.h"
#include "test.h"

#define MODELS SEMSEARCH_TESTS_DIR "/models/"

int main(void) {
    DIR *d = opendir(MODELS);
    REQUIRE(d != NULL);
    struct dirent *e;
    int n = 0, dense_seen = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char dir[1024], cfg[1200];
        snprintf(dir, sizeof dir, MODELS "%s", e->d_name);
        snprintf(cfg, sizeof cfg, "%s/config.json", dir);
        FILE *f = fopen(cfg, "rb");
        if (!f) continue;
        fclose(f);
        n++;
        ss_error err = {0};
        ss_hub_model info;
        CHECKF(ss_hub_model_info(dir, &info, &err) == SS_OK, "%s: %s", dir, err.msg);
        ss_model *m = ss_model_load(dir, NULL, &err);
        CHECKF(m != NULL, "%s: %s", dir, err.msg);
        if (m) {
            printf("  %-22s hub: dim %d pooling %s max_seq_length %d normalize %d | model: %s\n", e->d_name, info.dim,
                   info.pooling, info.max_seq_length, info.normalize, ss_model_describe(m));
            CHECKF(info.dim == ss_model_dim(m), "%s: hub dim %d, model dim %d", e->d_name, info.dim, ss_model_dim(m));
            CHECKF(info.max_seq_length == ss_model_max_seq_length(m), "%s: max_seq_length %d vs %d", e->d_name,
                   info.max_seq_length, ss_model_max_seq_length(m));
            CHECK(info.normalize == ss_model_normalizes(m));
            char want[160];
            snprintf(want, sizeof want, "pooling %s;", info.pooling);
            CHECK_CONTAINS(ss_model_describe(m), want);
            if (strstr(e->d_name, "dense")) {
                dense_seen++;
                CHECK(info.dim == 16);
            }
        }
        ss_model_free(m);
        ss_hub_model_clear(&info);
    }
    closedir(d);
    CHECKF(n >= 10 && dense_seen == 1, "%d models, %d with Dense", n, dense_seen);
    return TEST_REPORT();
}
