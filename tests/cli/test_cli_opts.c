/* The shared option parser (tools/opts.c): --flag value, --flag=value, short
 * aliases, --, positionals, unknown options, missing values, int/float ranges,
 * thread caps, generated --help; and the global options before the verb. */
#include <unistd.h>

#include "opts.h"
#include "test.h"

static const char *s_model;
static int s_k, s_flag, s_set, s_threads;
static double s_f;

static const cli_opt opts[] = {
    {"model", 'm', CLI_STRING, &s_model, "DIR", "model folder"},
    {"k", 'k', CLI_INT, &s_k, "K", "results", .lo = 1, .hi = 100},
    {"flag", 0, CLI_FLAG, &s_flag, NULL, "a flag"},
    {"no-thing", 0, CLI_SET, &s_set, NULL, "sets -1", .set = -1},
    {"ratio", 0, CLI_FLOAT, &s_f, "X", "a ratio", .flo = 0, .fhi = 1},
    {"threads", 0, CLI_INT, &s_threads, "N", "threads", .hi = CLI_THREADS},
    {"hidden", 0, CLI_FLAG, &s_flag, NULL, NULL},
    {0}};
static const cli_spec spec = {"frob", "[options] A [B]", "  frobs A", opts, 1, 2, "epilog line"};

/* Parse a space-separated command line; returns cli_parse's result, *first the first positional. */
static int parse(const char *line, char **first, int *npos) {
    static char buf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "frob %s", line);
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " ")) argv[argc++] = t;
    s_model = NULL, s_k = 0, s_flag = 0, s_set = 0, s_f = 0, s_threads = 0;
    char **pos = NULL;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (first) *first = np > 0 ? pos[0] : NULL;
    if (npos) *npos = np;
    free(pos);
    return np;
}

/* stderr of one parse, captured in a temp file. */
static char errbuf[4096];
static int parse_err(const char *line) {
    fflush(stderr);
    int saved = dup(2);
    FILE *t = tmpfile();
    dup2(fileno(t), 2);
    int r = parse(line, NULL, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(t);
    size_t n = fread(errbuf, 1, sizeof errbuf - 1, t);
    errbuf[n] = 0;
    fclose(t);
    return r;
}

static int cli(const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1 </dev/null", SEMSEARCH_CLI, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) {
    REQUIRE(access(SEMSEARCH_CLI, X_OK) == 0); /* a missing CLI fails the test */
    char *first;
    int np;
    CHECK(parse("--model dir -k 5 --flag a", &first, &np) == 1);
    CHECK(s_model && !strcmp(s_model, "dir") && s_k == 5 && s_flag == 1 && first && !strcmp(first, "a"));
    CHECK(parse("--model=x=y --k=7 a b", &first, &np) == 2);
    CHECK(s_model && !strcmp(s_model, "x=y") && s_k == 7);
    CHECK(parse("-mdir -k9 a", &first, &np) == 1 && s_model && !strcmp(s_model, "dir") && s_k == 9);
    CHECK(parse("--no-thing --ratio 0.25 a", NULL, NULL) == 1 && s_set == -1 && s_f == 0.25);
    CHECK(parse("--hidden a", NULL, NULL) == 1 && s_flag == 1);
    /* -- ends the options; "-" is a positional (stdin) */
    CHECK(parse("a -- --flag", &first, &np) == 2 && s_flag == 0);
    CHECK(parse("-", &first, &np) == 1 && first && !strcmp(first, "-"));
    /* errors: each names the option and points at --help */
    CHECK(parse_err("--foo a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "semsearch frob: unknown option --foo (see semsearch frob --help)");
    CHECK(parse_err("--foo=1 a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "unknown option --foo ");
    CHECK(parse_err("-x a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "unknown option -x");
    CHECK(parse_err("a --model") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "--model needs a value");
    CHECK(parse_err("--flag=1 a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "--flag takes no value");
    CHECK(parse_err("-k 0 a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "-k expects an integer in 1..100, got '0'");
    CHECK(parse_err("--k 101 a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "--k expects an integer in 1..100");
    CHECK(parse_err("--k 5x a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "--k expects an integer, got '5x'");
    CHECK(parse_err("--k 99999999999999999999 a") == CLI_USAGE_ERROR);
    CHECK(parse_err("--ratio 2 a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "--ratio expects a number in 0..1");
    CHECK(parse_err("--ratio nan a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "finite");
    CHECK(parse_err("") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "missing argument");
    CHECK(parse_err("a b c") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "unexpected argument 'c'");
    /* --threads: 0 (all cores) up to a multiple of the cores */
    char line[64];
    snprintf(line, sizeof line, "--threads %d a", cli_max_threads());
    CHECK(parse(line, NULL, NULL) == 1 && s_threads == cli_max_threads());
    CHECK(parse_err("--threads 1000000000 a") == CLI_USAGE_ERROR);
    CHECK_CONTAINS(errbuf, "--threads 1000000000 is out of range");
    CHECK_CONTAINS(errbuf, "online cores");
    /* generated help: every visible option, aliases hidden */
    FILE *h = tmpfile();
    cli_help(&spec, h);
    rewind(h);
    char help[4096];
    size_t n = fread(help, 1, sizeof help - 1, h);
    help[n] = 0;
    fclose(h);
    CHECK_CONTAINS(help, "usage: semsearch frob [options] A [B]");
    CHECK_CONTAINS(help, "-m, --model DIR");
    CHECK_CONTAINS(help, "--ratio X");
    CHECK_CONTAINS(help, "-h, --help");
    CHECK_CONTAINS(help, "epilog line");
    CHECK(strstr(help, "hidden") == NULL);

    /* the real CLI: every verb answers --help with 0 and an unknown option with 2 */
    const char *verbs[] = {"embed", "similarity", "tokenize", "demo", "pull", "models", "index build", "index query",
                           "index stats", "index"};
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        char a[128];
        snprintf(a, sizeof a, "%s --help", verbs[i]);
        CHECKF(cli(a) == 0, "semsearch %s", a);
        snprintf(a, sizeof a, "%s --no-such-flag", verbs[i]);
        if (strcmp(verbs[i], "index")) CHECKF(cli(a) == 2, "semsearch %s", a);
    }
    /* global options come before the verb */
    CHECK(cli("--data /tmp/x --help") == 0);
    CHECK(cli("--data=/tmp/x embed --help") == 0);
    CHECK(cli("--data") == 2);
    CHECK(cli("--bogus embed") == 2);
    CHECK(cli("") == 2);
    CHECK(cli("no-such-verb") == 2);
    return TEST_REPORT();
}
