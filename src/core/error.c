/* error.c — error messages that say what failed, where and why. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ss_status_str(ss_status s) {
    switch (s) {
    case SS_OK: return "ok";
    case SS_ERR_IO: return "i/o error";
    case SS_ERR_FORMAT: return "format error";
    case SS_ERR_INVALID: return "invalid input";
    case SS_ERR_NOMEM: return "out of memory";
    case SS_ERR_UNSUPPORTED: return "unsupported";
    case SS_ERR_NOT_FOUND: return "not found";
    }
    return "unknown error";
}

ss_status ss_fail(ss_error *err, ss_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void ss_error_prefix(ss_error *err, const char *fmt, ...) {
    if (!err) return;
    char buf[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t p = (size_t)n < sizeof buf - 3 ? (size_t)n : sizeof buf - 3;
    memcpy(buf + p, ": ", 2);
    p += 2;
    size_t rest = strlen(err->msg);
    if (rest > sizeof buf - 1 - p) rest = sizeof buf - 1 - p;
    memcpy(buf + p, err->msg, rest);
    buf[p + rest] = '\0';
    memcpy(err->msg, buf, p + rest + 1);
}

void ss_error_clear(ss_error *err) {
    if (!err) return;
    err->code = SS_OK;
    err->msg[0] = '\0';
}
