/* es_script.c — the Painless scripts script_score is used with for vector
 * search (Elasticsearch's "Functions for vector fields"), as expressions:
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/') unary)*
 *   unary   := '-' unary | primary
 *   primary := NUMBER | '_score' | 'params.' NAME | '(' expr ')'
 *            | doc['FIELD'].value                  (a numeric field)
 *            | FUNC '(' 'params.' NAME ',' 'FIELD' ')'
 *   FUNC    := cosineSimilarity | dotProduct | l1norm | l2norm
 *
 * with an optional leading "return" and trailing ';'. Anything else is a 400
 * that names what was not understood (never a silent wrong score). The
 * functions are Elasticsearch's: cosineSimilarity = q.v / (|q| |v|),
 * dotProduct = q.v, l1norm = sum |q - v|, l2norm = sqrt(sum (q - v)^2), on
 * the document's stored vector; a document without the vector is an error,
 * as is a negative final score (Elasticsearch refuses both). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/es_script.h"

typedef enum { N_NUM, N_SCORE, N_DOCVAL, N_FUNC, N_NEG, N_ADD, N_SUB, N_MUL, N_DIV } node_kind;
typedef enum { F_COS, F_DOT, F_L1, F_L2 } func_kind;

typedef struct node {
    node_kind k;
    double num;
    func_kind fn;
    const es_field *f; /* function / doc value field */
    float *qv;         /* function: the params vector */
    struct node *a, *b;
} node;

struct es_script {
    node *root;
    float *buf; /* a document vector */
    int dims;
    char err[512]; /* first evaluation error */
};

typedef struct parser {
    const char *s, *p;
    const cJSON *params;
    es_index *x;
    char *why;
    size_t cap;
    int max_dims;
} parser;

static void node_free(node *n) {
    if (!n) return;
    node_free(n->a);
    node_free(n->b);
    free(n->qv);
    free(n);
}

static void ws(parser *ps) {
    while (isspace((unsigned char)*ps->p)) ps->p++;
}

static int eat(parser *ps, const char *tok) {
    ws(ps);
    size_t n = strlen(tok);
    if (strncmp(ps->p, tok, n)) return 0;
    if (isalnum((unsigned char)tok[n - 1]) && (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_')) return 0;
    ps->p += n;
    return 1;
}

static node *fail(parser *ps, const char *what) {
    snprintf(ps->why, ps->cap, "cannot compile script [%s]: %s at offset %d (semsearch runs the vector functions, "
             "_score, params and doc['f'].value in + - * / expressions)", ps->s, what, (int)(ps->p - ps->s));
    return NULL;
}

static node *mk(node_kind k, node *a, node *b) {
    node *n = calloc(1, sizeof *n);
    if (!n) {
        node_free(a);
        node_free(b);
        return NULL;
    }
    n->k = k, n->a = a, n->b = b;
    return n;
}

static int ident(parser *ps, char *out, size_t cap) {
    ws(ps);
    size_t n = 0;
    while ((isalnum((unsigned char)*ps->p) || *ps->p == '_') && n + 1 < cap) out[n++] = *ps->p++;
    out[n] = '\0';
    return n > 0;
}

/* 'field' or "field" */
static int quoted(parser *ps, char *out, size_t cap) {
    ws(ps);
    char q = *ps->p;
    if (q != '\'' && q != '"') return 0;
    ps->p++;
    size_t n = 0;
    while (*ps->p && *ps->p != q && n + 1 < cap) out[n++] = *ps->p++;
    out[n] = '\0';
    if (*ps->p != q) return 0;
    ps->p++;
    return 1;
}

static node *expr(parser *ps);

static node *func(parser *ps, func_kind fk) {
    char name[128], field[256];
    if (!eat(ps, "(") || !eat(ps, "params") || !eat(ps, ".") || !ident(ps, name, sizeof name))
        return fail(ps, "expected (params.NAME, 'field')");
    if (!eat(ps, ",") || !quoted(ps, field, sizeof field) || !eat(ps, ")"))
        return fail(ps, "expected , 'field')");
    const es_field *f = es_field_get(ps->x, field);
    if (!f || f->type != ES_VECTOR) {
        snprintf(ps->why, ps->cap, "field [%s] is not a dense_vector field; vector functions need one", field);
        return NULL;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ps->params, name), *e;
    if (!cJSON_IsArray(v)) {
        snprintf(ps->why, ps->cap, "script param [%s] must be an array of numbers (the query vector)", name);
        return NULL;
    }
    int n = cJSON_GetArraySize(v);
    if (f->dims && n != f->dims) {
        snprintf(ps->why, ps->cap, "The query vector has a different number of dimensions [%d] than the document vectors [%d].",
                 n, f->dims);
        return NULL;
    }
    node *nd = mk(N_FUNC, NULL, NULL);
    if (!nd || !(nd->qv = malloc((size_t)n * sizeof *nd->qv + 1))) return node_free(nd), fail(ps, "out of memory");
    int k = 0;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsNumber(e)) {
            node_free(nd);
            snprintf(ps->why, ps->cap, "script param [%s] must be an array of numbers (the query vector)", name);
            return NULL;
        }
        nd->qv[k++] = (float)e->valuedouble;
    }
    nd->fn = fk;
    nd->f = f;
    if (n > ps->max_dims) ps->max_dims = n;
    return nd;
}

