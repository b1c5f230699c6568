/* router.h — method + path pattern -> handler.
 *
 * Patterns are '/'-separated segments; "{name}" matches one non-empty
 * segment and is readable in the handler via ss_http_param(r, "name").
 * A path matches the most specific route: literal segments beat {params}
 * segment by segment, so "/_cluster/health" wins over "/{index}/{x}" and
 * new APIs (the Elasticsearch index/doc/_search handlers over collections)
 * are added by registering more routes, nothing else.
 *
 * Thread safety: routes are added before the server starts; lookups after
 * that are read-only and run concurrently.
 */
#ifndef SS_SERVER_ROUTER_H
#define SS_SERVER_ROUTER_H

#include "server/http.h"

/* Returns SS_HTTP_DONE (resp filled) or SS_HTTP_DEFERRED (ss_http_defer called). */
typedef int (*ss_handler_fn)(ss_http_req *r, ss_http_resp *resp);

#define SS_ROUTE_MAX_PARAMS 4

typedef struct ss_route_match {
    const char *pattern;  /* the route's pattern (metrics label) */
    ss_handler_fn handler;
    int n_params;
    const char *names[SS_ROUTE_MAX_PARAMS];
    char *values[SS_ROUTE_MAX_PARAMS]; /* malloc'd; ss_route_match_clear frees */
} ss_route_match;

ss_router *ss_router_new(void *app);
void ss_router_free(ss_router *rt);
void *ss_router_app(const ss_router *rt);

/* Register a route. method is "GET", "POST", ... (HEAD is answered by a GET
 * route when no HEAD route exists). Returns -1 on a malformed pattern or OOM. */
int ss_router_add(ss_router *rt, const char *method, const char *pattern, ss_handler_fn fn);

/* Find the handler for method + path. Returns 1 and fills m on a match;
 * 0 when no route has this path (m untouched); -1 when some route has the
 * path but not the method: allowed (cap bytes) lists the methods, "GET,HEAD". */
int ss_router_match(const ss_router *rt, const char *method, const char *path, ss_route_match *m,
                    char *allowed, size_t cap);
void ss_route_match_clear(ss_route_match *m);

#endif
