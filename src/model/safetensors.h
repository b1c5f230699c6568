/* safetensors.h — a validated, mmap'd view of a .safetensors file.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
 * then the data region; offsets are relative to the data region. */
#ifndef SS_MODEL_SAFETENSORS_H
#define SS_MODEL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/fileio.h"
#include "semsearch.h"

typedef enum { SS_DT_F32, SS_DT_F16, SS_DT_BF16, SS_DT_OTHER } ss_dtype;

#define SS_ST_MAX_DIMS 8

typedef struct ss_st_tensor {
    char *name;
    ss_dtype dtype;
    char dtype_name[16];
    int ndim;
    int64_t shape[SS_ST_MAX_DIMS];
    const unsigned char *data; /* into the mapping */
    size_t nbytes;
} ss_st_tensor;

typedef struct ss_safetensors {
    char *path;
    ss_mmap map;
    ss_st_tensor *tensors;
    int n_tensors;
} ss_safetensors;

/* Map and validate the file: header length within the file, JSON well-formed,
 * every tensor's dtype known, shape × dtype size == byte range, ranges inside
 * the data region. Errors name the file and the offending tensor. */
ss_status ss_st_open(ss_safetensors *st, const char *path, ss_error *err);
void ss_st_close(ss_safetensors *st);

const ss_st_tensor *ss_st_find(const ss_safetensors *st, const char *name);

/* Copy a tensor into a new fp32 array (converting F16 / BF16), after checking
 * it has exactly the expected shape (ndim entries of `shape`). Errors name the
 * tensor, the expected and the actual shape. */
float *ss_st_read_f32(const ss_safetensors *st, const char *name, int ndim, const int64_t *shape,
                      ss_error *err);


#endif
