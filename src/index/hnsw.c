/* hnsw.c — the HNSW graph: level generation, insertion with hnswlib's
 * neighbour-selection heuristic, concurrent linking, the beam search used by
 * queries (allow-lists and tombstones), and validation of a loaded graph.
 * See hnsw.h for the link-list layout and how lists are published. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "index/bigalloc.h"
#include "index/hnsw.h"

/* ---------------------------------------------------------------- scratch */

int ss__scratch_reserve(scratch *sc, size_t n_slots, size_t heap, int dim) {
    if (sc->tags_cap < n_slots) {
        size_t nc = n_slots + n_slots / 2 + 1024;
        uint16_t *t = calloc(nc, sizeof *t);
        if (!t) return -1;
        free(sc->tags);
        sc->tags = t;
        sc->tags_cap = nc;
        sc->epoch = 0;
    }
    if (sc->hcap < heap) {
        size_t nc = heap * 2 + 64;
        cand *a = malloc(nc * sizeof *a), *b = malloc(nc * sizeof *b);
        if (!a || !b) {
            free(a);
            free(b);
            return -1;
        }
        free(sc->h1);
        free(sc->h2);
        sc->h1 = a;
        sc->h2 = b;
        sc->hcap = nc;
        sc->h1cap = nc;
    }
    if (sc->fail_grow && sc->h1cap > 4) sc->h1cap = 4; /* test hook: force the growth path */
    if (!sc->fbuf) {
        sc->fbuf = malloc((size_t)dim * 5 * sizeof(float) + 64);
        if (!sc->fbuf) return -1;
    }
    return 0;
}

void ss__scratch_free(scratch *sc) {
    if (!sc) return;
    free(sc->tags);
    free(sc->h1);
    free(sc->h2);
    free(sc->fbuf);
    free(sc);
}

/* ---------------------------------------------------------------- graph data */

void ss__hnsw_init(ss_hnsw *g, int m, int ef_c, uint64_t seed) {
    memset(g, 0, sizeof *g);
    g->m = m;
    g->m0 = 2 * m;
    g->ef_c = ef_c;
    g->seed = seed;
    g->level_mult = 1.0 / log((double)m);
    pthread_mutex_init(&g->entry_mu, NULL);
    for (int i = 0; i < SS_NSTRIPES; i++) pthread_mutex_init(&g->stripes[i], NULL);
}

static void graph_data_free(ss_hnsw *g, const ss_store *s) {
    if (g->upper)
        for (size_t i = 0; i < g->cap; i++)
            if (g->upper[i] && !ss__store_in_map(s, g->upper[i])) free(g->upper[i]);
    free(g->upper);
    if (!g->arrays_mapped) {
        free(g->levels);
        free(g->links0);
    }
    g->upper = NULL, g->levels = NULL, g->links0 = NULL;
    g->cap = 0, g->ep = 0, g->upper_words = 0, g->arrays_mapped = 0;
}

void ss__hnsw_free(ss_hnsw *g, const ss_store *s) {
    graph_data_free(g, s);
    pthread_mutex_destroy(&g->entry_mu);
    for (int i = 0; i < SS_NSTRIPES; i++) pthread_mutex_destroy(&g->stripes[i]);
}

void ss__hnsw_swap(ss_hnsw *a, ss_hnsw *b) {
#define SW(f)                                                                                                \
    do {                                                                                                     \
        __typeof__(a->f) t_ = a->f;                                                                          \
        a->f = b->f;                                                                                         \
        b->f = t_;                                                                                           \
    } while (0)
    SW(cap);
    SW(levels);
    SW(links0);
    SW(upper);
    SW(arrays_mapped);
    uint64_t ep = a->ep;
    __atomic_store_n(&a->ep, b->ep, __ATOMIC_RELEASE);
    b->ep = ep;
    size_t uw = a->upper_words;
    __atomic_store_n(&a->upper_words, b->upper_words, __ATOMIC_RELAXED);
    b->upper_words = uw;
#undef SW
}

ss_status ss__hnsw_grow(ss_hnsw *g, size_t used, size_t need, ss_error *err) {
    if (need <= g->cap) return SS_OK;
    size_t l0 = (size_t)(1 + g->m0);
    uint8_t *levels = malloc(need);
    uint32_t *links0 = ss__alloc_big(need * l0 * 4);
    uint32_t **upper = calloc(need, sizeof *upper);
    if (!levels || !links0 || !upper) {
        free(levels), free(links0), free(upper);
        return ss_fail(err, SS_ERR_NOMEM, "ss_index_add: out of memory growing the HNSW graph to %zu nodes", need);
    }
    if (used) {
        memcpy(levels, g->levels, used);
        memcpy(links0, g->links0, used * l0 * 4);
        memcpy(upper, g->upper, used * sizeof *upper);
    }
    if (!g->arrays_mapped) free(g->levels), free(g->links0);
    free(g->upper); /* the pointer array itself is always heap */
    g->levels = levels, g->links0 = links0, g->upper = upper;
    g->cap = need;
    g->arrays_mapped = 0;
    return SS_OK;
}

