/* auth.c — API keys loaded once; constant-time comparison. */
#include "server/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

struct ss_auth {
    char **keys;
    size_t *lens;
    int n;
};

void ss_auth_free(ss_auth *a) {
    if (!a) return;
    for (int i = 0; i < a->n; i++) {
        /* do not leave secrets in freed memory */
        volatile char *k = a->keys[i];
        for (size_t j = 0; j < a->lens[i]; j++) k[j] = 0;
        free(a->keys[i]);
    }
    free(a->keys);
    free(a->lens);
    free(a);
}

ss_auth *ss_auth_load(const char *path, ss_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        ss_fail(err, SS_ERR_IO, "cannot open API key file %s", path);
        return NULL;
    }
    ss_auth *a = calloc(1, sizeof *a);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int cap_keys = 0;
    while (a && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t'))
            line[--len] = '\0';
        char *k = line;
        while (*k == ' ' || *k == '\t') k++;
        if (!*k || *k == '#') continue;
        if (strpbrk(k, " \t")) {
            ss_fail(err, SS_ERR_FORMAT, "%s:%zu: an API key cannot contain spaces", path, lineno);
            goto fail;
        }
        if (a->n == cap_keys) {
            cap_keys = cap_keys ? cap_keys * 2 : 8;
            char **nk = realloc(a->keys, (size_t)cap_keys * sizeof *nk);
            size_t *nl = nk ? realloc(a->lens, (size_t)cap_keys * sizeof *nl) : NULL;
            if (nk) a->keys = nk;
            if (!nk || !nl) goto oom;
            a->lens = nl;
        }
        if (!(a->keys[a->n] = strdup(k))) goto oom;
        a->lens[a->n++] = strlen(k);
    }
    if (!a) goto oom;
    free(line);
    fclose(f);
    if (a->n == 0) {
        ss_fail(err, SS_ERR_FORMAT, "API key file %s holds no key (one key per line)", path);
        ss_auth_free(a);
        return NULL;
    }
    return a;
oom:
    ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", path);
fail:
    free(line);
    fclose(f);
    ss_auth_free(a);
    return NULL;
}

int ss_auth_count(const ss_auth *a) { return a ? a->n : 0; }

/* 1 when equal; time depends only on the lengths, never on the contents. */
static int ct_equal(const char *a, size_t alen, const char *b, size_t blen) {
    unsigned diff = (unsigned)(alen ^ blen);
    size_t n = alen > blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0, y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}

int ss_auth_check(const ss_auth *a, const char *h) {
    if (!a) return 1;
    if (!h) return 0;
    while (*h == ' ') h++;
    const char *tok = NULL;
    if (!strncasecmp(h, "ApiKey ", 7)) tok = h + 7;
    else if (!strncasecmp(h, "Bearer ", 7)) tok = h + 7;
    if (!tok) return 0;
    while (*tok == ' ') tok++;
    size_t tlen = strlen(tok);
    while (tlen > 0 && tok[tlen - 1] == ' ') tlen--;
    int ok = 0;
    for (int i = 0; i < a->n; i++) ok |= ct_equal(tok, tlen, a->keys[i], a->lens[i]);
    return ok;
}
