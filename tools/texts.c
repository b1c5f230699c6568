/* texts.c — the CLI's text inputs: one text per line, or a string field of
 * JSONL objects, from stdin or one or more files (in order). Every text keeps
 * its file and line so that later errors can name them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"

static int push(cli_texts *t, char *s, const char *file, size_t line, size_t *cap) {
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        char **nt = realloc(t->texts, nc * sizeof *nt);
        if (nt) t->texts = nt;
        const char **nf = nt ? realloc(t->file, nc * sizeof *nf) : NULL;
        if (nf) t->file = nf;
        size_t *nl = nf ? realloc(t->line, nc * sizeof *nl) : NULL;
        if (!nl) return -1;
        t->line = nl;
        *cap = nc;
    }
    t->texts[t->n] = s;
    t->file[t->n] = file;
    t->line[t->n++] = line;
    return 0;
}

/* 1 if a JSON string in line[0..len) holds the escape \u0000: cJSON would
 * decode it to a NUL and every C string after it would be cut short. */
static int has_escaped_nul(const char *s, size_t len) {
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        if (!in_str) {
            in_str = s[i] == '"';
        } else if (s[i] == '\\') {
            if (i + 5 < len && s[i + 1] == 'u' && !strncmp(s + i + 2, "0000", 4)) return 1;
            i++; /* skip the escaped character */
        } else if (s[i] == '"') {
            in_str = 0;
        }
    }
    return 0;
}

/* The LAST member named key, as Python's json keeps duplicate keys. */
static const cJSON *last_member(const cJSON *obj, const char *key) {
    const cJSON *found = NULL;
    for (const cJSON *c = obj->child; c; c = c->next)
        if (c->string && !strcmp(c->string, key)) found = c;
    return found;
}

/* Append the texts of one input to out. */
static int read_one(const char *path, const char *field, cli_texts *out, size_t *cap) {
    int is_stdin = !path || !strcmp(path, "-");
    const char *name = is_stdin ? "<stdin>" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "semsearch: cannot open input %s: %s\n", name, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "semsearch: input %s is a directory, not a text file\n", name);
        if (!is_stdin) fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (memchr(line, '\0', (size_t)len)) {
            fprintf(stderr, "semsearch: %s:%zu: line contains a NUL byte\n", name, lineno);
            rc = -1;
            break;
        }
        char *text;
        if (field) {
            if (len == 0) continue; /* blank lines between JSON objects */
            /* exactly one JSON value on the line: a second object is an error, not dropped */
            /* (len + 1: cJSON's check wants to see the terminating NUL) */
            cJSON *j = cJSON_ParseWithLengthOpts(line, (size_t)len + 1, NULL, 1);
            const cJSON *v = cJSON_IsObject(j) ? last_member(j, field) : NULL;
            const char *why = !j ? "not one valid JSON object (a syntax error, or a second value on the line)"
                              : !cJSON_IsObject(j) ? "not a JSON object"
                              : !cJSON_IsString(v) ? "no string field with the requested name"
                              : has_escaped_nul(line, (size_t)len)
                                  ? "a string contains \\u0000 (a NUL character), which semsearch cannot embed"
                                  : NULL;
            if (why) {
                fprintf(stderr, "semsearch: %s:%zu: %s\n", name, lineno, why);
                if (v && cJSON_IsString(v)) /* the \u0000 case: the shape was right */;
                else fprintf(stderr, "  (expected {\"%s\": \"text\", ...} on every line)\n", field);
                cJSON_Delete(j);
                rc = -1;
                break;
            }
            text = strdup(v->valuestring);
            cJSON_Delete(j);
        } else {
            text = strdup(line);
        }
        if (!text || push(out, text, name, lineno, cap) != 0) {
            free(text);
            fprintf(stderr, "semsearch: out of memory reading %s\n", name);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "semsearch: error reading %s: %s\n", name, strerror(errno));
        rc = -1;
    }
    free(line);
    if (!is_stdin) fclose(f);
    return rc;
}

int cli_read_texts_many(const char *const *paths, int n_paths, const char *field, cli_texts *out) {
    memset(out, 0, sizeof *out);
    out->n_inputs = n_paths > 0 ? n_paths : 1;
    size_t cap = 0;
    for (int i = 0; i < out->n_inputs; i++)
        if (read_one(n_paths > 0 ? paths[i] : NULL, field, out, &cap) != 0) {
            cli_texts_free(out);
            return -1;
        }
    return 0;
}

int cli_read_texts(const char *path, const char *field, cli_texts *out) {
    return cli_read_texts_many(&path, 1, field, out);
}

const char *cli_where(const cli_texts *t, size_t i, char *buf, size_t cap) {
    if (i >= t->n) snprintf(buf, cap, "input text %zu", i + 1);
    else if (t->n_inputs <= 1) snprintf(buf, cap, "input line %zu", t->line[i]);
    else snprintf(buf, cap, "input %s:%zu", t->file[i], t->line[i]);
    return buf;
}

void cli_texts_free(cli_texts *t) {
    for (size_t i = 0; i < t->n; i++) free(t->texts[i]);
    free(t->texts);
    free(t->file);
    free(t->line);
    memset(t, 0, sizeof *t);
}
