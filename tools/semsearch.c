/* semsearch.c — the CLI's main: global options, then `semsearch VERB ...` is
 * dispatched to cmd_VERB (tools/cmd_VERB.c; the list is SS_VERBS in commands.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "semsearch.h"

typedef struct verb {
    const char *name;
    int (*run)(int argc, char **argv, const cli_globals *g);
    const char *summary;
} verb;

#define SS_VERB_ROW(v, summary) {#v, cmd_##v, summary},
static const verb verbs[] = {SS_VERBS(SS_VERB_ROW)};
#undef SS_VERB_ROW

static void usage(FILE *f) {
    fprintf(f, "semsearch %s — sentence embeddings and semantic search in C\n\n", SEMSEARCH_VERSION);
    fprintf(f, "usage: semsearch [global options] VERB [options]   (semsearch VERB --help for a verb's options)\n\n"
               "global options:\n"
               "  --data DIR   data folder for collections (default: $SEMSEARCH_DATA, else ./semsearch-data)\n"
               "  --version    print the version\n"
               "  -h, --help   show this help\n\nverbs:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
}

int main(int argc, char **argv) {
    cli_globals g = {0};
    const char *env = getenv("SEMSEARCH_DATA");
    g.data_dir = env && *env ? env : "semsearch-data";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("semsearch %s\n", SEMSEARCH_VERSION);
            return 0;
        } else if (!strcmp(a, "--data") || !strncmp(a, "--data=", 7)) {
            const char *v = a[6] == '=' ? a + 7 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || !*v) {
                fprintf(stderr, "semsearch: --data needs a folder (see semsearch --help)\n");
                return 2;
            }
            g.data_dir = v;
        } else {
            fprintf(stderr, "semsearch: unknown global option %s (see semsearch --help)\n", a);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[i], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
        if (!strcmp(argv[i], verbs[v].name)) return verbs[v].run(argc - i, argv + i, &g);
    fprintf(stderr, "semsearch: unknown verb '%s'\n\n", argv[i]);
    usage(stderr);
    return 2;
}
