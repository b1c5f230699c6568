/* cmd_models.c — `semsearch models`: the model folders in the cache, with
 * embedding size, pooling, max_seq_length and size on disk. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "opts.h"
#include "semsearch.h"

static void human(uint64_t n, char *buf, size_t cap) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static int print_json(const char *cache, const ss_hub_model *m, int n) {
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "models") : NULL;
    if (!arr) {
        cJSON_Delete(root);
        fprintf(stderr, "semsearch models: out of memory\n");
        return 1;
    }
    cJSON_AddStringToObject(root, "cache_dir", cache);
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cJSON_AddStringToObject(o, "name", m[i].name);
        cJSON_AddStringToObject(o, "revision", m[i].revision);
        cJSON_AddStringToObject(o, "commit", m[i].commit);
        cJSON_AddStringToObject(o, "path", m[i].path);
        cJSON_AddNumberToObject(o, "dim", m[i].dim);
        cJSON_AddStringToObject(o, "pooling", m[i].pooling);
        cJSON_AddNumberToObject(o, "max_seq_length", m[i].max_seq_length);
        cJSON_AddBoolToObject(o, "normalize", m[i].normalize);
        cJSON_AddNumberToObject(o, "size_bytes", (double)m[i].size_bytes);
        cJSON_AddBoolToObject(o, "complete", m[i].complete);
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "semsearch models: out of memory\n");
        return 1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

int cmd_models(int argc, char **argv, const cli_globals *g) {
    (void)g;
    ss_hub_options o;
    memset(&o, 0, sizeof o);
    int json = 0;
    const cli_opt opts[] = {
        {"json", 0, CLI_FLAG, &json, NULL, "one JSON object: {\"cache_dir\": ..., \"models\": [{...}, ...]}"},
        {"cache", 0, CLI_STRING, &o.cache_dir, "DIR", "cache folder (default: $HF_HOME/semsearch/models)"},
        {0}};
    const cli_spec spec = {"models", "[--json] [--cache DIR]",
                           "  lists the cached models (semsearch pull): name, embedding dims, pooling,\n"
                           "  max_seq_length, size on disk and folder",
                           opts, 0, 0, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    free(pos);
    ss_error err;
    char cache[4096];
    if (ss_hub_cache_dir(&o, cache, sizeof cache, &err) != SS_OK) {
        fprintf(stderr, "semsearch models: %s\n", err.msg);
        return 1;
    }
    ss_hub_model *m = NULL;
    int n = ss_hub_list(&o, &m, &err);
    if (n < 0) {
        fprintf(stderr, "semsearch models: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (json) {
        rc = print_json(cache, m, n);
    } else if (n == 0) {
        fprintf(stderr, "no models in %s (semsearch pull ORG/NAME downloads one)\n", cache);
    } else {
        int w = 4, incomplete = 0;
        char (*names)[320] = malloc((size_t)n * sizeof *names);
        if (!names) {
            ss_hub_list_free(m, n);
            fprintf(stderr, "semsearch models: out of memory\n");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            snprintf(names[i], sizeof names[i], "%s%s%s%s", m[i].name,
                     strcmp(m[i].revision, "main") ? "@" : "",
                     strcmp(m[i].revision, "main") ? m[i].revision : "", m[i].complete ? "" : " *");
            int l = (int)strlen(names[i]);
            if (l > w) w = l;
            incomplete |= !m[i].complete;
        }
        printf("%-*s  %5s  %-14s  %7s  %10s  %s\n", w, "NAME", "DIM", "POOLING", "MAX_SEQ", "SIZE",
               "PATH");
        for (int i = 0; i < n; i++) {
            char dim[16], msl[16], size[32], pool[64];
            snprintf(dim, sizeof dim, "%d", m[i].dim);
            snprintf(msl, sizeof msl, "%d", m[i].max_seq_length);
            if (!m[i].dim) strcpy(dim, "?");
            if (!m[i].max_seq_length) strcpy(msl, "?");
            snprintf(pool, sizeof pool, "%s%s", m[i].pooling[0] ? m[i].pooling : "?",
                     m[i].normalize ? "+norm" : "");
            human(m[i].size_bytes, size, sizeof size);
            printf("%-*s  %5s  %-14s  %7s  %10s  %s\n", w, names[i], dim, pool, msl, size, m[i].path);
        }
        if (incomplete) printf("* incomplete download: run semsearch pull again to finish it\n");
        free(names);
    }
    ss_hub_list_free(m, n);
    return rc;
}
