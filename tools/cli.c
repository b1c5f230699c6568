/* cli.c — model resolution and progress for the CLI verbs (inputs: texts.c, outputs: outfile.c). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SEMSEARCH_DEFAULT_MODEL
#define SEMSEARCH_DEFAULT_MODEL "models/all-MiniLM-L6-v2"
#endif

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
