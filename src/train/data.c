/* data.c — see data.h. The file is read whole; CSV records follow RFC 4180
 * (quoted fields, "" for a quote, newlines inside quotes), TSV splits on tabs
 * (STSb's files are unquoted, and a quote there is text), JSONL is one JSON
 * object (or array) per line. Line numbers in errors are 1-based physical
 * lines where the record starts. */
#include "train/data.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/error.h"

/* ---- growable arrays ---------------------------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} strvec;

static int strvec_push(strvec *s, char *x) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) return -1;
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static void strvec_clear(strvec *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    s->n = 0;
}

/* ---- delimited records ---------------------------------------------------------- */

/* Parse one record starting at *p (end at e) into fields; advances *p past the
 * record's line end and *line by the physical lines consumed. Returns 0, or -1
 * with *why set for an unterminated quote / out of memory. */
static int next_record(const char **p, const char *e, char delim, int quotes, strvec *fields, size_t *line,
                       const char **why) {
    const char *s = *p;
    strvec_clear(fields);
    for (;;) {
        size_t cap = 64, n = 0;
        char *f = malloc(cap);
        if (!f) goto nomem;
        int quoted = quotes && s < e && *s == '"';
        if (quoted) s++;
        for (;;) {
            if (s >= e) {
                if (quoted) {
                    free(f);
                    *why = "unterminated quoted field";
                    return -1;
                }
                break;
            }
            char c = *s;
            if (quoted) {
                if (c == '"') {
                    if (s + 1 < e && s[1] == '"') {
                        s += 2;
                        c = '"';
                    } else {
                        s++;
                        quoted = 0;
                        continue; /* text after the closing quote is kept, as Python's csv does */
                    }
                } else {
                    if (c == '\n') (*line)++;
                    s++;
                }
            } else {
                if (c == delim || c == '\n') break;
                if (c == '\r' && (s + 1 >= e || s[1] == '\n')) {
                    s++;
                    continue;
                }
                s++;
            }
            if (n + 2 > cap) {
                char *g = realloc(f, cap *= 2);
                if (!g) {
                    free(f);
                    goto nomem;
                }
                f = g;
            }
            f[n++] = c;
        }
        f[n] = 0;
        if (strvec_push(fields, f)) {
            free(f);
            goto nomem;
        }
        if (s < e && *s == delim) {
            s++;
            continue;
        }
        if (s < e && *s == '\n') s++;
        (*line)++;
        *p = s;
        return 0;
    }
nomem:
    *why = "out of memory";
    return -1;
}

static int is_index(const char *s, int *out) {
    if (!*s) return 0;
    long v = 0;
    for (const char *c = s; *c; c++) {
        if (!isdigit((unsigned char)*c) || v > 100000) return 0;
        v = v * 10 + (*c - '0');
    }
    *out = (int)v;
    return 1;
}

static int parse_label(const char *s, double scale, float *out) {
    char *end;
    errno = 0;
    while (isspace((unsigned char)*s)) s++;
    double v = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    if (end == s || *end || errno || !isfinite(v)) return -1;
    *out = (float)(v * scale);
    return 0;
}

static ss_data_format guess_format(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot && (!strcmp(dot, ".tsv") || !strcmp(dot, ".txt"))) return SS_DATA_TSV;
    if (dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".json") || !strcmp(dot, ".ndjson"))) return SS_DATA_JSONL;
    return SS_DATA_CSV;
}

typedef struct {
    ss_dataset *d;
    const ss_data_options *o;
    const char *path;
    strvec texts;
    float *labels;
    size_t cap_labels;
    ss_error *err;
} loader;

/* A bad row: an error, or (skip_bad) counted and remembered. */
static ss_status bad_row(loader *L, size_t line, const char *fmt, const char *arg) {
    char why[200];
    snprintf(why, sizeof why, fmt, arg ? arg : "");
    if (L->o->skip_bad) {
        if (L->d->n_skipped++ == 0) snprintf(L->d->first_bad, sizeof L->d->first_bad, "%s:%zu: %s", L->path, line, why);
        return SS_OK;
    }
    return ss_fail(L->err, SS_ERR_FORMAT, "%s:%zu: %s%s", L->path, line, why,
                   " (use skip_bad / --skip-bad to skip such rows)");
}

