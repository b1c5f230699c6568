/* vocab.h — token string <-> id: an id-indexed array of owned strings plus an
 * open-addressing hash table over them (lookups are on the tokenizer hot path). */
#ifndef SS_TOKENIZER_VOCAB_H
#define SS_TOKENIZER_VOCAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hash;
    char *str;       /* owned copy (separate from strs[id]: ids may be reused) */
    uint32_t len;
    int32_t id;
} ss_vocab_entry;

typedef struct ss_vocab {
    char **strs;     /* strs[id]: owned NUL-terminated token, NULL for unused ids */
    int32_t n_ids;   /* ids are 0 .. n_ids-1 */
    int32_t cap_ids;
    ss_vocab_entry *entries; /* one per distinct string */
    size_t n_entries, cap_entries;
    int32_t *slots;  /* index into entries, -1 = empty; size mask+1 (a power of 2) */
    size_t mask;
    size_t max_len;  /* longest token in bytes: longer candidates cannot match */
} ss_vocab;

/* Start an empty vocabulary sized for about n tokens; 0 on success, -1 out of memory. */
int ss_vocab_init(ss_vocab *v, size_t n);
void ss_vocab_free(ss_vocab *v);

/* Map string s[0..len) to id, as a HashMap insert does: a string seen before
 * gets the new id. The id's string slot takes a copy of s. -1 out of memory. */
int ss_vocab_set(ss_vocab *v, const char *s, size_t len, int32_t id);

/* FNV-1a over the concatenation prefix ++ s, without building it. */
static inline uint64_t ss_vocab_hash(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}
#define SS_VOCAB_HASH_SEED 0xcbf29ce484222325ULL

/* Id of prefix ++ s (pre may be NULL when plen is 0), -1 when absent. */
int32_t ss_vocab_find2(const ss_vocab *v, const char *pre, size_t plen, const char *s, size_t n);
static inline int32_t ss_vocab_find(const ss_vocab *v, const char *s, size_t n) {
    return ss_vocab_find2(v, NULL, 0, s, n);
}

#endif
