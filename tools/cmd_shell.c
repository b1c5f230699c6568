/* cmd_shell.c — `semsearch shell COLLECTION`: an interactive prompt for
 * exploring a corpus. A line is a query; lines starting with ':' set options
 * (:mode, :k, :where, :similar ID, :get ID, :help, :quit). libedit gives line
 * editing and history when it is there; otherwise plain stdin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef SEMSEARCH_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "commands.h"
#include "opts.h"
#include "store_cli.h"

static char *read_input(const char *prompt, int tty) {
#ifdef SEMSEARCH_HAVE_LIBEDIT
    if (tty) {
        char *l = readline(prompt);
        if (l && *l) add_history(l);
        return l;
    }
#endif
    if (tty) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    return line;
}

static void show(ss_results *r, ss_error *err, int json) {
    if (!r) {
        printf("error: %s\n", err->msg);
        return;
    }
    for (size_t i = 0; i < ss_results_count(r); i++) store_cli_print_hit(stdout, r, i, json);
    if (!ss_results_count(r)) puts("(no hits)");
    ss_results_free(r);
}

int cmd_shell(int argc, char **argv, const cli_globals *g) {
    const char *model = NULL;
    int json = 0;
    const cli_opt opts[] = {{"model", 0, CLI_STRING, &model, "DIR", "model folder (must be the collection's)"},
                            {"json", 0, CLI_FLAG, &json, NULL, "print hits as JSON objects"},
                            {0}};
    const cli_spec spec = {"shell", "[options] COLLECTION",
                           "  interactive search: type a query; :help lists the commands", opts, 1, 1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    ss_collection *c = store_cli_open(g, "shell", pos[0], 0, model);
    free(pos);
    if (!c) return 1;
    int tty = isatty(0);
    if (tty) printf("%s\n:help for commands\n", ss_collection_describe(c));
    ss_query q = {.k = 5};
    char where[1024] = "";
    char *line;
    while ((line = read_input("semsearch> ", tty))) {
        ss_error err;
        char *s = line + strspn(line, " \t");
        if (!*s) {
            free(line);
            continue;
        }
        if (*s == ':') {
            char *arg = s + strcspn(s, " \t");
            if (*arg) *arg++ = '\0';
            arg += strspn(arg, " \t");
            if (!strcmp(s, ":quit") || !strcmp(s, ":q")) {
                free(line);
                break;
            } else if (!strcmp(s, ":mode") && store_cli_mode(arg) >= 0) q.mode = (ss_search_mode)store_cli_mode(arg);
            else if (!strcmp(s, ":k") && atoi(arg) > 0) q.k = atoi(arg);
            else if (!strcmp(s, ":where")) snprintf(where, sizeof where, "%s", arg);
            else if (!strcmp(s, ":similar")) {
                ss_query sq = q;
                sq.where = *where ? where : NULL;
                show(ss_collection_similar(c, arg, &sq, &err), &err, json);
            } else if (!strcmp(s, ":get")) show(ss_collection_get(c, arg, &err), &err, 1);
            else if (!strcmp(s, ":count")) printf("%lld documents\n", (long long)ss_collection_count(c));
            else
                puts(":mode vector|bm25|hybrid|linear   :k N   :where EXPR (empty: none)   :similar ID   :get ID   "
                     ":count   :quit");
        } else {
            q.text = s;
            q.where = *where ? where : NULL;
            show(ss_collection_search(c, &q, &err), &err, json);
        }
        free(line);
    }
    ss_collection_close(c, NULL);
    return 0;
}