static node *primary(parser *ps) {
    ws(ps);
    if (eat(ps, "(")) {
        node *n = expr(ps);
        if (n && !eat(ps, ")")) return node_free(n), fail(ps, "expected )");
        return n;
    }
    if (isdigit((unsigned char)*ps->p) || *ps->p == '.') {
        char *end;
        double v = strtod(ps->p, &end);
        if (end == ps->p) return fail(ps, "bad number");
        ps->p = end;
        if (*ps->p == 'f' || *ps->p == 'd' || *ps->p == 'F' || *ps->p == 'D') ps->p++; /* 1.0f, 2d */
        node *n = mk(N_NUM, NULL, NULL);
        if (n) n->num = v;
        return n;
    }
    if (eat(ps, "_score")) return mk(N_SCORE, NULL, NULL);
    if (eat(ps, "params")) {
        char name[128];
        if (!eat(ps, ".") || !ident(ps, name, sizeof name)) return fail(ps, "expected params.NAME");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ps->params, name);
        if (!cJSON_IsNumber(v)) {
            snprintf(ps->why, ps->cap, "script param [%s] is missing or not a number", name);
            return NULL;
        }
        node *n = mk(N_NUM, NULL, NULL);
        if (n) n->num = v->valuedouble;
        return n;
    }
    if (eat(ps, "doc")) {
        char field[256];
        if (!eat(ps, "[") || !quoted(ps, field, sizeof field) || !eat(ps, "]") || !eat(ps, ".") || !eat(ps, "value"))
            return fail(ps, "expected doc['field'].value");
        const es_field *f = es_field_get(ps->x, field);
        if (!f || (f->type != ES_LONG && f->type != ES_DOUBLE && f->type != ES_DATE && f->type != ES_BOOLEAN)) {
            snprintf(ps->why, ps->cap, "doc['%s'].value: semsearch reads numeric fields in scripts; [%s] is %s", field, field,
                     f ? "not numeric" : "not mapped");
            return NULL;
        }
        node *n = mk(N_DOCVAL, NULL, NULL);
        if (n) n->f = f;
        return n;
    }
    static const struct { const char *n; func_kind k; } fns[] = {
        {"cosineSimilarity", F_COS}, {"dotProduct", F_DOT}, {"l1norm", F_L1}, {"l2norm", F_L2}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (eat(ps, fns[i].n)) return func(ps, fns[i].k);
    return fail(ps, "unsupported token");
}

static node *unary(parser *ps) {
    if (eat(ps, "-")) {
        node *a = unary(ps);
        return a ? mk(N_NEG, a, NULL) : NULL;
    }
    if (eat(ps, "+")) return unary(ps);
    return primary(ps);
}

static node *term(parser *ps) {
    node *a = unary(ps);
    while (a) {
        node_kind k;
        if (eat(ps, "*")) k = N_MUL;
        else if (eat(ps, "/")) k = N_DIV;
        else break;
        node *b = unary(ps);
        if (!b) return node_free(a), NULL;
        a = mk(k, a, b);
    }
    return a;
}

static node *expr(parser *ps) {
    node *a = term(ps);
    while (a) {
        node_kind k;
        if (eat(ps, "+")) k = N_ADD;
        else if (eat(ps, "-")) k = N_SUB;
        else break;
        node *b = term(ps);
        if (!b) return node_free(a), NULL;
        a = mk(k, a, b);
    }
    return a;
}

