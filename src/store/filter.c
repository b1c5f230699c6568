/* filter.c — `--where` expressions compiled to SQL over docs.fields.
 *
 *   expr    := or
 *   or      := and ("OR" and)*
 *   and     := unary ("AND" unary)*
 *   unary   := "NOT" unary | "(" expr ")" | cmp
 *   cmp     := field op value | field ["NOT"] "IN" "(" value ("," value)* ")"
 *   op      := = == != <> < <= > >=
 *   field   := name ("." name)*          (nested JSON keys; `id` is a field too)
 *   value   := "string" | 'string' | number | true | false | null
 *
 * Keywords are case-insensitive. Each comparison becomes
 * COALESCE(json_extract(fields, ?) op ?, 0) — two-valued, so a document
 * without the field fails `=` and passes `NOT (...)`, and `!=` is NOT(=), as
 * Elasticsearch's must_not treats missing fields. Numbers compare as
 * numbers: ss_num() also reads numeric strings (CSV cells are strings). All
 * values and JSON paths are bound parameters, never spliced into the SQL. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/store_internal.h"

typedef struct {
    const char *src, *p;
    char *out;
    size_t n, cap;
    ss_filter_sql *f;
    ss_error *err;
    int failed;
} comp;

static void emit(comp *c, const char *s) {
    size_t k = strlen(s);
    if (c->n + k + 1 > c->cap) {
        size_t cap = (c->n + k + 1) * 2 + 64;
        char *o = realloc(c->out, cap);
        if (!o) {
            c->failed = 1;
            return;
        }
        c->out = o;
        c->cap = cap;
    }
    memcpy(c->out + c->n, s, k + 1);
    c->n += k;
}

static void fail(comp *c, const char *what) {
    if (c->failed) return;
    c->failed = 1;
    ss_fail(c->err, SS_ERR_INVALID, "--where: %s at offset %zu in \"%s\"", what, (size_t)(c->p - c->src), c->src);
}

static void ws(comp *c) {
    while (isspace((unsigned char)*c->p)) c->p++;
}

static int kw(comp *c, const char *word) {
    ws(c);
    size_t n = strlen(word);
    if (strncasecmp(c->p, word, n) == 0 && !isalnum((unsigned char)c->p[n]) && c->p[n] != '_') {
        c->p += n;
        return 1;
    }
    return 0;
}

static int add_param(comp *c, int kind, const char *text, size_t tn, double num) {
    ss_filter_sql *f = c->f;
    void *np = realloc(f->params, (size_t)(f->nparams + 1) * sizeof *f->params);
    if (!np) {
        c->failed = 1;
        return -1;
    }
    f->params = np;
    struct ss_filter_param *p = &f->params[f->nparams++];
    p->kind = kind;
    p->num = num;
    p->text = NULL;
    if (text) {
        p->text = malloc(tn + 1);
        if (!p->text) {
            c->failed = 1;
            return -1;
        }
        memcpy(p->text, text, tn);
        p->text[tn] = '\0';
    }
    return 0;
}

/* A JSON path parameter for a dotted field name: $."a"."b". */
static int field(comp *c) {
    ws(c);
    const char *s = c->p;
    if (!isalpha((unsigned char)*s) && *s != '_') {
        fail(c, "expected a field name");
        return -1;
    }
    char path[600] = "$";
    size_t pn = 1;
    while (isalnum((unsigned char)*c->p) || *c->p == '_' || *c->p == '.' || *c->p == '-') c->p++;
    const char *e = c->p;
    const char *q = s;
    while (q < e) {
        const char *d = memchr(q, '.', (size_t)(e - q));
        if (!d) d = e;
        if (d == q || pn + (size_t)(d - q) + 4 >= sizeof path) {
            fail(c, "bad field name");
            return -1;
        }
        pn += (size_t)snprintf(path + pn, sizeof path - pn, ".\"%.*s\"", (int)(d - q), q);
        q = d + 1;
    }
    return add_param(c, 0, path, pn, 0);
}

/* A value: returns its kind (0 text, 1 number, 2 null), -1 on error. */
static int value(comp *c) {
    ws(c);
    char q = *c->p;
    if (q == '"' || q == '\'') {
        const char *s = ++c->p;
        char *buf = malloc(strlen(s) + 1);
        size_t n = 0;
        if (!buf) {
            c->failed = 1;
            return -1;
        }
        while (*c->p && *c->p != q) {
            if (*c->p == '\\' && c->p[1]) c->p++;
            buf[n++] = *c->p++;
        }
        if (*c->p != q) {
            free(buf);
            fail(c, "unterminated string");
            return -1;
        }
        c->p++;
        int rc = add_param(c, 0, buf, n, 0);
        free(buf);
        return rc ? -1 : 0;
    }
    if (kw(c, "true")) return add_param(c, 1, NULL, 0, 1) ? -1 : 1;
    if (kw(c, "false")) return add_param(c, 1, NULL, 0, 0) ? -1 : 1;
    if (kw(c, "null")) return add_param(c, 2, NULL, 0, 0) ? -1 : 2;
    char *end;
    double v = strtod(c->p, &end);
    if (end == c->p) {
        fail(c, "expected a value (\"string\", number, true, false, null)");
        return -1;
    }
    c->p = end;
    return add_param(c, 1, NULL, 0, v) ? -1 : 1;
}

