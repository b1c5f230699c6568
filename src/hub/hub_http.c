/* hub_http.c — the hub client's HTTP(S) over libcurl: GETs into memory or
 * onto the end of a file (Range resume), following redirects, capturing the
 * hub's headers (ETag, X-Linked-Etag, X-Linked-Size, X-Error-Code, ...). */
#include "hub/hub_internal.h"
#include "core/error.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct hub_http {
    CURL *curl;
    struct curl_slist *headers;
    const hub_config *cfg;
    char errbuf[CURL_ERROR_SIZE];
};

hub_http *hub_http_new(const hub_config *cfg, ss_error *err) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ss_fail(err, SS_ERR_IO, "hub: libcurl failed to initialise");
        return NULL;
    }
    hub_http *h = calloc(1, sizeof *h);
    if (!h) {
        curl_global_cleanup();
        ss_fail(err, SS_ERR_NOMEM, "hub: out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        curl_global_cleanup();
        ss_fail(err, SS_ERR_IO, "hub: libcurl failed to create a handle");
        return NULL;
    }
    if (cfg->token[0]) {
        char auth[1100];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->token);
        h->headers = curl_slist_append(NULL, auth);
        if (!h->headers) {
            hub_http_free(h);
            ss_fail(err, SS_ERR_NOMEM, "hub: out of memory");
            return NULL;
        }
    }
    return h;
}

void hub_http_free(hub_http *h) {
    if (!h) return;
    curl_slist_free_all(h->headers);
    if (h->curl) curl_easy_cleanup(h->curl);
    free(h);
    curl_global_cleanup();
}

char *hub_url_escape(const char *s, int keep_slash) {
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (!out) return NULL;
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out[k++] = (char)c;
        } else {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    out[k] = '\0';
    return out;
}

/* ---- one transfer's state */
typedef struct xfer {
    hub_http *h;
    hub_response *rsp;
    /* into memory */
    char *buf;
    size_t len, cap, max;
    int too_big;
    /* onto a file */
    FILE *f;
    int64_t *offset;
    int started;
    int write_failed;
    int oversize; /* the body ran past the size the listing or headers declared */
    char fail_msg[300];
    /* progress */
    const char *name;
    int64_t expected_total;
    int64_t last_reported;
    size_t err_len;
} xfer;

static void copy_header_value(char *dst, size_t cap, const char *v, size_t n) {
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) n--;
    while (n > 0 && (*v == ' ' || *v == '\t')) v++, n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* ETag values: strip W/ and quotes. */
static void clean_etag(char *s) {
    char *p = s;
    if (!strncmp(p, "W/", 2)) p += 2;
    size_t n = strlen(p);
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        p++;
        n -= 2;
    }
    memmove(s, p, n);
    s[n] = '\0';
}

static int header_is(const char *line, size_t n, const char *name, const char **value,
                     size_t *vlen) {
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) || line[k] != ':') return 0;
    *value = line + k + 1;
    *vlen = n - k - 1;
    return 1;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *user) {
    xfer *x = user;
    hub_response *r = x->rsp;
    size_t n = size * nitems;
    const char *v;
    size_t vl;
    char tmp[300];
    if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
        r->blocks++;
        const char *sp = memchr(data, ' ', n);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->content_length = -1;
        r->range_start = -1;
        r->range_total = -1;
        return n;
    }
    if (header_is(data, n, "etag", &v, &vl)) {
        if (r->blocks == 1) {
            copy_header_value(r->etag, sizeof r->etag, v, vl);
            clean_etag(r->etag);
        }
    } else if (header_is(data, n, "x-linked-etag", &v, &vl)) {
        copy_header_value(r->linked_etag, sizeof r->linked_etag, v, vl);
        clean_etag(r->linked_etag);
    } else if (header_is(data, n, "x-linked-size", &v, &vl)) {
        copy_header_value(tmp, sizeof tmp, v, vl);
        r->linked_size = strtoll(tmp, NULL, 10);
    } else if (header_is(data, n, "content-length", &v, &vl)) {
        copy_header_value(tmp, sizeof tmp, v, vl);
        r->content_length = strtoll(tmp, NULL, 10);
    } else if (header_is(data, n, "content-range", &v, &vl)) {
        /* bytes A-B/T or bytes * /T */
        copy_header_value(tmp, sizeof tmp, v, vl);
        const char *p = tmp;
        if (!strncasecmp(p, "bytes", 5)) p += 5;
        while (*p == ' ') p++;
        if (isdigit((unsigned char)*p)) r->range_start = strtoll(p, NULL, 10);
        const char *slash = strchr(p, '/');
        if (slash && isdigit((unsigned char)slash[1])) r->range_total = strtoll(slash + 1, NULL, 10);
    } else if (header_is(data, n, "x-error-code", &v, &vl)) {
        copy_header_value(r->error_code, sizeof r->error_code, v, vl);
    } else if (header_is(data, n, "x-error-message", &v, &vl)) {
        copy_header_value(r->error_message, sizeof r->error_message, v, vl);
    }
    return n;
}

