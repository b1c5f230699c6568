/* vocab.c — token string <-> id table. */
#include "tokenizer/vocab.h"

#include <stdlib.h>
#include <string.h>

int ss_vocab_init(ss_vocab *v, size_t n) {
    memset(v, 0, sizeof *v);
    size_t slots = 16;
    while (slots < 2 * n + 2) slots *= 2; /* load factor <= 1/2 keeps probes short */
    v->slots = malloc(slots * sizeof *v->slots);
    v->entries = malloc((n + 1) * sizeof *v->entries);
    v->strs = calloc(n + 1, sizeof *v->strs);
    if (!v->slots || !v->entries || !v->strs) {
        ss_vocab_free(v);
        return -1;
    }
    memset(v->slots, 0xFF, slots * sizeof *v->slots);
    v->mask = slots - 1;
    v->cap_entries = n + 1;
    v->cap_ids = (int32_t)(n + 1);
    return 0;
}

void ss_vocab_free(ss_vocab *v) {
    if (v->strs)
        for (int32_t i = 0; i < v->n_ids; i++) free(v->strs[i]);
    if (v->entries)
        for (size_t e = 0; e < v->n_entries; e++) free(v->entries[e].str);
    free(v->strs);
    free(v->entries);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

static int grow_slots(ss_vocab *v) {
    size_t n = (v->mask + 1) * 2;
    int32_t *slots = malloc(n * sizeof *slots);
    if (!slots) return -1;
    memset(slots, 0xFF, n * sizeof *slots);
    for (size_t e = 0; e < v->n_entries; e++) {
        size_t i = (size_t)v->entries[e].hash & (n - 1);
        while (slots[i] >= 0) i = (i + 1) & (n - 1);
        slots[i] = (int32_t)e;
    }
    free(v->slots);
    v->slots = slots;
    v->mask = n - 1;
    return 0;
}

int32_t ss_vocab_find2(const ss_vocab *v, const char *pre, size_t plen, const char *s, size_t n) {
    uint64_t h = ss_vocab_hash(ss_vocab_hash(SS_VOCAB_HASH_SEED, pre, plen), s, n);
    for (size_t i = (size_t)h & v->mask;; i = (i + 1) & v->mask) {
        int32_t e = v->slots[i];
        if (e < 0) return -1;
        const ss_vocab_entry *en = &v->entries[e];
        if (en->hash == h && en->len == plen + n && (plen == 0 || memcmp(en->str, pre, plen) == 0) &&
            memcmp(en->str + plen, s, n) == 0)
            return en->id;
    }
}

static char *dup_n(const char *s, size_t len) {
    char *c = malloc(len + 1);
    if (c) {
        memcpy(c, s, len);
        c[len] = '\0';
    }
    return c;
}

int ss_vocab_set(ss_vocab *v, const char *s, size_t len, int32_t id) {
    if (id < 0 || id == INT32_MAX || len > UINT32_MAX) return -1;
    if (id >= v->cap_ids) {
        int32_t cap = v->cap_ids < INT32_MAX / 2 && v->cap_ids * 2 > id + 1 ? v->cap_ids * 2 : id + 1;
        char **strs = realloc(v->strs, (size_t)cap * sizeof *strs);
        if (!strs) return -1;
        memset(strs + v->cap_ids, 0, (size_t)(cap - v->cap_ids) * sizeof *strs);
        v->strs = strs;
        v->cap_ids = cap;
    }
    /* id -> string (an id given twice keeps its newest string) */
    char *copy = dup_n(s, len);
    if (!copy) return -1;
    free(v->strs[id]);
    v->strs[id] = copy;
    if (id >= v->n_ids) v->n_ids = id + 1;

    /* string -> id */
    uint64_t h = ss_vocab_hash(SS_VOCAB_HASH_SEED, s, len);
    size_t i = (size_t)h & v->mask;
    for (; v->slots[i] >= 0; i = (i + 1) & v->mask) {
        ss_vocab_entry *en = &v->entries[v->slots[i]];
        if (en->hash == h && en->len == len && memcmp(en->str, s, len) == 0) {
            en->id = id; /* seen before: last wins, as a HashMap insert */
            return 0;
        }
    }
    if (v->n_entries == v->cap_entries) {
        size_t cap = v->cap_entries * 2;
        ss_vocab_entry *e = realloc(v->entries, cap * sizeof *e);
        if (!e) return -1;
        v->entries = e;
        v->cap_entries = cap;
    }
    char *key = dup_n(s, len);
    if (!key) return -1;
    v->entries[v->n_entries] = (ss_vocab_entry){h, key, (uint32_t)len, id};
    v->slots[i] = (int32_t)v->n_entries++;
    if (len > v->max_len) v->max_len = len;
    if (2 * v->n_entries > v->mask + 1) return grow_slots(v);
    return 0;
}