static ss_status add_row(loader *L, char **vals, float label) {
    for (int c = 0; c < L->d->n_cols; c++) {
        char *t = strdup(vals[c]);
        if (!t || strvec_push(&L->texts, t)) {
            free(t);
            return ss_fail(L->err, SS_ERR_NOMEM, "%s: out of memory", L->path);
        }
    }
    if (L->o->label_col) {
        if (L->d->n_rows == L->cap_labels) {
            size_t cap = L->cap_labels ? L->cap_labels * 2 : 256;
            float *v = realloc(L->labels, cap * sizeof *v);
            if (!v) return ss_fail(L->err, SS_ERR_NOMEM, "%s: out of memory", L->path);
            L->labels = v, L->cap_labels = cap;
        }
        L->labels[L->d->n_rows] = label;
    }
    L->d->n_rows++;
    return SS_OK;
}

static ss_status load_delimited(loader *L, const char *buf, size_t len, char delim, int quotes) {
    const ss_data_options *o = L->o;
    const char *p = buf, *e = buf + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* UTF-8 BOM */
    int ncol = o->n_text_cols ? o->n_text_cols : 2;
    int idx[SS_DATA_MAX_COLS + 1], label_idx = -1, need = 0;
    int header = o->header;
    if (header < 0) { /* auto: named columns imply a header; so does a CSV with no columns chosen */
        header = !o->n_text_cols && delim == ',';
        int dummy;
        for (int c = 0; c < o->n_text_cols; c++)
            if (!is_index(o->text_cols[c], &dummy)) header = 1;
        if (o->label_col && !is_index(o->label_col, &dummy)) header = 1;
    }
    strvec f = {0};
    size_t line = 1;
    const char *why = NULL;
    ss_status st = SS_OK;
    if (header) {
        size_t l0 = line;
        if (p >= e || next_record(&p, e, delim, quotes, &f, &line, &why)) {
            st = ss_fail(L->err, SS_ERR_FORMAT, "%s:%zu: cannot read the header: %s", L->path, l0,
                         why ? why : "empty file");
            goto done;
        }
    }
    for (int c = 0; c < ncol + 1; c++) {
        const char *name = c < ncol ? (o->n_text_cols ? o->text_cols[c] : NULL) : o->label_col;
        int *slot = c < ncol ? &idx[c] : &label_idx;
        if (c == ncol && !name) break;
        if (!name) {
            *slot = c;
        } else if (header) {
            *slot = -1;
            for (size_t k = 0; k < f.n; k++)
                if (!strcmp(f.v[k], name)) *slot = (int)k;
            if (*slot < 0 && !is_index(name, slot)) {
                st = ss_fail(L->err, SS_ERR_NOT_FOUND, "%s:1: column \"%s\" is not in the header (%zu columns, first \"%s\")",
                             L->path, name, f.n, f.n ? f.v[0] : "");
                goto done;
            }
        } else if (!is_index(name, slot)) {
            st = ss_fail(L->err, SS_ERR_INVALID, "%s: column \"%s\" is a name but the file has no header", L->path, name);
            goto done;
        }
        if (*slot + 1 > need) need = *slot + 1;
    }
    L->d->n_cols = ncol;
    while (p < e) {
        size_t l0 = line;
        if (next_record(&p, e, delim, quotes, &f, &line, &why)) {
            if (!strcmp(why, "out of memory")) {
                st = ss_fail(L->err, SS_ERR_NOMEM, "%s: out of memory", L->path);
                goto done;
            }
            /* never skipped: nothing after an unterminated quote can be trusted */
            st = ss_fail(L->err, SS_ERR_FORMAT, "%s:%zu: %s", L->path, l0, why);
            goto done;
        }
        if (f.n == 1 && !f.v[0][0]) continue; /* blank line */
        if ((int)f.n < need) {
            char msg[64];
            snprintf(msg, sizeof msg, "%zu fields, the selected columns need %d", f.n, need);
            if ((st = bad_row(L, l0, "%s", msg))) goto done;
            continue;
        }
        char *vals[SS_DATA_MAX_COLS];
        for (int c = 0; c < ncol; c++) vals[c] = f.v[idx[c]];
        float label = 0;
        if (label_idx >= 0 && parse_label(f.v[label_idx], o->label_scale ? o->label_scale : 1.0, &label)) {
            if ((st = bad_row(L, l0, "label \"%.60s\" is not a number", f.v[label_idx]))) goto done;
            continue;
        }
        if ((st = add_row(L, vals, label))) goto done;
    }
done:
    strvec_clear(&f);
    free(f.v);
    return st;
}

static const cJSON *json_col(const cJSON *j, const char *name) {
    int i;
    if (cJSON_IsArray(j)) return is_index(name, &i) ? cJSON_GetArrayItem(j, i) : NULL;
    return cJSON_GetObjectItemCaseSensitive(j, name);
}

