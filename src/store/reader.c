/* reader.c — JSONL / CSV / TSV / text records and the embedded text (see reader.h). */
#include "store/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_internal.h"

size_t ss__utf8_check(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) len = 2, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, min = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, min = 0x10000;
        else return i + 1;
        if (i + len > n) return i + 1;
        unsigned cp = c & (0xFF >> (len + 1));
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i + 1;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i + 1;
        i += len;
    }
    return 0;
}

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcasecmp(s + n - m, suf);
}

/* One physical line without its \n / \r\n; -1 at EOF. */
static ssize_t read_line(ss_rec_reader *r) {
    ssize_t n = getline(&r->line, &r->lcap, r->f);
    if (n < 0) return -1;
    r->lineno++;
    r->bytes += (uint64_t)n;
    if (n > 0 && r->line[n - 1] == '\n') r->line[--n] = '\0';
    if (n > 0 && r->line[n - 1] == '\r') r->line[--n] = '\0';
    return n;
}

static int check_line(ss_rec_reader *r, ssize_t n, char *why, size_t whycap) {
    if (memchr(r->line, '\0', (size_t)n)) {
        snprintf(why, whycap, "%s:%zu: the line contains a NUL byte", r->path, r->lineno);
        return -1;
    }
    size_t bad = ss__utf8_check(r->line, (size_t)n);
    if (bad) {
        snprintf(why, whycap, "%s:%zu: invalid UTF-8 at byte offset %zu of the line (byte 0x%02x)", r->path,
                 r->lineno, bad - 1, (unsigned char)r->line[bad - 1]);
        return -1;
    }
    return 0;
}

/* ---- CSV (RFC 4180; also TSV with the same quoting, as Python's csv) ---- */

typedef struct {
    char **v;
    int n, cap;
} fields_t;

static void fields_free(fields_t *f) {
    for (int i = 0; i < f->n; i++) free(f->v[i]);
    free(f->v);
    memset(f, 0, sizeof *f);
}

static int fields_push(fields_t *f, const char *s, size_t n) {
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 16;
        char **v = realloc(f->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        f->v = v;
        f->cap = cap;
    }
    char *c = malloc(n + 1);
    if (!c) return -1;
    memcpy(c, s, n);
    c[n] = '\0';
    f->v[f->n++] = c;
    return 0;
}

/* Parse one CSV record that may span lines. 1 ok, 0 EOF, -1 bad, -2 fatal. */
static int csv_record(ss_rec_reader *r, fields_t *out, size_t *start, char *why, size_t whycap) {
    char sep = r->format == SS_FMT_TSV ? '\t' : ',';
    ssize_t n;
    do {
        n = read_line(r);
        if (n < 0) return 0;
    } while (n == 0); /* blank lines between records */
    *start = r->lineno;
    if (check_line(r, n, why, whycap)) return -1;
    char *cell = NULL;
    size_t clen = 0, ccap = 0;
    int inq = 0, was_quoted = 0, rc = 1;
    size_t i = 0;
#define PUTC(ch)                                                                                                   \
    do {                                                                                                           \
        if (clen + 1 >= ccap) {                                                                                    \
            ccap = ccap ? ccap * 2 : 256;                                                                          \
            char *nc = realloc(cell, ccap);                                                                        \
            if (!nc) { rc = -2; goto done; }                                                                       \
            cell = nc;                                                                                             \
        }                                                                                                          \
        cell[clen++] = (ch);                                                                                       \
    } while (0)
    for (;;) {
        const char *s = r->line;
        size_t len = (size_t)n;
        while (i < len) {
            char ch = s[i];
            if (inq) {
                if (ch == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        PUTC('"');
                        i += 2;
                        continue;
                    }
                    inq = 0;
                    i++;
                    if (i < len && s[i] != sep) {
                        snprintf(why, whycap, "%s:%zu: unexpected character after a closing quote (column %zu)",
                                 r->path, r->lineno, i + 1);
                        rc = -1;
                        goto done;
                    }
                    continue;
                }
                PUTC(ch);
                i++;
            } else if (ch == sep) {
                if (fields_push(out, cell ? cell : "", clen)) { rc = -2; goto done; }
                clen = 0;
                was_quoted = 0;
                i++;
            } else if (ch == '"' && clen == 0 && !was_quoted) {
                inq = 1;
                was_quoted = 1;
                i++;
            } else if (ch == '"') {
                snprintf(why, whycap, "%s:%zu: a quote inside an unquoted field (column %zu); quote the field and "
                         "double the quote (RFC 4180)", r->path, r->lineno, i + 1);
                rc = -1;
                goto done;
            } else {
                PUTC(ch);
                i++;
            }
        }
        if (!inq) break;
        PUTC('\n'); /* a quoted field spans lines */
        n = read_line(r);
        if (n < 0) {
            snprintf(why, whycap, "%s:%zu: unterminated quoted field (opened on line %zu)", r->path, r->lineno, *start);
            rc = -1;
            goto done;
        }
        if (check_line(r, n, why, whycap)) { rc = -1; goto done; }
        i = 0;
    }
    if (fields_push(out, cell ? cell : "", clen)) rc = -2;
