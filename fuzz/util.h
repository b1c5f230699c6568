/* util.h — what every libFuzzer harness in fuzz/ shares: one private
 * temp folder per process (the loaders under test read files, not memory),
 * removed at exit; fuzz/run.sh points TMPDIR at a folder of its own and
 * removes that after the run, so even a crash leaves nothing behind. */
#ifndef SS_FUZZ_UTIL_H
#define SS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The process's temp folder ($TMPDIR or /tmp, "semsearch-fuzz.XXXXXX"),
 * created on first use; aborts if it cannot be made (a harness bug, not a
 * finding). Everything written through fz_write / fz_path lives in it. */
const char *fz_dir(void);

/* fz_dir()/name into a static buffer (harnesses are single-threaded). */
const char *fz_path(const char *name);

/* Replace fz_dir()/name with n bytes; aborts on a write error. */
void fz_write(const char *name, const void *data, size_t n);

/* Remove fz_dir()/name if present. */
void fz_unlink(const char *name);

/* Remove fz_dir()/name and everything under it, if present. */
void fz_rmtree(const char *name);

/* Make fz_dir()/name a folder (no error if it exists). */
void fz_mkdir(const char *name);

/* CRC32C (Castagnoli), bitwise: the same function as ss__crc32c, written
 * again so that the harnesses that fix up checksums do not trust the code
 * under test. */
uint32_t fz_crc32c(const uint8_t *p, size_t n);

/* Read a whole file (for fixed inputs next to the harness); aborts when it
 * cannot, since a missing prerequisite must fail the run, not pass it. */
void *fz_slurp(const char *path, size_t *n);

#endif