es_script *es_script_parse(es_index *x, const cJSON *script, char *why, size_t cap) {
    const cJSON *src = cJSON_IsString(script) ? script : cJSON_GetObjectItemCaseSensitive(script, "source");
    const cJSON *lang = cJSON_IsObject(script) ? cJSON_GetObjectItemCaseSensitive(script, "lang") : NULL;
    const cJSON *params = cJSON_IsObject(script) ? cJSON_GetObjectItemCaseSensitive(script, "params") : NULL;
    if (lang && (!cJSON_IsString(lang) || strcmp(lang->valuestring, "painless")))
        return snprintf(why, cap, "script_lang not supported [%s]", cJSON_IsString(lang) ? lang->valuestring : "?"), NULL;
    if (!cJSON_IsString(src))
        return snprintf(why, cap, "[script] must have a [source] (stored scripts are not supported by semsearch)"), NULL;
    parser ps = {src->valuestring, src->valuestring, params, x, why, cap, 0};
    eat(&ps, "return");
    node *root = expr(&ps);
    if (root) {
        eat(&ps, ";");
        ws(&ps);
        if (*ps.p) {
            node_free(root);
            root = fail(&ps, "unexpected text after the expression");
        }
    }
    if (!root) return NULL;
    es_script *s = calloc(1, sizeof *s);
    if (!s || !(s->buf = malloc((size_t)ps.max_dims * sizeof *s->buf + 1))) {
        if (s) free(s);
        node_free(root);
        return snprintf(why, cap, "out of memory"), NULL;
    }
    s->root = root;
    s->dims = ps.max_dims;
    return s;
}

void es_script_free(es_script *s) {
    if (!s) return;
    node_free(s->root);
    free(s->buf);
    free(s);
}

const char *es_script_error(const es_script *s) { return s && s->err[0] ? s->err : NULL; }

static double num_of(const cJSON *v) {
    if (cJSON_IsArray(v)) v = cJSON_GetArrayItem(v, 0);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    if (cJSON_IsString(v)) return atof(v->valuestring);
    return NAN;
}

static double eval(es_script *s, const node *n, const es_index *x, const es_doc *d, double score) {
    switch (n->k) {
    case N_NUM: return n->num;
    case N_SCORE: return score;
    case N_NEG: return -eval(s, n->a, x, d, score);
    case N_ADD: return eval(s, n->a, x, d, score) + eval(s, n->b, x, d, score);
    case N_SUB: return eval(s, n->a, x, d, score) - eval(s, n->b, x, d, score);
    case N_MUL: return eval(s, n->a, x, d, score) * eval(s, n->b, x, d, score);
    case N_DIV: return eval(s, n->a, x, d, score) / eval(s, n->b, x, d, score);
    case N_DOCVAL: {
        double v = num_of(es_path(d->src, n->f->path));
        if (isnan(v) && !s->err[0])
            snprintf(s->err, sizeof s->err, "A document doesn't have a value for a field! Use doc[<field>].size()==0 to check if a document is missing a field! (field [%s], document [%s])",
                     n->f->name, d->id);
        return v;
    }
    case N_FUNC: {
        if (ss_collection_vector(x->coll, n->f->name, d->rowid, s->buf, NULL) != SS_OK) {
            if (!s->err[0])
                snprintf(s->err, sizeof s->err, "A document doesn't have a value for a vector field! (field [%s], document [%s])",
                         n->f->name, d->id);
            return NAN;
        }
        double dot = 0, nq = 0, nv = 0, l1 = 0, l2 = 0;
        for (int i = 0; i < n->f->dims; i++) {
            double q = n->qv[i], v = s->buf[i], df = q - v;
            dot += q * v, nq += q * q, nv += v * v, l1 += fabs(df), l2 += df * df;
        }
        switch (n->fn) {
        case F_COS: return nq > 0 && nv > 0 ? dot / sqrt(nq * nv) : 0;
        case F_DOT: return dot;
        case F_L1: return l1;
        case F_L2: return sqrt(l2);
        }
    }
    }
    return NAN;
}

double es_script_run(const es_script *cs, const es_index *x, const es_doc *d, double score) {
    es_script *s = (es_script *)cs; /* the error slot and vector buffer are per search, not shared */
    double v = eval(s, s->root, x, d, score);
    if (!s->err[0] && !(v >= 0))
        snprintf(s->err, sizeof s->err, "script_score script returned an invalid score [%g] for doc [%s]. Must be a non-negative score!",
                 v, d->id);
    return v;
}