static void expr(comp *c);

static void cmp(comp *c) {
    int fpar = c->f->nparams + 1; /* parameter number of the field path (1-based within the filter) */
    if (field(c)) return;
    char fx[96], sx[96];
    snprintf(fx, sizeof fx, "json_extract(fields, ?%d)", fpar);
    snprintf(sx, sizeof sx, "ss_num(json_extract(fields, ?%d))", fpar);
    int neg = 0;
    if (kw(c, "NOT")) {
        if (!kw(c, "IN")) {
            fail(c, "expected IN after NOT");
            return;
        }
        neg = 1;
        goto in_list;
    }
    if (kw(c, "IN")) {
    in_list:
        ws(c);
        if (*c->p != '(') {
            fail(c, "expected ( after IN");
            return;
        }
        c->p++;
        emit(c, neg ? "(NOT COALESCE((" : "(COALESCE((");
        for (int first = 1;; first = 0) {
            char part[200];
            int vp = c->f->nparams + 1;
            int k = value(c);
            if (k < 0) return;
            snprintf(part, sizeof part, "%s%s = ?%d", first ? "" : " OR ", k == 1 ? sx : fx, vp);
            if (k == 2) snprintf(part, sizeof part, "%s%s IS NULL", first ? "" : " OR ", fx);
            emit(c, part);
            ws(c);
            if (*c->p == ',') {
                c->p++;
                continue;
            }
            if (*c->p == ')') {
                c->p++;
                break;
            }
            fail(c, "expected , or ) in the IN list");
            return;
        }
        emit(c, "), 0))");
        return;
    }
    ws(c);
    const char *ops[] = {"==", "!=", "<>", "<=", ">=", "=", "<", ">"};
    const char *op = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strncmp(c->p, ops[i], strlen(ops[i]))) {
            op = ops[i];
            c->p += strlen(op);
            break;
        }
    if (!op) {
        fail(c, "expected a comparison (=, !=, <, <=, >, >=, IN)");
        return;
    }
    int ne = !strcmp(op, "!=") || !strcmp(op, "<>");
    const char *sqlop = !strcmp(op, "==") || ne ? "=" : op;
    int vp = c->f->nparams + 1;
    int k = value(c);
    if (k < 0) return;
    char part[300];
    if (k == 2) {
        if (strcmp(sqlop, "=")) {
            fail(c, "null can only be compared with = or !=");
            return;
        }
        snprintf(part, sizeof part, "(%s(%s IS NULL))", ne ? "NOT " : "", fx);
    } else
        snprintf(part, sizeof part, "(%sCOALESCE(%s %s ?%d, 0))", ne ? "NOT " : "", k == 1 ? sx : fx, sqlop, vp);
    emit(c, part);
}

static void unary(comp *c) {
    if (c->failed) return;
    if (kw(c, "NOT")) {
        emit(c, "(NOT ");
        unary(c);
        emit(c, ")");
        return;
    }
    ws(c);
    if (*c->p == '(') {
        c->p++;
        emit(c, "(");
        expr(c);
        ws(c);
        if (*c->p != ')') {
            fail(c, "expected )");
            return;
        }
        c->p++;
        emit(c, ")");
        return;
    }
    cmp(c);
}

static void and_(comp *c) {
    unary(c);
    while (!c->failed && kw(c, "AND")) {
        emit(c, " AND ");
        unary(c);
    }
}

static void expr(comp *c) {
    and_(c);
    while (!c->failed && kw(c, "OR")) {
        emit(c, " OR ");
        and_(c);
    }
}

ss_status ss__filter_compile(const char *where, ss_filter_sql *out, ss_error *err) {
    memset(out, 0, sizeof *out);
    comp c = {.src = where, .p = where, .f = out, .err = err};
    emit(&c, "(");
    expr(&c);
    ws(&c);
    if (!c.failed && *c.p) fail(&c, "unexpected text");
    emit(&c, ")");
    if (c.failed) {
        if (err && err->code == SS_OK) ss_fail(err, SS_ERR_NOMEM, "--where: out of memory");
        free(c.out);
        out->sql = NULL;
        ss__filter_free(out);
        return err ? err->code : SS_ERR_INVALID;
    }
    out->sql = c.out;
    return SS_OK;
}

/* Parameters are numbered ?1.. within the filter; callers put the filter's
 * parameters first in their statement (first_index must be 1) or renumber. */
void ss__filter_bind(sqlite3_stmt *st, int first_index, const ss_filter_sql *f) {
    for (int i = 0; i < f->nparams; i++) {
        const struct ss_filter_param *p = &f->params[i];
        int ix = first_index + i;
        if (p->kind == 0) sqlite3_bind_text(st, ix, p->text, -1, SQLITE_TRANSIENT);
        else if (p->kind == 1) sqlite3_bind_double(st, ix, p->num);
        else sqlite3_bind_null(st, ix);
    }
}

void ss__filter_free(ss_filter_sql *f) {
    for (int i = 0; i < f->nparams; i++) free(f->params[i].text);
    free(f->params);
    free(f->sql);
    memset(f, 0, sizeof *f);
}