static ss_status load_jsonl(loader *L, const char *buf, size_t len) {
    const ss_data_options *o = L->o;
    if (!o->n_text_cols)
        return ss_fail(L->err, SS_ERR_INVALID, "%s: JSONL needs the text columns named (keys)", L->path);
    L->d->n_cols = o->n_text_cols;
    size_t line = 0;
    const char *p = buf, *e = buf + len;
    char *tmp = NULL;
    size_t tcap = 0;
    ss_status st = SS_OK;
    while (p < e && st == SS_OK) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
        line++;
        const char *row = p;
        p = nl ? nl + 1 : e;
        while (n && (row[n - 1] == '\r' || row[n - 1] == ' ' || row[n - 1] == '\t')) n--;
        if (!n) continue;
        if (n + 1 > tcap) {
            char *t = realloc(tmp, tcap = n + 1);
            if (!t) {
                st = ss_fail(L->err, SS_ERR_NOMEM, "%s: out of memory", L->path);
                break;
            }
            tmp = t;
        }
        memcpy(tmp, row, n);
        tmp[n] = 0;
        cJSON *j = cJSON_Parse(tmp);
        if (!j || (!cJSON_IsObject(j) && !cJSON_IsArray(j))) {
            st = bad_row(L, line, "not a JSON object%s", j ? "" : " (invalid JSON)");
            cJSON_Delete(j);
            continue;
        }
        char *vals[SS_DATA_MAX_COLS];
        int ok = 1;
        for (int c = 0; c < o->n_text_cols && ok; c++) {
            const cJSON *v = json_col(j, o->text_cols[c]);
            if (!cJSON_IsString(v)) {
                st = bad_row(L, line, v ? "key \"%s\" is not a string" : "key \"%s\" is missing", o->text_cols[c]);
                ok = 0;
            } else {
                vals[c] = v->valuestring;
            }
        }
        float label = 0;
        if (ok && o->label_col) {
            const cJSON *v = json_col(j, o->label_col);
            double scale = o->label_scale ? o->label_scale : 1.0;
            if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) label = (float)(v->valuedouble * scale);
            else if (cJSON_IsBool(v)) label = (float)(cJSON_IsTrue(v) * scale);
            else if (!(cJSON_IsString(v) && !parse_label(v->valuestring, scale, &label))) {
                st = bad_row(L, line, v ? "label \"%s\" is not a number" : "label key \"%s\" is missing", o->label_col);
                ok = 0;
            }
        }
        if (ok) st = add_row(L, vals, label);
        cJSON_Delete(j);
    }
    free(tmp);
    return st;
}

ss_status ss_dataset_load(ss_dataset *d, const char *path, const ss_data_options *o, ss_error *err) {
    memset(d, 0, sizeof *d);
    if (o->n_text_cols < 0 || o->n_text_cols > SS_DATA_MAX_COLS)
        return ss_fail(err, SS_ERR_INVALID, "%s: %d text columns (1..%d)", path, o->n_text_cols, SS_DATA_MAX_COLS);
    FILE *f = fopen(path, "rb");
    if (!f) return ss_fail(err, SS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            } else {
                buf = b;
            }
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf) return ss_fail(err, SS_ERR_NOMEM, "%s: out of memory reading the file", path);
    if (rerr) {
        free(buf);
        return ss_fail(err, SS_ERR_IO, "%s: read error", path);
    }
    loader L = {.d = d, .o = o, .path = path, .err = err};
    ss_data_format fmt = o->format == SS_DATA_AUTO ? guess_format(path) : o->format;
    ss_status st;
    if (fmt == SS_DATA_JSONL) st = load_jsonl(&L, buf, len);
    else if (fmt == SS_DATA_TSV) st = load_delimited(&L, buf, len, '\t', o->tsv_quotes);
    else st = load_delimited(&L, buf, len, ',', 1);
    free(buf);
    d->texts = L.texts.v;
    d->labels = L.labels;
    if (st == SS_OK && d->n_rows == 0)
        st = ss_fail(err, SS_ERR_FORMAT, "%s: no usable rows (%zu skipped%s%s)", path, d->n_skipped,
                     d->n_skipped ? ", first: " : "", d->first_bad);
    if (st != SS_OK) {
        for (size_t i = 0; i < L.texts.n; i++) free(L.texts.v[i]);
        free(L.texts.v);
        free(L.labels);
        size_t skipped = d->n_skipped;
        memset(d, 0, sizeof *d);
        d->n_skipped = skipped;
    }
    return st;
}

