/* hnsw.h — the HNSW graph (Malkov & Yashunin) over slots of a store: level
 * generation, insertion with the neighbour-selection heuristic, and the beam
 * search used by queries. The graph reaches vectors only through the
 * distance computer (distance.h); it never writes the store.
 *
 * Link lists. Level 0 of slot s is links0[s * (1 + m0)], level l > 0 is
 * upper[s][(l - 1) * (1 + m)]; each list is a header word then up to m0 (m)
 * slot ids. The header holds the count in its low 16 bits and a version in its
 * high 16 bits: a seqlock, so a search running beside a writer reads either
 * the old or the new list, never a mix of both.
 *  - appending one id (the list is not full): the id is stored, then the
 *    header with count + 1 (release). A reader that saw the old count reads
 *    the old prefix, which is unchanged.
 *  - rewriting a list (pruning): the writer sets the version odd (busy),
 *    stores the new ids, then stores version + 2 and the new count (release).
 *    Readers (links_read in hnsw.c) load the header (acquire), retry while it
 *    is busy, copy the ids (acquire loads), then re-load the header and retry
 *    if the version moved. An id the reader saw from the new list was stored
 *    (release) after the busy mark, so the re-load sees the mark or later.
 * Writers to one list are serialised by a striped mutex (stripes[s % N]).
 * The entry point (slot | (level + 1) << 32, 0 = empty) is one atomic word
 * updated under entry_mu. */
#ifndef SS_INDEX_HNSW_H
#define SS_INDEX_HNSW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "index/distance.h"
#include "index/topk.h"

#define SS_NSTRIPES 1024
#define SS_MAX_LEVEL 30
/* Limits the stack buffers below are sized from (ss_index_new enforces them). */
#define SS_HNSW_MAX_M 512
#define SS_HNSW_MAX_M0 (2 * SS_HNSW_MAX_M)
#define SS_HNSW_MAX_EFC 2000
#define SS_LINK_COUNT(w) ((w) & 0xFFFFu)
#define SS_LINK_BUSY(w) (((w) >> 16) & 1u)
_Static_assert(SS_HNSW_MAX_M0 < 0x10000, "a link count must fit the header's 16 low bits");

/* Per-search scratch: visited tags with an epoch, the two beam heaps, and
 * float space for a stored vector used as a query (5 * dim floats). Pooled by
 * the index (one per concurrent search / linking thread). */
typedef struct scratch {
    uint16_t *tags;
    size_t tags_cap;
    uint16_t epoch;
    cand *h1, *h2;
    size_t hcap, h1cap;
    float *fbuf;
    int fail_grow; /* test hook: the beam heap may not grow (simulated realloc failure) */
    struct scratch *next;
} scratch;

int ss__scratch_reserve(scratch *sc, size_t n_slots, size_t heap, int dim);
void ss__scratch_free(scratch *sc);

typedef struct ss_hnsw {
    int m, m0, ef_c;
    uint64_t seed;
    double level_mult;
    size_t cap;         /* slots allocated                                  */
    uint8_t *levels;    /* top level of each slot                           */
    uint32_t *links0;   /* cap * (1 + m0)                                   */
    uint32_t **upper;   /* per slot: level * (1 + m) words, or NULL         */
    uint64_t ep;        /* entry | (max_level + 1) << 32; 0 = empty graph   */
    size_t upper_words; /* sum of upper list words (read by stats, atomic)  */
    int arrays_mapped;  /* levels / links0 point into the store's file map  */
    pthread_mutex_t entry_mu;
    pthread_mutex_t stripes[SS_NSTRIPES];
} ss_hnsw;

void ss__hnsw_init(ss_hnsw *g, int m, int ef_c, uint64_t seed);
/* Frees what the graph owns; lists inside s's file mapping are left alone. */
void ss__hnsw_free(ss_hnsw *g, const ss_store *s);
/* Exchange the graph data (not the locks) of a and b (compaction). */
void ss__hnsw_swap(ss_hnsw *a, ss_hnsw *b);
/* Make room for `need` slots, `used` of them in use (caller holds readers off). */
ss_status ss__hnsw_grow(ss_hnsw *g, size_t used, size_t need, ss_error *err);
/* A fresh node at slot (new or reused): random level, empty lists. 0 / -1 (no memory). */
int ss__hnsw_node_new(ss_hnsw *g, uint32_t slot);
int ss__hnsw_random_level(const ss_hnsw *g, uint32_t slot);
uint32_t *ss__hnsw_links(const ss_hnsw *g, uint32_t slot, int level);

/* Link slot (its vector already in s) into the graph. 0, or -1 when out of
 * memory (the node is then not, or only partly, linked: insert it again). */
int ss__hnsw_insert(ss_hnsw *g, const ss_store *s, uint32_t slot, scratch *sc);

/* Search: fills out (sorted ascending by distance; room for max(ef, want))
 * with up to `want` live, allowed slots; returns the count, -1 when the walk
 * gave up (filter too selective: the caller should scan exactly), -2 when out
 * of memory. */
int ss__hnsw_search(const ss_hnsw *g, const ss_store *s, const qctx *c, int ef, int want, const ss_filter *f,
                    scratch *sc, cand *out);

/* Check a loaded graph over n slots: levels <= SS_MAX_LEVEL, counts <= m0 / m
 * and not busy, every link target < n and present at that level, the entry
 * point at the top level. Returns 0, or -1 with the reason in why. */
int ss__hnsw_validate(const ss_hnsw *g, size_t n, char *why, size_t whylen);

#endif
