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
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}

void ss_error_clear(ss_error *err) {
    if (!err) return;
    err->code = SS_OK;
    err->msg[0] = '\0';
}
