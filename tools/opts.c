/* opts.c — the table-driven option parser shared by every verb (see opts.h). */
#include "opts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"

int cli_max_threads(void) {
    int n = ss_online_cpus();
    return (n > 0 ? n : 1) * CLI_THREADS_PER_CORE;
}

int cli_usage_error(const cli_spec *s, const char *fmt, ...) {
    fprintf(stderr, "semsearch %s: ", s->verb);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see semsearch %s --help)\n", s->verb);
    return 2;
}

void cli_help(const cli_spec *s, FILE *f) {
    fprintf(f, "usage: semsearch %s %s\n", s->verb, s->usage ? s->usage : "[options]");
    if (s->description) fprintf(f, "%s%s", s->description, s->description[strlen(s->description) - 1] == '\n' ? "" : "\n");
    fprintf(f, "options:\n");
    for (const cli_opt *o = s->opts; o && o->name; o++) {
        if (!o->help) continue;
        char left[96];
        int n = o->short_name ? snprintf(left, sizeof left, "  -%c, --%s", o->short_name, o->name)
                              : snprintf(left, sizeof left, "  --%s", o->name);
        if (o->metavar && n > 0 && (size_t)n < sizeof left) snprintf(left + n, sizeof left - (size_t)n, " %s", o->metavar);
        fprintf(f, "%-26s %s\n", left, o->help);
    }
    fprintf(f, "%-26s %s\n", "  -h, --help", "show this help");
    if (s->epilog) fprintf(f, "%s%s", s->epilog, s->epilog[strlen(s->epilog) - 1] == '\n' ? "" : "\n");
}

/* How the user spelled the option, for messages: "--name" or "-k". */
static void spelled(const cli_opt *o, int as_short, char *buf, size_t cap) {
    if (as_short) snprintf(buf, cap, "-%c", o->short_name);
    else snprintf(buf, cap, "--%s", o->name);
}

static int store(const cli_spec *s, const cli_opt *o, const char *flag, const char *v) {
    switch (o->type) {
    case CLI_STRING:
        *(const char **)o->dest = v;
        return 0;
    case CLI_INT: {
        long lo = o->lo, hi = o->hi;
        if (hi == CLI_THREADS) hi = cli_max_threads();
        else if (lo == 0 && hi == 0) hi = 1000000000L;
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (!*v || *v == ' ' || *end || errno == ERANGE)
            return cli_usage_error(s, "%s expects an integer, got '%s'", flag, v);
        if (x < lo || x > hi) {
            if (o->hi == CLI_THREADS)
                return cli_usage_error(s, "%s %s is out of range: 0 (all cores) to %ld (%d x the %d online cores)", flag, v,
                                       hi, CLI_THREADS_PER_CORE, (int)(hi / CLI_THREADS_PER_CORE));
            return cli_usage_error(s, "%s expects an integer in %ld..%ld, got '%s'", flag, lo, hi, v);
        }
        *(int *)o->dest = (int)x;
        return 0;
    }
    case CLI_FLOAT: {
        char *end;
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *v == ' ' || *end || errno == ERANGE || !isfinite(x))
            return cli_usage_error(s, "%s expects a finite number, got '%s'", flag, v);
        if (o->flo < o->fhi && (x < o->flo || x > o->fhi))
            return cli_usage_error(s, "%s expects a number in %g..%g, got '%s'", flag, o->flo, o->fhi, v);
        *(double *)o->dest = x;
        return 0;
    }
    case CLI_FLAG:
        *(int *)o->dest = 1;
        return 0;
    case CLI_SET:
        *(int *)o->dest = o->set;
        return 0;
    }
    return 2;
}

static int takes_value(const cli_opt *o) { return o->type == CLI_INT || o->type == CLI_FLOAT || o->type == CLI_STRING; }

int cli_parse(const cli_spec *s, int argc, char **argv, char ***pos) {
    *pos = NULL;
    char **p = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "semsearch %s: out of memory\n", s->verb);
        return CLI_USAGE_ERROR;
    }
    int np = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') { /* positional; "-" is stdin */
            p[np++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_help(s, stdout);
            free(p);
            return CLI_HELP;
        }
        const cli_opt *o = NULL;
        const char *inline_value = NULL;
        int as_short = a[1] != '-';
        if (!as_short) {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (const cli_opt *q = s->opts; q && q->name; q++)
                if (strlen(q->name) == len && !strncmp(q->name, name, len)) {
                    o = q;
                    break;
                }
            if (o && eq) inline_value = eq + 1;
        } else {
            for (const cli_opt *q = s->opts; q && q->name; q++)
                if (q->short_name && q->short_name == a[1]) {
                    o = q;
                    break;
                }
            if (o && a[2]) {
                if (!takes_value(o)) o = NULL; /* "-qx": not a known option */
                else inline_value = a + 2;
            }
        }
        if (!o) {
            const char *eq = as_short ? NULL : strchr(a, '=');
            cli_usage_error(s, "unknown option %.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
            free(p);
            return CLI_USAGE_ERROR;
        }
        char flag[80];
        spelled(o, as_short, flag, sizeof flag);
        const char *v = NULL;
        if (takes_value(o)) {
            if (inline_value) v = inline_value;
            else if (i + 1 < argc) v = argv[++i];
            else {
                cli_usage_error(s, "%s needs a value%s%s", flag, o->metavar ? " " : "", o->metavar ? o->metavar : "");
                free(p);
                return CLI_USAGE_ERROR;
            }
        } else if (inline_value) {
            cli_usage_error(s, "%s takes no value", flag);
            free(p);
            return CLI_USAGE_ERROR;
        }
        if (store(s, o, flag, v) != 0) {
            free(p);
            return CLI_USAGE_ERROR;
        }
    }
    if (np < s->min_pos || (s->max_pos >= 0 && np > s->max_pos)) {
        if (np < s->min_pos)
            cli_usage_error(s, "missing argument%s (usage: semsearch %s %s)", s->min_pos - np > 1 ? "s" : "", s->verb,
                            s->usage ? s->usage : "");
        else
            cli_usage_error(s, "unexpected argument '%s'", p[s->max_pos]);
        free(p);
        return CLI_USAGE_ERROR;
    }
    *pos = p;
    return np;
}
