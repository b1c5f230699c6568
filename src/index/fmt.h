/* fmt.h — what the snapshot (persist.c) and the delta log (log.c) share:
 * CRC32C, a write loop that reports short writes, and making a rename
 * durable. */
#ifndef SS_INDEX_FMT_H
#define SS_INDEX_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "semsearch.h"

uint32_t ss__crc32c(uint32_t crc, const void *buf, size_t len);
/* write all n bytes (EINTR retried); fn / path name the error */
ss_status ss__write_all(int fd, const void *p, size_t n, const char *fn, const char *path, ss_error *err);
/* fsync the folder holding path (so a rename into it survives a crash) */
void ss__fsync_dir(const char *path);

#endif
