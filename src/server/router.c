/* router.c — a small route table: patterns split into segments once, matched
 * segment by segment; the most specific match (most literal segments, leftmost
 * first) wins, independent of registration order. */
#include "server/router.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 8

typedef struct route {
    char method[8];
    char *pattern;
    int n_segs;
    char *segs[MAX_SEGS]; /* literal text, or the param name for "{name}" */
    int is_param[MAX_SEGS];
    ss_handler_fn fn;
} route;

struct ss_router {
    void *app;
    route *routes;
    int n, cap;
};

ss_router *ss_router_new(void *app) {
    ss_router *rt = calloc(1, sizeof *rt);
    if (rt) rt->app = app;
    return rt;
}

void ss_router_free(ss_router *rt) {
    if (!rt) return;
    for (int i = 0; i < rt->n; i++) {
        free(rt->routes[i].pattern);
        for (int s = 0; s < rt->routes[i].n_segs; s++) free(rt->routes[i].segs[s]);
    }
    free(rt->routes);
    free(rt);
}

void *ss_router_app(const ss_router *rt) { return rt->app; }

/* Split "/a/b/c" into segments (pointers into a copy); "/" has zero segments.
 * Empty segments ("//", trailing "/") are skipped, as Elasticsearch does. */
static int split(char *path, char **segs, int max) {
    int n = 0;
    for (char *p = path; *p;) {
        while (*p == '/') p++;
        if (!*p) break;
        if (n == max) return -1;
        segs[n++] = p;
        while (*p && *p != '/') p++;
        if (*p) *p++ = '\0';
    }
    return n;
}

int ss_router_add(ss_router *rt, const char *method, const char *pattern, ss_handler_fn fn) {
    if (strlen(method) >= sizeof rt->routes[0].method || pattern[0] != '/') return -1;
    if (rt->n == rt->cap) {
        int nc = rt->cap ? rt->cap * 2 : 32;
        route *nr = realloc(rt->routes, (size_t)nc * sizeof *nr);
        if (!nr) return -1;
        rt->routes = nr;
        rt->cap = nc;
    }
    route *r = &rt->routes[rt->n];
    memset(r, 0, sizeof *r);
    strcpy(r->method, method);
    char *copy = strdup(pattern), *segs[MAX_SEGS];
    r->pattern = strdup(pattern);
    int n = copy && r->pattern ? split(copy, segs, MAX_SEGS) : -1;
    int params = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(segs[i]);
        r->is_param[i] = len > 2 && segs[i][0] == '{' && segs[i][len - 1] == '}';
        if (r->is_param[i]) {
            segs[i][len - 1] = '\0';
            segs[i]++;
            params++;
        }
        if (!(r->segs[i] = strdup(segs[i]))) n = -1;
        else r->n_segs = i + 1;
    }
    free(copy);
    if (n < 0 || params > SS_ROUTE_MAX_PARAMS) {
        free(r->pattern);
        for (int s = 0; s < r->n_segs; s++) free(r->segs[s]);
        return -1;
    }
    r->fn = fn;
    rt->n++;
    return 0;
}

/* Specificity score of route r for these segments: -1 when it does not match,
 * else a bitmask with a 1 for each literal segment, leftmost most significant. */
static long score(const route *r, char **segs, int n) {
    if (r->n_segs != n) return -1;
    long s = 0;
    for (int i = 0; i < n; i++) {
        s <<= 1;
        if (r->is_param[i]) continue;
        if (strcmp(r->segs[i], segs[i]) != 0) return -1;
        s |= 1;
    }
    return s;
}

int ss_router_match(const ss_router *rt, const char *method, const char *path, ss_route_match *m,
                    char *allowed, size_t cap) {
    char *copy = strdup(path ? path : "/"), *segs[MAX_SEGS];
    if (!copy) return 0;
    int n = split(copy, segs, MAX_SEGS);
    const route *best = NULL, *best_get = NULL;
    long best_s = -1, best_get_s = -1, any_s = -1;
    int is_head = !strcmp(method, "HEAD");
    for (int i = 0; n >= 0 && i < rt->n; i++) {
        long s = score(&rt->routes[i], segs, n);
        if (s < 0) continue;
        if (s > any_s) any_s = s;
        if (!strcmp(rt->routes[i].method, method) && s > best_s) best = &rt->routes[i], best_s = s;
        if (is_head && !strcmp(rt->routes[i].method, "GET") && s > best_get_s)
            best_get = &rt->routes[i], best_get_s = s;
    }
    /* A more specific path that lacks this method is "method not allowed",
     * not a fall-through to a looser pattern. */
    if (!best || best_s < any_s) {
        if (best_get && best_get_s >= any_s) best = best_get, best_s = best_get_s;
        else best = NULL;
    }
    if (!best) {
        int rc = 0;
        if (any_s >= 0 && allowed && cap) {
            allowed[0] = '\0';
            for (int i = 0; i < rt->n; i++) {
                if (score(&rt->routes[i], segs, n) != any_s || strstr(allowed, rt->routes[i].method)) continue;
                if (strlen(allowed) + strlen(rt->routes[i].method) + 2 >= cap) break;
                if (allowed[0]) strcat(allowed, ",");
                strcat(allowed, rt->routes[i].method);
                if (!strcmp(rt->routes[i].method, "GET") && strlen(allowed) + 6 < cap) strcat(allowed, ",HEAD");
            }
            rc = -1;
        }
        free(copy);
        return rc;
    }
    memset(m, 0, sizeof *m);
    m->pattern = best->pattern;
    m->handler = best->fn;
    for (int i = 0; i < n; i++) {
        if (!best->is_param[i]) continue;
        m->names[m->n_params] = best->segs[i];
        m->values[m->n_params++] = strdup(segs[i]);
    }
    free(copy);
    return 1;
}

void ss_route_match_clear(ss_route_match *m) {
    for (int i = 0; i < m->n_params; i++) free(m->values[i]);
    m->n_params = 0;
}
