/* error.h — filling an ss_error with what/where/why, and checking calls. */
#ifndef SS_CORE_ERROR_H
#define SS_CORE_ERROR_H

#include "semsearch.h"

/* Set err (if non-NULL) to code + printf-style message; returns code so that
 * callers can write `return ss_fail(err, SS_ERR_IO, "...", ...)`. */
ss_status ss_fail(ss_error *err, ss_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with more context ("loading model X: ..."). */
void ss_error_prefix(ss_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clear err to SS_OK. */
void ss_error_clear(ss_error *err);

#endif