void ss_dataset_free(ss_dataset *d) {
    for (size_t i = 0; i < d->n_rows * (size_t)d->n_cols; i++) free(d->texts[i]);
    free(d->texts);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* ---- batching ------------------------------------------------------------------- */

static void shuffle(size_t *v, size_t n, ss_rng *r) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ss_rng_below(r, i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

ss_status ss_train_batcher_init(ss_train_batcher *b, const ss_dataset *d, int batch_size, int no_duplicates, uint64_t seed,
                          ss_error *err) {
    memset(b, 0, sizeof *b);
    if (batch_size <= 0) return ss_fail(err, SS_ERR_INVALID, "batch size %d: must be positive", batch_size);
    if (no_duplicates && (size_t)batch_size > d->n_rows)
        return ss_fail(err, SS_ERR_INVALID, "batch size %d exceeds the %zu rows (no-duplicates batches are full)",
                       batch_size, d->n_rows);
    b->d = d;
    b->batch_size = batch_size;
    b->no_duplicates = no_duplicates;
    ss_rng_seed(&b->rng, seed);
    b->order = malloc(sizeof(size_t) * (d->n_rows + 1));
    if (no_duplicates) {
        b->seen_cap = 16;
        while (b->seen_cap < (size_t)batch_size * d->n_cols * 2) b->seen_cap *= 2;
        b->seen = calloc(b->seen_cap, sizeof(uint64_t));
    }
    if (!b->order || (no_duplicates && !b->seen)) {
        ss_train_batcher_free(b);
        return ss_fail(err, SS_ERR_NOMEM, "batcher: out of memory");
    }
    for (size_t i = 0; i < d->n_rows; i++) b->order[i] = i;
    shuffle(b->order, d->n_rows, &b->rng);
    return SS_OK;
}

void ss_train_batcher_free(ss_train_batcher *b) {
    free(b->order);
    free(b->seen);
    b->order = NULL;
    b->seen = NULL;
}

size_t ss_train_batcher_len(const ss_train_batcher *b) {
    size_t n = b->d->n_rows, bs = (size_t)b->batch_size;
    return b->no_duplicates ? n / bs : (n + bs - 1) / bs;
}

/* FNV-1a of the text stripped of ASCII white space and ASCII-lower-cased
 * (Python's str.strip().lower(), except for non-ASCII case folding); 0 is
 * reserved for empty slots. */
static uint64_t text_key(const char *s) {
    const char *e = s + strlen(s);
    while (s < e && isspace((unsigned char)*s)) s++;
    while (e > s && isspace((unsigned char)e[-1])) e--;
    uint64_t h = 1469598103934665603ull;
    for (; s < e; s++) h = (h ^ (uint64_t)tolower((unsigned char)*s)) * 1099511628211ull;
    return h ? h : 1;
}

static int seen_has(const ss_train_batcher *b, uint64_t k) {
    for (size_t i = k & (b->seen_cap - 1);; i = (i + 1) & (b->seen_cap - 1)) {
        if (b->seen[i] == k) return 1;
        if (!b->seen[i]) return 0;
    }
}

static void seen_add(ss_train_batcher *b, uint64_t k) {
    size_t i = k & (b->seen_cap - 1);
    while (b->seen[i] && b->seen[i] != k) i = (i + 1) & (b->seen_cap - 1);
    b->seen[i] = k;
}

int ss_train_batcher_next(ss_train_batcher *b, size_t *rows) {
    const ss_dataset *d = b->d;
    if (b->batch_in_epoch >= ss_train_batcher_len(b)) {
        b->batch_in_epoch = 0;
        if (!b->no_duplicates) { /* a new epoch: DataLoader reshuffles */
            b->pos = 0;
            shuffle(b->order, d->n_rows, &b->rng);
        }
        return 0;
    }
    b->batch_in_epoch++;
    int n = 0;
    if (!b->no_duplicates) {
        while (n < b->batch_size && b->pos < d->n_rows) rows[n++] = b->order[b->pos++];
        return n;
    }
    memset(b->seen, 0, b->seen_cap * sizeof(uint64_t));
    /* a full pass over the data adding nothing means the batch cannot fill with distinct texts */
    size_t since_added = 0;
    while (n < b->batch_size && since_added <= d->n_rows) {
        size_t r = b->order[b->pos];
        int ok = 1;
        for (int c = 0; c < d->n_cols && ok; c++)
            if (seen_has(b, text_key(ss_dataset_text(d, r, c)))) ok = 0;
        if (ok) {
            rows[n++] = r;
            for (int c = 0; c < d->n_cols; c++) seen_add(b, text_key(ss_dataset_text(d, r, c)));
            since_added = 0;
        } else {
            since_added++;
        }
        if (++b->pos >= d->n_rows) {
            b->pos = 0;
            shuffle(b->order, d->n_rows, &b->rng);
        }
    }
    return n;
}
