/* vecio.h — vector files for the CLI, its tests and the benchmarks (tools, not the library):
 * .fvecs (int32 d + d floats per row), .npy (2-D little-endian f4/f2/f8,
 * C order), .jsonl (one JSON array per line, or an object with an
 * "embedding" / "vector" / "values" array). */
#ifndef SS_TOOLS_VECIO_H
#define SS_TOOLS_VECIO_H

#include <stddef.h>

#include "semsearch.h"

/* malloc'd n*d floats; the format is chosen by the file name's extension
 * (.fvecs, .npy, .jsonl / .json; others: the .npy magic, else a structurally
 * valid .fvecs, else JSONL). Shapes are checked with overflow-safe arithmetic
 * and every value must be finite. Errors name the file and the row. */
float *ss_read_vectors(const char *path, size_t *n, int *d, ss_error *err);

/* Write n*d floats as .fvecs. */
ss_status ss_write_fvecs(const char *path, const float *v, size_t n, int d, ss_error *err);

#endif