done:
#undef PUTC
    free(cell);
    return rc;
}

int ss__rec_open(ss_rec_reader *r, const char *path, int format, char *why, size_t whycap) {
    memset(r, 0, sizeof *r);
    r->path = path;
    if (!format) {
        if (ends_with(path, ".jsonl") || ends_with(path, ".json") || ends_with(path, ".ndjson")) format = SS_FMT_JSONL;
        else if (ends_with(path, ".csv")) format = SS_FMT_CSV;
        else if (ends_with(path, ".tsv")) format = SS_FMT_TSV;
        else format = SS_FMT_TEXT;
    }
    r->format = format;
    r->f = !strcmp(path, "-") ? stdin : fopen(path, "rb");
    if (!r->f) {
        snprintf(why, whycap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(r->f), &sb) == 0 && S_ISREG(sb.st_mode)) r->total = (uint64_t)sb.st_size;
    if (format == SS_FMT_CSV || format == SS_FMT_TSV) {
        fields_t h = {0};
        size_t start;
        int rc = csv_record(r, &h, &start, why, whycap);
        if (rc == 0) snprintf(why, whycap, "%s: empty file (a header row is expected)", path);
        if (rc <= 0) {
            fields_free(&h);
            ss__rec_close(r);
            return -1;
        }
        if (h.n > 0 && !strncmp(h.v[0], "\xEF\xBB\xBF", 3)) memmove(h.v[0], h.v[0] + 3, strlen(h.v[0]) - 2); /* BOM */
        for (int i = 0; i < h.n; i++)
            for (int j = 0; j < i; j++)
                if (!strcmp(h.v[i], h.v[j])) {
                    snprintf(why, whycap, "%s:%zu: column '%s' appears twice in the header", path, start, h.v[i]);
                    fields_free(&h);
                    ss__rec_close(r);
                    return -1;
                }
        r->header = h.v;
        r->nheader = h.n;
    }
    return 0;
}

void ss__rec_close(ss_rec_reader *r) {
    if (r->f && r->f != stdin) fclose(r->f);
    for (int i = 0; i < r->nheader; i++) free(r->header[i]);
    free(r->header);
    free(r->line);
    memset(r, 0, sizeof *r);
}

int ss__rec_next(ss_rec_reader *r, cJSON **obj, size_t *line, char *why, size_t whycap) {
    *obj = NULL;
    if (r->format == SS_FMT_CSV || r->format == SS_FMT_TSV) {
        fields_t f = {0};
        int rc = csv_record(r, &f, line, why, whycap);
        if (rc == 1 && f.n != r->nheader) {
            snprintf(why, whycap, "%s:%zu: %d fields, the header has %d", r->path, *line, f.n, r->nheader);
            rc = -1;
        }
        if (rc == 1) {
            cJSON *o = cJSON_CreateObject();
            for (int i = 0; o && i < f.n; i++)
                if (!cJSON_AddStringToObject(o, r->header[i], f.v[i])) {
                    cJSON_Delete(o);
                    o = NULL;
                }
            if (!o) rc = -2, snprintf(why, whycap, "out of memory reading %s", r->path);
            *obj = o;
        }
        fields_free(&f);
        return rc;
    }
    ssize_t n;
    do {
        n = read_line(r);
        if (n < 0) return ferror(r->f) ? (snprintf(why, whycap, "reading %s: %s", r->path, strerror(errno)), -2) : 0;
    } while (n == 0 || (r->format == SS_FMT_JSONL && strspn(r->line, " \t") == (size_t)n));
    *line = r->lineno;
    if (check_line(r, n, why, whycap)) return -1;
    if (r->format == SS_FMT_TEXT) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "text", r->line)) {
            cJSON_Delete(o);
            snprintf(why, whycap, "out of memory reading %s", r->path);
            return -2;
        }
        *obj = o;
        return 1;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(r->line, (size_t)n, &end, 0);
    if (!o || !cJSON_IsObject(o)) {
        size_t off = o ? 0 : (size_t)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - r->line : 0);
        if (off > (size_t)n) off = 0;
        snprintf(why, whycap, "%s:%zu: %s (near byte offset %zu of the line)", r->path, *line,
                 o ? "a JSON value that is not an object" : "not a valid JSON object", off);
        cJSON_Delete(o);
        return -1;
    }
    *obj = o;
    return 1;
}

