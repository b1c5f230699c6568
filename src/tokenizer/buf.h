/* buf.h — growable byte and code-point buffers for one encode call. */
#ifndef SS_TOKENIZER_BUF_H
#define SS_TOKENIZER_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct { char *v; size_t n, cap; } ss_bytes;
typedef struct { uint32_t *v; size_t n, cap; } ss_cps;

/* Make room for `more` further elements; 0 on success, -1 out of memory. */
static inline int ss_bytes_reserve(ss_bytes *b, size_t more) {
    if (b->n + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + more) cap *= 2;
    char *v = realloc(b->v, cap);
    if (!v) return -1;
    b->v = v;
    b->cap = cap;
    return 0;
}
static inline int ss_cps_reserve(ss_cps *b, size_t more) {
    if (b->n + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + more) cap *= 2;
    uint32_t *v = realloc(b->v, cap * sizeof *v);
    if (!v) return -1;
    b->v = v;
    b->cap = cap;
    return 0;
}

#endif