static int status_ok(long s) { return s >= 200 && s < 300; }

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    xfer *x = user;
    hub_response *r = x->rsp;
    size_t n = size * nmemb;
    if (!status_ok(r->status)) {
        /* keep the start of an error page for the message */
        size_t room = sizeof r->body_error - 1 - x->err_len;
        size_t k = n < room ? n : room;
        memcpy(r->body_error + x->err_len, data, k);
        x->err_len += k;
        r->body_error[x->err_len] = '\0';
        return n;
    }
    if (x->f) {
        if (!x->started) {
            x->started = 1;
            if (r->status == 206) {
                if (r->range_start != *x->offset) {
                    snprintf(x->fail_msg, sizeof x->fail_msg,
                             "the server resumed at byte %" PRId64 " instead of %" PRId64,
                             r->range_start, *x->offset);
                    x->write_failed = 1;
                    return 0;
                }
            } else if (*x->offset > 0) {
                /* the server ignored Range: start the file over */
                if (fflush(x->f) != 0 || ftruncate(fileno(x->f), 0) != 0 ||
                    fseek(x->f, 0, SEEK_SET) != 0) {
                    snprintf(x->fail_msg, sizeof x->fail_msg, "cannot truncate: %s", strerror(errno));
                    x->write_failed = 1;
                    return 0;
                }
                *x->offset = 0;
            }
        }
        /* A body longer than declared is stopped before the excess is written:
         * the listing's size (else X-Linked-Size, Content-Range's total, or a
         * 200's Content-Length) bounds what may land on disk. */
        int64_t limit = x->expected_total;
        if (limit < 0) limit = r->linked_size;
        if (limit < 0) limit = r->range_total;
        if (limit < 0 && r->status == 200) limit = r->content_length;
        if (limit >= 0 && *x->offset + (int64_t)n > limit) {
            snprintf(x->fail_msg, sizeof x->fail_msg,
                     "the server sent more than the %" PRId64 " bytes declared for this file; download stopped at "
                     "byte %" PRId64,
                     limit, *x->offset);
            x->write_failed = x->oversize = 1;
            return 0;
        }
        if (fwrite(data, 1, n, x->f) != n) {
            snprintf(x->fail_msg, sizeof x->fail_msg, "cannot write: %s", strerror(errno));
            x->write_failed = 1;
            return 0;
        }
        *x->offset += (int64_t)n;
        return n;
    }
    if (x->len + n > x->max) {
        x->too_big = 1;
        return 0;
    }
    if (x->len + n + 1 > x->cap) {
        size_t nc = x->cap ? x->cap : 4096;
        while (nc < x->len + n + 1) nc *= 2;
        char *nb = realloc(x->buf, nc);
        if (!nb) {
            x->too_big = 1;
            return 0;
        }
        x->buf = nb;
        x->cap = nc;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    (void)dlnow, (void)ultotal, (void)ulnow;
    xfer *x = user;
    const hub_config *cfg = x->h->cfg;
    if (!x->f || !cfg->progress || !x->name || !status_ok(x->rsp->status) || !x->started)
        return 0;
    int64_t done = *x->offset;
    if (done == x->last_reported) return 0;
    x->last_reported = done;
    int64_t total = x->expected_total;
    if (total <= 0 && x->rsp->range_total > 0) total = x->rsp->range_total;
    if (total <= 0 && dltotal > 0 && x->rsp->status == 200) total = (int64_t)dltotal;
    cfg->progress(cfg->progress_user, x->name, (uint64_t)done, total > 0 ? (uint64_t)total : 0);
    return 0;
}

static ss_status perform(hub_http *h, const char *url, xfer *x, const char *range, ss_error *err) {
    CURL *c = h->curl;
    hub_response *r = x->rsp;
    memset(r, 0, sizeof *r);
    r->linked_size = r->content_length = r->range_start = r->range_total = -1;
    h->errbuf[0] = '\0';
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(c, CURLOPT_USERAGENT, "semsearch/" SEMSEARCH_VERSION " (libcurl)");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)h->cfg->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)h->cfg->stall_timeout_s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    if (h->headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (range) curl_easy_setopt(c, CURLOPT_RANGE, range);
    CURLcode rc = curl_easy_perform(c);
    r->curl_code = (int)rc;
    if (rc != CURLE_OK) {
        const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
        copy_header_value(r->curl_error, sizeof r->curl_error, why, strlen(why));
    }
    if (x->write_failed)
        return ss_fail(err, x->oversize ? SS_ERR_FORMAT : SS_ERR_IO, "%s: %s", url, x->fail_msg);
    if (x->too_big)
        return ss_fail(err, SS_ERR_FORMAT, "%s: response larger than %zu bytes", url, x->max);
    /* the caller interprets statuses and curl errors */
    return SS_OK;
}

ss_status hub_http_get_mem(hub_http *h, const char *url, size_t max, char **body, size_t *len,
                           hub_response *rsp, ss_error *err) {
    xfer x = {0};
    x.h = h;
    x.rsp = rsp;
    x.max = max;
    *body = NULL;
    ss_status st = perform(h, url, &x, NULL, err);
    if (st) {
        free(x.buf);
        return st;
    }
    if (!x.buf) x.buf = calloc(1, 1);
    if (!x.buf) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    *body = x.buf;
    if (len) *len = x.len;
    return SS_OK;
}

ss_status hub_http_get_file(hub_http *h, const char *url, FILE *f, int64_t *offset,
                            const char *progress_name, int64_t expected_total,
                            hub_response *rsp, ss_error *err) {
    xfer x = {0};
    x.h = h;
    x.rsp = rsp;
    x.f = f;
    x.offset = offset;
    x.name = progress_name;
    x.expected_total = expected_total;
    x.last_reported = -1;
    char range[48];
    if (*offset > 0) snprintf(range, sizeof range, "%" PRId64 "-", *offset);
    ss_status st = perform(h, url, &x, *offset > 0 ? range : NULL, err);
    if (fflush(f) != 0 && !st)
        st = ss_fail(err, SS_ERR_IO, "%s: cannot write the download: %s", url, strerror(errno));
    return st;
}
