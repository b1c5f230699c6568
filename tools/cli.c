/* cli.c — inputs, model resolution and progress for the CLI verbs. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#ifndef SEMSEARCH_DEFAULT_MODEL
#define SEMSEARCH_DEFAULT_MODEL "models/all-MiniLM-L6-v2"
#endif

static int push(cli_texts *t, char *s, size_t *cap) {
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        char **nt = realloc(t->texts, nc * sizeof *nt);
        if (!nt) return -1;
        t->texts = nt;
        *cap = nc;
    }
    t->texts[t->n++] = s;
    return 0;
}

int cli_read_texts(const char *path, const char *field, cli_texts *out) {
    memset(out, 0, sizeof *out);
    FILE *f = (!path || !strcmp(path, "-")) ? stdin : fopen(path, "rb");
    const char *name = (!path || !strcmp(path, "-")) ? "<stdin>" : path;
    if (!f) {
        fprintf(stderr, "semsearch: cannot open input %s\n", name);
        return -1;
    }
    char *line = NULL;
    size_t lcap = 0, cap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (memchr(line, '\0', (size_t)len)) {
            fprintf(stderr, "semsearch: %s:%zu: line contains a NUL byte\n", name, lineno);
            rc = -1;
            break;
        }
        char *text;
        if (field) {
            if (len == 0) continue; /* blank lines between JSON objects */
            cJSON *j = cJSON_ParseWithLength(line, (size_t)len);
            const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, field) : NULL;
            if (!j || !cJSON_IsString(v)) {
                fprintf(stderr, "semsearch: %s:%zu: %s\n", name, lineno,
                        !j ? "not a valid JSON object" : "no string field with the requested name");
                fprintf(stderr, "  (expected {\"%s\": \"text\", ...} on every line)\n", field);
                cJSON_Delete(j);
                rc = -1;
                break;
            }
            text = strdup(v->valuestring);
            cJSON_Delete(j);
        } else {
            text = strdup(line);
        }
        if (!text || push(out, text, &cap) != 0) {
            free(text);
            fprintf(stderr, "semsearch: out of memory reading %s\n", name);
            rc = -1;
            break;
        }
    }
    free(line);
    if (f != stdin) fclose(f);
    if (rc != 0) cli_texts_free(out);
    return rc;
}

void cli_texts_free(cli_texts *t) {
    for (size_t i = 0; i < t->n; i++) free(t->texts[i]);
    free(t->texts);
    memset(t, 0, sizeof *t);
}

const char *cli_model_dir(const char *flag) {
    if (flag) {
        /* Not a folder but "ORG/NAME" that `semsearch pull` has cached: use the cache. */
        static char cached[4096]; /* the CLI's one resolved model path */
        if (access(flag, F_OK) != 0 && strchr(flag, '/') && flag[0] != '/' && flag[0] != '.' &&
            ss_hub_model_dir(flag, NULL, cached, sizeof cached, NULL) == SS_OK && access(cached, F_OK) == 0)
            return cached;
        return flag;
    }
    const char *env = getenv("SEMSEARCH_MODEL");
    if (env && *env) return env;
    if (access(SEMSEARCH_DEFAULT_MODEL, F_OK) == 0) return SEMSEARCH_DEFAULT_MODEL;
    return "models/all-MiniLM-L6-v2";
}

ss_model *cli_load_model(const char *flag, int threads, int max_seq_length) {
    ss_error err;
    ss_model_options o = {.n_threads = threads, .max_seq_length = max_seq_length};
    ss_model *m = ss_model_load(cli_model_dir(flag), &o, &err);
    if (!m) fprintf(stderr, "semsearch: %s\n", err.msg);
    return m;
}

void cli_progress_init(cli_progress *p, const char *label, size_t total) {
    p->label = label;
    p->enabled = isatty(2) && total >= 64;
}

void cli_progress_cb(void *user, size_t done, size_t total) {
    cli_progress *p = user;
    if (!p->enabled) return;
    int width = 40, fill = (int)(done * (size_t)width / (total ? total : 1));
    fprintf(stderr, "\r%s [", p->label);
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %zu/%zu", done, total);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}