/* ---- the embedded text ---------------------------------------------------- */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static int sb_put(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *ns = realloc(b->s, cap);
        if (!ns) return -1;
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return 0;
}

/* Append the text of field `name` (string, number or bool). */
static int put_field(sbuf *b, const cJSON *obj, const char *name, size_t nlen, char *why, size_t whycap) {
    char key[SS_FIELD_NAME_MAX + 1];
    if (nlen >= sizeof key) nlen = sizeof key - 1; /* ss__compose_check refused longer names at creation */
    memcpy(key, name, nlen);
    key[nlen] = '\0';
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char num[64];
    if (!v || cJSON_IsNull(v)) {
        snprintf(why, whycap, "no field '%s'", key);
        return -1;
    }
    if (cJSON_IsString(v)) return sb_put(b, v->valuestring, strlen(v->valuestring));
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d && d > -1e15 && d < 1e15) snprintf(num, sizeof num, "%lld", (long long)d);
        else snprintf(num, sizeof num, "%.17g", d);
        return sb_put(b, num, strlen(num));
    }
    if (cJSON_IsBool(v)) return sb_put(b, cJSON_IsTrue(v) ? "true" : "false", cJSON_IsTrue(v) ? 4 : 5);
    snprintf(why, whycap, "field '%s' is not a string, number or boolean", key);
    return -1;
}

int ss__compose_check(const char *fields, const char *template_text, char *why, size_t whycap) {
    const char *what = template_text ? "template" : "fields", *spec = template_text ? template_text : fields;
    if (!spec) return 0; /* the default, "text" */
    size_t bad = ss__utf8_check(spec, strlen(spec));
    if (bad) return snprintf(why, whycap, "the %s are not valid UTF-8 (byte %zu)", what, bad - 1), -1;
    if (template_text) {
        for (const char *p = template_text; *p;) {
            if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
                p += 2;
            } else if (*p == '{') {
                const char *e = strchr(p, '}');
                if (!e) return snprintf(why, whycap, "template: unclosed '{' at byte %zu", (size_t)(p - template_text)), -1;
                size_t n = (size_t)(e - p - 1);
                if (n == 0) return snprintf(why, whycap, "template: empty field name '{}' at byte %zu", (size_t)(p - template_text)), -1;
                if (n > SS_FIELD_NAME_MAX)
                    return snprintf(why, whycap, "template: a field name of %zu bytes (at most %d)", n, SS_FIELD_NAME_MAX), -1;
                p = e + 1;
            } else {
                p++;
            }
        }
        return 0;
    }
    int names = 0;
    for (const char *f = fields; *f;) {
        size_t n = strcspn(f, ",");
        if (n > SS_FIELD_NAME_MAX)
            return snprintf(why, whycap, "fields: a field name of %zu bytes (at most %d)", n, SS_FIELD_NAME_MAX), -1;
        names += n > 0;
        f += n + (f[n] == ',');
    }
    if (!names) return snprintf(why, whycap, "fields '%s' name no field", fields), -1;
    return 0;
}

char *ss__compose(const ss_collection *c, const void *cobj, char *why, size_t whycap) {
    const cJSON *obj = cobj;
    sbuf b = {0};
    if (sb_put(&b, "", 0)) goto oom;
    if (c->template_text) {
        for (const char *p = c->template_text; *p;) {
            if (p[0] == '{' && p[1] == '{') {
                if (sb_put(&b, "{", 1)) goto oom;
                p += 2;
            } else if (p[0] == '}' && p[1] == '}') {
                if (sb_put(&b, "}", 1)) goto oom;
                p += 2;
            } else if (*p == '{') {
                const char *e = strchr(p, '}');
                if (!e) {
                    snprintf(why, whycap, "template '%s': unclosed '{'", c->template_text);
                    goto bad;
                }
                if (put_field(&b, obj, p + 1, (size_t)(e - p - 1), why, whycap)) goto bad;
                p = e + 1;
            } else {
                if (sb_put(&b, p, 1)) goto oom;
                p++;
            }
        }
    } else {
        const char *f = c->fields ? c->fields : "text";
        int first = 1;
        while (*f) {
            size_t n = strcspn(f, ",");
            if (n > 0) {
                if (!first && sb_put(&b, " ", 1)) goto oom;
                if (put_field(&b, obj, f, n, why, whycap)) goto bad;
                first = 0;
            }
            f += n + (f[n] == ',');
        }
    }
    size_t k = 0;
    while (k < b.n && (b.s[k] == ' ' || b.s[k] == '\t' || b.s[k] == '\n' || b.s[k] == '\r')) k++;
    if (k == b.n) {
        snprintf(why, whycap, "the embedded text is empty");
        goto bad;
    }
    return b.s;
oom:
    snprintf(why, whycap, "out of memory");
bad:
    free(b.s);
    return NULL;
}
