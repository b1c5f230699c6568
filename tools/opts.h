/* opts.h — the one option parser of every CLI verb.
 *
 * A verb describes its options in a table and calls cli_parse once:
 *
 *     int cmd_frob(int argc, char **argv, const cli_globals *g) {
 *         const char *model = NULL;
 *         int k = 10, verbose = 0;
 *         const cli_opt opts[] = {
 *             {"model", 0, CLI_STRING, &model, "DIR", "model folder"},
 *             {"k", 'k', CLI_INT, &k, "K", "results per query", .lo = 1, .hi = 10000},
 *             {"verbose", 'v', CLI_FLAG, &verbose, NULL, "say more"},
 *             {0}};
 *         const cli_spec spec = {"frob", "[options] INPUT", "frobs INPUT", opts, 1, 1};
 *         char **pos;
 *         int np = cli_parse(&spec, argc, argv, &pos);
 *         if (np < 0) return cli_exit_code(np);   // --help printed (0) or a usage error (2)
 *         ... pos[0] is INPUT ...
 *         free(pos);
 *     }
 *
 * Accepted: `--name value`, `--name=value`, `-k value`, `-kvalue`, flags, `--`
 * (everything after it is positional), "-" as a positional (stdin). Errors —
 * unknown options, a missing value, a value for a flag, a number out of range
 * (the message names the flag and the range), too few or too many positional
 * arguments — print "semsearch VERB: ... (see semsearch VERB --help)" on stderr
 * and return CLI_USAGE_ERROR. `-h` / `--help` prints the generated help on
 * stdout and returns CLI_HELP.
 *
 * Adding a flag to a verb: one row in its table. Adding a verb: one line in
 * SS_VERBS (commands.h) and a tools/cmd_<verb>.c defining cmd_<verb>.
 * Not thread-safe, and not meant to be: it runs once at the start of main. */
#ifndef SS_TOOLS_OPTS_H
#define SS_TOOLS_OPTS_H

#include <stdio.h>

typedef enum cli_type {
    CLI_FLAG,   /* no value; *(int *)dest = 1 */
    CLI_SET,    /* no value; *(int *)dest = .set (e.g. --no-normalize stores -1) */
    CLI_INT,    /* *(int *)dest, range .lo..hi (both 0: 0..1e9; .hi = CLI_THREADS: a thread count) */
    CLI_FLOAT,  /* *(double *)dest, finite, range .flo..fhi when they differ */
    CLI_STRING, /* *(const char **)dest = the argument (points into argv) */
} cli_type;

/* .hi for a thread count: 0 (= all cores) up to CLI_THREADS_PER_CORE x the online cores. */
#define CLI_THREADS (-1)
#define CLI_THREADS_PER_CORE 8

typedef struct cli_opt {
    const char *name;    /* long name without "--"; NULL ends the table */
    char short_name;     /* one-letter alias (-k), or 0 */
    cli_type type;
    void *dest;
    const char *metavar; /* value placeholder in --help ("DIR", "N"); NULL for flags */
    const char *help;    /* one line; NULL hides the option from --help (an alias) */
    long lo, hi;         /* CLI_INT range */
    double flo, fhi;     /* CLI_FLOAT range */
    int set;             /* CLI_SET value */
} cli_opt;

typedef struct cli_spec {
    const char *verb;        /* "embed", "index build": used in messages and help */
    const char *usage;       /* after "usage: semsearch VERB ", e.g. "[options] [INPUT]" */
    const char *description; /* lines printed under the usage line (may be NULL) */
    const cli_opt *opts;     /* ends with {0} */
    int min_pos, max_pos;    /* positional argument count; max_pos < 0: no limit */
    const char *epilog;      /* printed after the options (may be NULL) */
} cli_spec;

#define CLI_HELP (-1)
#define CLI_USAGE_ERROR (-2)

/* Parse argv[1..argc) (argv[0] is the verb). On success returns the number of
 * positional arguments and sets *pos to a malloc'd array of them (free it);
 * else CLI_HELP or CLI_USAGE_ERROR, *pos = NULL. */
int cli_parse(const cli_spec *s, int argc, char **argv, char ***pos);
static inline int cli_exit_code(int parse_result) { return parse_result == CLI_HELP ? 0 : 2; }

/* Print the generated help to f. */
void cli_help(const cli_spec *s, FILE *f);

/* A usage error after parsing (a bad --format value, say): prints
 * "semsearch VERB: MESSAGE (see semsearch VERB --help)" and returns 2. */
int cli_usage_error(const cli_spec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The largest --threads value accepted. */
int cli_max_threads(void);

#endif