int ss__hnsw_random_level(const ss_hnsw *g, uint32_t slot) {
    uint64_t z = g->seed + 0x9E3779B97F4A7C15ull * ((uint64_t)slot + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double u = ((double)(z >> 11) + 1.0) / 9007199254740993.0; /* (0, 1] */
    int lv = (int)(-log(u) * g->level_mult);
    return lv > SS_MAX_LEVEL ? SS_MAX_LEVEL : lv;
}

int ss__hnsw_node_new(ss_hnsw *g, uint32_t slot) {
    int lv = ss__hnsw_random_level(g, slot);
    g->levels[slot] = (uint8_t)lv;
    g->links0[(size_t)slot * (1 + g->m0)] = 0;
    g->upper[slot] = NULL;
    if (lv > 0) {
        g->upper[slot] = calloc((size_t)lv * (1 + g->m), sizeof(uint32_t));
        if (!g->upper[slot]) {
            g->levels[slot] = 0; /* degrade gracefully: level-0 only */
            return -1;
        }
        __atomic_store_n(&g->upper_words, g->upper_words + (size_t)lv * (1 + g->m), __ATOMIC_RELAXED);
    }
    return 0;
}

uint32_t *ss__hnsw_links(const ss_hnsw *g, uint32_t s, int level) {
    if (level == 0) return g->links0 + (size_t)s * (size_t)(1 + g->m0);
    return g->upper[s] + (size_t)(level - 1) * (size_t)(1 + g->m);
}

/* ---------------------------------------------------------------- lists */

#if defined(__x86_64__) || defined(__i386__)
#define SPIN_PAUSE() __builtin_ia32_pause()
#else
#define SPIN_PAUSE() ((void)0)
#endif

/* Copy a list (at most maxc ids) into out; returns the count (seqlock read). */
static inline uint32_t links_read(const uint32_t *l, uint32_t maxc, uint32_t *out) {
    for (;;) {
        uint32_t w1 = __atomic_load_n(l, __ATOMIC_ACQUIRE);
        if (SS_LINK_BUSY(w1)) {
            SPIN_PAUSE();
            continue;
        }
        uint32_t cnt = SS_LINK_COUNT(w1);
        if (cnt > maxc) cnt = maxc;
        /* acquire loads: the header's re-load below cannot move before them,
         * and an id stored after the writer's busy mark makes that mark
         * visible here (no fences: free on x86, and ThreadSanitizer models it) */
        for (uint32_t i = 0; i < cnt; i++) out[i] = __atomic_load_n(l + 1 + i, __ATOMIC_ACQUIRE);
        uint32_t w2 = __atomic_load_n(l, __ATOMIC_RELAXED);
        if ((w2 >> 16) == (w1 >> 16)) return cnt;
    }
}

/* Replace a list (caller holds its stripe): busy, ids, then version + 2. */
static void links_publish(uint32_t *l, const cand *c, uint32_t cnt) {
    uint32_t w = __atomic_load_n(l, __ATOMIC_RELAXED), ver = w >> 16;
    __atomic_store_n(l, ((ver + 1) << 16) | SS_LINK_COUNT(w), __ATOMIC_RELAXED);
    /* release stores: each id is ordered after the busy mark */
    for (uint32_t i = 0; i < cnt; i++) __atomic_store_n(l + 1 + i, c[i].s, __ATOMIC_RELEASE);
    __atomic_store_n(l, ((ver + 2) << 16) | cnt, __ATOMIC_RELEASE);
}

/* Append one id to a list that is not full (caller holds its stripe). */
static void links_append(uint32_t *l, uint32_t id) {
    uint32_t w = __atomic_load_n(l, __ATOMIC_RELAXED), cnt = SS_LINK_COUNT(w);
    __atomic_store_n(l + 1 + cnt, id, __ATOMIC_RELAXED);
    __atomic_store_n(l, (w & 0xFFFF0000u) | (cnt + 1), __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------- walk */

static inline int visit(scratch *sc, uint32_t s) {
    if (s >= sc->tags_cap) return 0; /* appeared after this search started */
    if (sc->tags[s] == sc->epoch) return 0;
    sc->tags[s] = sc->epoch;
    return 1;
}

static void new_epoch(scratch *sc) {
    if (++sc->epoch == 0) {
        memset(sc->tags, 0, sc->tags_cap * sizeof *sc->tags);
        sc->epoch = 1;
    }
}

static inline uint32_t maxc_at(const ss_hnsw *g, int level) { return level == 0 ? (uint32_t)g->m0 : (uint32_t)g->m; }

/* Greedy descent at one upper level. */
static uint32_t greedy(const ss_hnsw *g, const ss_dc *dc, uint32_t cur, float *curd, int level, size_t n) {
    uint32_t nbuf[SS_HNSW_MAX_M0];
    int changed = 1;
    while (changed) {
        changed = 0;
        uint32_t cnt = links_read(ss__hnsw_links(g, cur, level), maxc_at(g, level), nbuf);
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t nb = nbuf[i];
            if (nb >= n || dc_pending(dc, nb)) continue; /* in flight: lists incomplete */
            float d = dc_query(dc, nb);
            if (d < *curd) {
                *curd = d;
                cur = nb;
                changed = 1;
            }
        }
    }
    return cur;
}

/* Beam search at one level. Returnable nodes (mode: 0 = every node but
 * `self`, for construction; 1 = live and allowed, for queries) fill the
 * result max-heap h2 of size ef; returns its size, -1 when a filtered walk
 * ran over its budget, -2 when the candidate heap could not grow. */
static int search_layer(const ss_hnsw *g, const ss_dc *dc, uint32_t ep, float epd, int ef, int level, scratch *sc,
                        int mode, uint32_t self, const ss_filter *f, size_t n) {
    cand *cands = sc->h1, *res = sc->h2;
    int nc = 0, nr = 0;
    new_epoch(sc);
    visit(sc, ep);
    minh_push(cands, &nc, (cand){epd, ep});
#define RETURNABLE(s) (mode == 0 ? (s) != self : dc_returnable(dc, (s), f))
    if (RETURNABLE(ep)) maxh_push(res, &nr, (cand){epd, ep});
    float lower = nr >= ef ? res[0].d : INFINITY;
    size_t budget = f ? (n / 4 > (size_t)ef * 8 ? n / 4 : (size_t)ef * 8) : (size_t)-1, visits = 0;
    uint32_t nbuf[SS_HNSW_MAX_M0];
    uint32_t maxc = maxc_at(g, level);
    while (nc) {
        cand c = minh_pop(cands, &nc);
        if (c.d > lower && nr >= ef) break;
        if (nc) __builtin_prefetch(ss__hnsw_links(g, cands[0].s, level));
        /* a node still being linked (other than the start) is scored but not expanded */
        if (c.s != ep && dc_pending(dc, c.s)) continue;
        uint32_t cnt = links_read(ss__hnsw_links(g, c.s, level), maxc, nbuf);
        int nn = 0;
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t nb = nbuf[i];
            if (nb >= n || !visit(sc, nb)) continue;
            nbuf[nn++] = nb;
            dc_prefetch(dc, nb);
        }
        visits += (size_t)nn;
        float dist[SS_HNSW_MAX_M0];
        int i = 0;
        if (dc->dot4) {
            for (; i + 4 <= nn; i += 4) {
                for (int j = i + 4; j < i + 8 && j < nn; j++) dc_prefetch_full(dc, nbuf[j]);
                dc_query4(dc, nbuf + i, dist + i);
            }
        }
        for (; i < nn; i++) {
            if (i + 1 < nn) dc_prefetch_full(dc, nbuf[i + 1]);
            dist[i] = dc_query(dc, nbuf[i]);
        }
        for (i = 0; i < nn; i++) {
            uint32_t nb = nbuf[i];
            float d = dist[i];
            if (nr < ef || d < lower) {
                if ((size_t)nc >= sc->h1cap) {
                    /* dropping the candidate would silently cut the walk short */
                    cand *gr = sc->fail_grow ? NULL : realloc(sc->h1, sc->h1cap * 2 * sizeof *gr);
                    if (!gr) return -2;
                    sc->h1 = cands = gr;
                    sc->h1cap *= 2;
                }
                minh_push(cands, &nc, (cand){d, nb});
                if (RETURNABLE(nb)) {
                    maxh_push(res, &nr, (cand){d, nb});
                    if (nr > ef) maxh_pop(res, &nr);
                    if (nr >= ef) lower = res[0].d;
                }
            }
        }
        if (visits > budget) return -1;
    }
#undef RETURNABLE
    return nr;
}

/* Sort the max-heap h2 ascending in place (heap-sort by popping). */
static void drain_sorted(cand *res, int nr, cand *out) {
    int n = nr;
    while (n) {
        cand c = maxh_pop(res, &n);
        out[n] = c;
    }
}

/* hnswlib's getNeighborsByHeuristic2: cand sorted ascending by distance to the
 * base point; keep c unless an already kept node is closer to c than the base. */
static int select_heuristic(const ss_dc *dc, const cand *cs, int n, int M, cand *out) {
    if (n <= M) {
        memmove(out, cs, (size_t)n * sizeof *cs);
        return n;
    }
    int k = 0;
    for (int i = 0; i < n && k < M; i++) {
        int good = 1;
        for (int j = 0; j < k; j++)
            if (dc_pair(dc, cs[i].s, out[j].s) < cs[i].d) {
                good = 0;
                break;
            }
        if (good) out[k++] = cs[i];
    }
    return k;
}

/* Add `slot` to nb's list at `level`, pruning with the heuristic when full. */
static void link_back(ss_hnsw *g, const ss_dc *dc, uint32_t nb, uint32_t slot, float d, int level) {
    uint32_t maxc = maxc_at(g, level);
    pthread_mutex_t *mu = &g->stripes[nb % SS_NSTRIPES];
    pthread_mutex_lock(mu);
    uint32_t *l = ss__hnsw_links(g, nb, level);
    uint32_t cur[SS_HNSW_MAX_M0];
    uint32_t cnt = links_read(l, maxc, cur);
    for (uint32_t i = 0; i < cnt; i++)
        if (cur[i] == slot) {
            pthread_mutex_unlock(mu);
            return;
        }
    if (cnt < maxc) {
        links_append(l, slot);
    } else {
        cand cs[SS_HNSW_MAX_M0 + 1], out[SS_HNSW_MAX_M0 + 1];
        int n = 0;
        cs[n++] = (cand){d, slot};
        for (uint32_t i = 0; i < cnt; i++) cs[n++] = (cand){dc_pair(dc, nb, cur[i]), cur[i]};
        sort_asc(cs, n);
        int k = select_heuristic(dc, cs, n, (int)maxc, out);
        links_publish(l, out, (uint32_t)k);
    }
    pthread_mutex_unlock(mu);
}

int ss__hnsw_insert(ss_hnsw *g, const ss_store *s, uint32_t slot, scratch *sc) {
    size_t n = __atomic_load_n(&s->n, __ATOMIC_ACQUIRE);
    int level = g->levels[slot];
    qctx c;
    ss_dc dc;
    dc_init_slot(&dc, &c, s, slot, sc->fbuf);
    uint64_t ep = __atomic_load_n(&g->ep, __ATOMIC_ACQUIRE);
    int locked = 0, rc = 0;
    if (ep == 0 || level > (int)(ep >> 32) - 1) {
        pthread_mutex_lock(&g->entry_mu);
        locked = 1;
        ep = __atomic_load_n(&g->ep, __ATOMIC_ACQUIRE);
        if (ep == 0) {
            __atomic_store_n(&g->ep, (uint64_t)slot | ((uint64_t)(level + 1) << 32), __ATOMIC_RELEASE);
            pthread_mutex_unlock(&g->entry_mu);
            return 0;
        }
        if (level <= (int)(ep >> 32) - 1) {
            pthread_mutex_unlock(&g->entry_mu);
            locked = 0;
        }
    }
    uint32_t cur = (uint32_t)ep;
    int top = (int)(ep >> 32) - 1;
    float curd = dc_query(&dc, cur);
    for (int l = top; l > level; l--) cur = greedy(g, &dc, cur, &curd, l, n);
    /* sel: up to m0 chosen; sorted: the ef_c beam; all: a node's old and new links */
    cand sel[SS_HNSW_MAX_M0 + 1], sorted[SS_HNSW_MAX_EFC + 1], all[2 * SS_HNSW_MAX_M0 + 2];
    for (int l = level < top ? level : top; l >= 0; l--) {
        int nr = search_layer(g, &dc, cur, curd, g->ef_c, l, sc, 0, slot, NULL, n);
        if (nr == -2) {
            rc = -1;
            break;
        }
        if (nr <= 0) continue;
        drain_sorted(sc->h2, nr, sorted);
        int k = select_heuristic(&dc, sorted, nr, g->m, sel);
        /* own list first (a search reaching this node sees a complete list) */
        pthread_mutex_t *mu = &g->stripes[slot % SS_NSTRIPES];
        pthread_mutex_lock(mu);
        uint32_t *own = ss__hnsw_links(g, slot, l);
        uint32_t maxc = maxc_at(g, l), old[SS_HNSW_MAX_M0];
        uint32_t have = links_read(own, maxc, old);
        /* keep links other inserters added to this node meanwhile (for a
         * reused slot: its old links compete, scored against the new vector) */
        if (have > 0) {
            int na = 0;
            for (int i = 0; i < k; i++) all[na++] = sel[i];
            for (uint32_t i = 0; i < have; i++) {
                uint32_t o = old[i];
                int dup = 0;
                for (int j = 0; j < k; j++) dup |= sel[j].s == o;
                if (!dup && o != slot) all[na++] = (cand){dc_pair(&dc, slot, o), o};
            }
            sort_asc(all, na);
            if ((uint32_t)na > maxc) na = select_heuristic(&dc, all, na, (int)maxc, sel);
            else memcpy(sel, all, (size_t)na * sizeof *all);
            k = na;
        }
        links_publish(own, sel, (uint32_t)k);
        pthread_mutex_unlock(mu);
        for (int i = 0; i < k; i++) link_back(g, &dc, sel[i].s, slot, sel[i].d, l);
        cur = sorted[0].s;
        curd = sorted[0].d;
    }
    if (locked) {
        if (rc == 0 && level > (int)(__atomic_load_n(&g->ep, __ATOMIC_ACQUIRE) >> 32) - 1)
            __atomic_store_n(&g->ep, (uint64_t)slot | ((uint64_t)(level + 1) << 32), __ATOMIC_RELEASE);
        pthread_mutex_unlock(&g->entry_mu);
    }
    return rc;
}

int ss__hnsw_search(const ss_hnsw *g, const ss_store *s, const qctx *c, int ef, int want, const ss_filter *f,
                    scratch *sc, cand *out) {
    size_t n = __atomic_load_n(&s->n, __ATOMIC_ACQUIRE);
    uint64_t ep = __atomic_load_n(&g->ep, __ATOMIC_ACQUIRE);
    if (!ep) return 0;
    ss_dc dc;
    dc_init(&dc, s, c, c->q, 0, NULL);
    uint32_t cur = (uint32_t)ep;
    int top = (int)(ep >> 32) - 1;
    float curd = dc_query(&dc, cur);
    for (int l = top; l > 0; l--) cur = greedy(g, &dc, cur, &curd, l, n);
    int nr = search_layer(g, &dc, cur, curd, ef, 0, sc, 1, UINT32_MAX, f, n);
    if (nr < 0) return nr;
    /* out holds at least max(ef, want) entries */
    drain_sorted(sc->h2, nr, out);
    return nr < want ? nr : want;
}

/* ---------------------------------------------------------------- validation */

int ss__hnsw_validate(const ss_hnsw *g, size_t n, char *why, size_t whylen) {
    int top = -1;
    for (size_t s = 0; s < n; s++) {
        int lv = g->levels[s];
        if (lv > SS_MAX_LEVEL) {
            snprintf(why, whylen, "slot %zu has level %d > %d", s, lv, SS_MAX_LEVEL);
            return -1;
        }
        if (lv > top) top = lv;
        for (int l = 0; l <= lv; l++) {
            const uint32_t *L = ss__hnsw_links(g, (uint32_t)s, l);
            uint32_t w = L[0], cnt = SS_LINK_COUNT(w), mx = maxc_at(g, l);
            if (SS_LINK_BUSY(w) || cnt > mx) {
                snprintf(why, whylen, "slot %zu level %d: link header 0x%08x (count %u, limit %u)", s, l, w, cnt, mx);
                return -1;
            }
            for (uint32_t i = 0; i < cnt; i++) {
                uint32_t t = L[1 + i];
                if (t >= n) {
                    snprintf(why, whylen, "slot %zu level %d links to slot %u >= %zu slots", s, l, t, n);
                    return -1;
                }
                if (g->levels[t] < l) {
                    snprintf(why, whylen, "slot %zu level %d links to slot %u, which has no list at level %d (its top is %d)",
                             s, l, t, l, g->levels[t]);
                    return -1;
                }
            }
        }
    }
    uint64_t ep = g->ep;
    if (!ep) {
        if (n) {
            snprintf(why, whylen, "%zu nodes but no entry point", n);
            return -1;
        }
        return 0;
    }
    uint32_t e = (uint32_t)ep;
    int elv = (int)(ep >> 32) - 1;
    if (e >= n || elv < 0 || elv != g->levels[e] || elv != top) {
        snprintf(why, whylen, "entry point slot %u at level %d is not a node at the top level %d", e, elv, top);
        return -1;
    }
    return 0;
}
