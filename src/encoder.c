/* encoder.c — the one entry point for embedding: text -> tokens -> transformer
 * -> pooling -> Normalize -> truncate_dim -> normalize_embeddings, in the
 * order SentenceTransformer.encode() applies them.
 *
 * ss_model is what a folder says: config, tokenizer, weights; read-only once
 * ss_model_load returns, so any number of threads may share it. ss_context
 * (llama.cpp's llama_context) owns what a forward pass writes: activations and
 * scratch, and a thread pool (its own, or one the caller shares). The model
 * keeps one context of its own behind a mutex so that ss_encode(model, ...)
 * keeps working for callers that know nothing of contexts. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/threadpool.h"
#include "kernels/ops.h"
#include "model/config.h"
#include "model/dense.h"
#include "model/pooling.h"
#include "model/bflinear.h" /* bf16 hook */
#include "model/qlinear.h" /* int8 hook */
#include "model/transformer.h"
#include "semsearch.h"

struct ss_model {
    /* read-only after ss_model_load */
    char *dir;
    ss_tf_config cfg;
    ss_st_config st;
    ss_transformer tf;
    ss_dense_stack dense; /* Dense modules after Pooling (may be empty) */
    ss_tokenizer *tok;
    int max_seq_length;
    char desc[512];
    /* the default context of ss_encode / ss_encode_tokens, one caller at a time */
    pthread_mutex_t mu;
    ss_context *ctx;
};

struct ss_context {
    const ss_model *m;
    ss_pool *pool;
    int own_pool;
    ss_tf_work work;
};

ss_model *ss_model_load(const char *dir, const ss_model_options *opts, ss_error *err) {
    ss_error_clear(err);
    if (!dir || !*dir) {
        ss_fail(err, SS_ERR_INVALID, "no model folder given");
        return NULL;
    }
    if (!ss_path_exists(dir)) {
        ss_fail(err, SS_ERR_NOT_FOUND, "model folder %s does not exist (run scripts/fetch-model.sh for the default model, or pass --model DIR)", dir);
        return NULL;
    }
    ss_model *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) {
        free(m);
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    ss_status s;
    if ((s = ss_tf_config_load(&m->cfg, dir, err)) != SS_OK) goto fail;
    if ((s = ss_st_config_load(&m->st, dir, &m->cfg, err)) != SS_OK) goto fail;
    m->max_seq_length = m->st.max_seq_length;
    if (opts && opts->max_seq_length > 0) m->max_seq_length = opts->max_seq_length;
    int pos_limit = m->cfg.max_position - (m->cfg.arch == SS_ARCH_MPNET ? m->cfg.pad_token_id + 1 : 0);
    if (m->max_seq_length > pos_limit) {
        s = ss_fail(err, SS_ERR_INVALID, "max_seq_length %d exceeds the model's %d positions", m->max_seq_length,
                    pos_limit);
        goto fail;
    }
    if ((s = ss_transformer_load(&m->tf, &m->cfg, dir, err)) != SS_OK) goto fail;
    if ((s = ss_dense_load(&m->dense, &m->st, dir, err)) != SS_OK) goto fail;
    /* int8 hook (perf branch): quantise the linear weights once */
    if (opts && opts->compute == SS_COMPUTE_INT8 && (s = ss_tf_quantize(&m->tf, err)) != SS_OK) goto fail;
    /* bf16 hook (kern branch): round the linear weights once */
    if (opts && opts->compute == SS_COMPUTE_BF16 && (s = ss_tf_to_bf16(&m->tf, err)) != SS_OK) goto fail;
    if (!(m->tok = ss_tokenizer_load(dir, err))) {
        s = err ? err->code : SS_ERR_FORMAT;
        goto fail;
    }
    if (ss_tokenizer_vocab_size(m->tok) > m->cfg.vocab_size) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: tokenizer has %d tokens but the model's vocab_size is %d", dir,
                    ss_tokenizer_vocab_size(m->tok), m->cfg.vocab_size);
        goto fail;
    }
    ss_context_options co = {.n_threads = opts ? opts->n_threads : 0};
    if (!(m->ctx = ss_context_new(m, &co, err))) {
        s = err ? err->code : SS_ERR_NOMEM;
        goto fail;
    }
    const ss_pooling_config *p = &m->st.pooling;
    char pooling[96] = "";
    const char *names[] = {"cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"};
    const int on[] = {p->cls, p->max, p->mean, p->mean_sqrt_len, p->weightedmean, p->lasttoken};
    for (int i = 0; i < 6; i++)
        if (on[i]) {
            if (pooling[0]) strcat(pooling, "+");
            strcat(pooling, names[i]);
        }
    snprintf(m->desc, sizeof m->desc,
             "%s: %d layers, hidden %d, %d heads, ffn %d, vocab %d; pooling %s; %s; dim %d; max_seq_length %d",
             m->cfg.model_type, m->cfg.layers, m->cfg.hidden, m->cfg.heads, m->cfg.intermediate, m->cfg.vocab_size,
             pooling, m->st.normalize ? "normalized" : "not normalized", ss_model_dim(m), m->max_seq_length);
    if (m->tf.q) /* int8 hook */
        snprintf(m->desc + strlen(m->desc), sizeof m->desc - strlen(m->desc), "; int8 linears (%s)",
                 m->tf.q->kern->name);
    if (m->tf.bf) /* bf16 hook */
        snprintf(m->desc + strlen(m->desc), sizeof m->desc - strlen(m->desc), "; bf16 linears (%s)", ss_bgemm_name());
    return m;
fail:
    (void)s;
    ss_error_prefix(err, "loading model %s", dir);
    ss_model_free(m);
    return NULL;
}

void ss_model_free(ss_model *m) {
    if (!m) return;
    ss_context_free(m->ctx);
    pthread_mutex_destroy(&m->mu);
    ss_tokenizer_free(m->tok);
    ss_transformer_free(&m->tf);
    ss_dense_free(&m->dense);
    ss_st_config_free(&m->st);
    free(m->dir);
    free(m);
}

int ss_model_dim(const ss_model *m) { return ss_st_output_dim(&m->st, &m->cfg); }
int ss_model_hidden_size(const ss_model *m) { return m->cfg.hidden; }
int ss_model_max_seq_length(const ss_model *m) { return m->max_seq_length; }
int ss_model_normalizes(const ss_model *m) { return m->st.normalize; }
const ss_tokenizer *ss_model_tokenizer(const ss_model *m) { return m->tok; }
const char *ss_model_describe(const ss_model *m) { return m->desc; }
const char *ss_model_prompt(const ss_model *m, const char *name) { return ss_st_prompt(&m->st, name); }

int ss_encode_dim(const ss_model *m, const ss_encode_options *o) {
    int d = ss_model_dim(m);
    if (o && o->truncate_dim > 0 && o->truncate_dim < d) d = o->truncate_dim;
    return d;
}

float ss_cosine(const float *a, const float *b, int d) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < d; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    double den = sqrt(aa) * sqrt(bb);
    return den > 0 ? (float)(ab / den) : 0.0f;
}

static int is_cased(utf8proc_int32_t cp) {
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

/* Python's str.lower() (sentence_bert_config do_lower_case) over UTF-8:
 * per-code-point lowercase plus Python's two context rules that matter
 * (İ -> i + U+0307, and final sigma). */
static char *py_lower(const char *s, ss_error *err) {
    size_t n = strlen(s), cap = n * 3 + 4, o = 0;
    char *out = malloc(cap);
    if (!out) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    int prev_cased = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k < 0) {
            free(out);
            ss_fail(err, SS_ERR_INVALID, "invalid UTF-8 at byte %zu", i);
            return NULL;
        }
        i += (size_t)k;
        int cased_now = is_cased(cp);
        if (cp == 0x130) { /* İ lowercases to i + combining dot above */
            o += (size_t)utf8proc_encode_char('i', (utf8proc_uint8_t *)out + o);
            cp = 0x307;
        } else if (cp == 0x3A3) { /* Σ: final sigma ς after a cased letter not followed by one */
            utf8proc_int32_t next = -1;
            if (i < n) utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &next);
            int after_letter = prev_cased, before_letter = next >= 0 && is_cased(next);
            cp = after_letter && !before_letter ? 0x3C2 : 0x3C3;
        } else {
            cp = utf8proc_tolower(cp);
        }
        o += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out + o);
        prev_cased = cased_now;
    }
    out[o] = '\0';
    return out;
}

/* Token ids of every input, concatenated; offs[i]..offs[i+1] are text i's. */
typedef struct tokenized {
    int32_t *ids;
    int *offs;
    size_t cap;
} tokenized;

static ss_status tokenize_one(const ss_model *m, const char *text, tokenized *tk, size_t i, ss_error *err) {
    size_t len = strlen(text);
    int L = m->max_seq_length;
    if (tk->cap < (size_t)tk->offs[i] + (size_t)L) {
        size_t nc = tk->cap * 2 + (size_t)L;
        int32_t *ni = realloc(tk->ids, nc * sizeof *ni);
        if (!ni) return ss_fail(err, SS_ERR_NOMEM, "out of memory tokenizing");
        tk->ids = ni;
        tk->cap = nc;
    }
    int n = ss_tokenizer_encode(m->tok, text, len, L, tk->ids + tk->offs[i], L, err);
    if (n < 0) return err ? err->code : SS_ERR_INVALID;
    if (n > L) n = L;
    tk->offs[i + 1] = tk->offs[i] + n;
    return SS_OK;
}

/* The text as the Transformer module sees it: prompt + text, lowercased when
 * sentence_bert_config says so. Returns text itself or a malloc'd string in *own. */
static const char *prepare(const ss_model *m, const char *text, const char *prompt, char **own, ss_error *err) {
    *own = NULL;
    const char *t = text;
    if (prompt && *prompt) {
        size_t a = strlen(prompt), b = strlen(text);
        char *c = malloc(a + b + 1);
        if (!c) {
            ss_fail(err, SS_ERR_NOMEM, "out of memory");
            return NULL;
        }
        memcpy(c, prompt, a);
        memcpy(c + a, text, b + 1);
        *own = c;
        t = c;
    }
    if (m->st.do_lower_case) {
        char *low = py_lower(t, err);
        free(*own);
        *own = low;
        t = low;
    }
    return t;
}

static const char *resolve_prompt(const ss_model *m, const ss_encode_options *o) {
    if (o && o->prompt) return o->prompt;
    if (m->st.default_prompt_name) return ss_st_prompt(&m->st, m->st.default_prompt_name);
    return NULL;
}

/* Number of leading tokens that belong to the prompt ([CLS] + prompt pieces),
 * as sentence-transformers records prompt_length; 0 when pooling includes it. */
static int prompt_skip(const ss_model *m, const char *prompt, ss_error *err) {
    if (!prompt || !*prompt || m->st.pooling.include_prompt) return 0;
    char *own;
    const char *t = prepare(m, "", prompt, &own, err);
    if (!t) return -1;
    int32_t buf[1024];
    int n = ss_tokenizer_encode(m->tok, t, strlen(t), m->max_seq_length, buf, 1024, err);
    free(own);
    return n < 0 ? -1 : n - 1;
}

typedef struct by_len {
    int len;
    size_t idx;
} by_len;

/* dup[i] = the first text with text i's token ids (i itself when new); the
 * distinct texts are moved to order[0..k), k returned. An open-addressing
 * table of FNV hashes over the ids; out of memory: no dedupe (k = n). */
static size_t dedupe_sequences(const tokenized *tk, by_len *order, size_t n, size_t *dup) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    size_t *slot = malloc(cap * sizeof *slot);
    for (size_t i = 0; i < n; i++) dup[i] = i;
    if (!slot) return n;
    memset(slot, 0xff, cap * sizeof *slot);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const int32_t *a = tk->ids + tk->offs[i];
        int la = tk->offs[i + 1] - tk->offs[i];
        uint64_t h = 0xcbf29ce484222325ULL;
        for (int t = 0; t < la; t++) h = (h ^ (uint32_t)a[t]) * 0x100000001b3ULL;
        size_t s = (size_t)h & (cap - 1);
        for (; slot[s] != (size_t)-1; s = (s + 1) & (cap - 1)) {
            size_t j = slot[s];
            if (tk->offs[j + 1] - tk->offs[j] == la && !memcmp(tk->ids + tk->offs[j], a, (size_t)la * sizeof *a)) break;
        }
        if (slot[s] != (size_t)-1) {
            dup[i] = slot[s];
            continue;
        }
        slot[s] = i;
        order[k++] = order[i];
    }
    free(slot);
    return k;
}

static int cmp_len_desc(const void *a, const void *b) {
    const by_len *x = a, *y = b;
    if (x->len != y->len) return y->len - x->len;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

ss_context *ss_context_new(const ss_model *m, const ss_context_options *o, ss_error *err) {
    if (!m) {
        ss_fail(err, SS_ERR_INVALID, "no model given");
        return NULL;
    }
    ss_context *c = calloc(1, sizeof *c);
    if (!c) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->m = m;
    if (o && o->pool) {
        c->pool = o->pool;
    } else {
        int nt = o && o->n_threads > 0 ? o->n_threads : ss_online_cpus();
        if (!(c->pool = ss_pool_new(nt))) {
            free(c);
            ss_fail(err, SS_ERR_NOMEM, "cannot start %d threads", nt);
            return NULL;
        }
        c->own_pool = 1;
    }
    return c;
}

void ss_context_free(ss_context *c) {
    if (!c) return;
    if (c->own_pool) ss_pool_free(c->pool);
    ss_tf_work_free(&c->work);
    free(c);
}

const ss_model *ss_context_model(const ss_context *c) { return c->m; }

ss_status ss_context_encode(ss_context *c, const char *const *texts, size_t n, const ss_encode_options *o,
                            float *out, ss_error *err) {
    ss_error_clear(err);
    if (!c) return ss_fail(err, SS_ERR_INVALID, "no context given");
    const ss_model *m = c->m;
    if (n == 0) return SS_OK;
    const int D = ss_model_dim(m), H = m->cfg.hidden, outD = ss_encode_dim(m, o);
    int bs = o && o->batch_size > 0 ? o->batch_size : 32;
    const char *prompt = resolve_prompt(m, o);
    ss_status s = SS_OK;
    int skip = prompt_skip(m, prompt, err);
    if (skip < 0) return err ? err->code : SS_ERR_INVALID;

    tokenized tk = {0};
    tk.offs = calloc(n + 1, sizeof *tk.offs);
    by_len *order = malloc(n * sizeof *order);
    size_t *dup = malloc(n * sizeof *dup);
    /* pooled: the Pooling output, then each Dense module's in place (+ scratch) */
    const int PW = H * ss_pooling_count(&m->st.pooling) > m->dense.max_dim ? H * ss_pooling_count(&m->st.pooling)
                                                                            : m->dense.max_dim;
    float *pooled = malloc((size_t)2 * PW * sizeof(float));
    int *boff = malloc(((size_t)bs + 1) * sizeof *boff);
    int32_t *bids = malloc((size_t)bs * m->max_seq_length * sizeof *bids);
    if (!tk.offs || !order || !dup || !pooled || !boff || !bids) {
        s = ss_fail(err, SS_ERR_NOMEM, "out of memory for %zu texts", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (!texts[i]) {
            s = ss_fail(err, SS_ERR_INVALID, "text %zu is NULL", i);
            goto done;
        }
        char *own;
        const char *t = prepare(m, texts[i], prompt, &own, err);
        if (!t || (s = tokenize_one(m, t, &tk, i, err)) != SS_OK) {
            free(own);
            if (s == SS_OK) s = err ? err->code : SS_ERR_INVALID;
            ss_error_prefix(err, "text %zu", i);
            goto done;
        }
        free(own);
        order[i].len = tk.offs[i + 1] - tk.offs[i];
        order[i].idx = i;
    }
    /* Identical token sequences (1e6 empty lines are 1e6 x [CLS][SEP]) get
     * identical embeddings: run each distinct sequence once, copy the rest. */
    size_t n_run = dedupe_sequences(&tk, order, n, dup);
    /* Longest first, like sentence-transformers: batches of similar lengths. */
    qsort(order, n_run, sizeof *order, cmp_len_desc);
    for (size_t b0 = 0; b0 < n_run; b0 += (size_t)bs) {
        size_t nb = n_run - b0 < (size_t)bs ? n_run - b0 : (size_t)bs;
        boff[0] = 0;
        for (size_t j = 0; j < nb; j++) {
            size_t i = order[b0 + j].idx;
            int L = tk.offs[i + 1] - tk.offs[i];
            memcpy(bids + boff[j], tk.ids + tk.offs[i], (size_t)L * sizeof *bids);
            boff[j + 1] = boff[j] + L;
        }
        if ((s = ss_transformer_forward(&m->tf, c->pool, &c->work, bids, boff, (int)nb, err)) != SS_OK) goto done;
        for (size_t j = 0; j < nb; j++) {
            size_t i = order[b0 + j].idx;
            ss_pool_sequence(&m->st.pooling, c->work.x + (size_t)boff[j] * H, boff[j + 1] - boff[j], H, skip, pooled);
            ss_dense_forward(&m->dense, pooled, pooled + PW);
            if (m->st.normalize && !(o && o->normalize < 0)) ss_l2_normalize(pooled, D);
            float *dst = out + i * (size_t)outD;
            memcpy(dst, pooled, (size_t)outD * sizeof(float));
            if (o && o->normalize > 0) ss_l2_normalize(dst, outD);
        }
        if (o && o->progress) o->progress(o->progress_user, b0 + nb, n_run);
    }
    for (size_t i = 0; i < n; i++)
        if (dup[i] != i) memcpy(out + i * (size_t)outD, out + dup[i] * (size_t)outD, (size_t)outD * sizeof(float));
done:
    free(tk.ids);
    free(tk.offs);
    free(order);
    free(dup);
    free(pooled);
    free(boff);
    free(bids);
    return s;
}

int ss_model_tokenize(ss_model *m, const char *text, const char *prompt, int32_t *ids, int cap, ss_error *err) {
    ss_error_clear(err);
    char *own;
    const char *t = prepare(m, text, prompt, &own, err);
    if (!t) return -1;
    int n = ss_tokenizer_encode(m->tok, t, strlen(t), m->max_seq_length, ids, cap, err);
    free(own);
    return n;
}

float *ss_context_encode_tokens(ss_context *c, const char *text, const ss_encode_options *o, int *out_tokens,
                                ss_error *err) {
    ss_error_clear(err);
    *out_tokens = 0;
    if (!c) {
        ss_fail(err, SS_ERR_INVALID, "no context given");
        return NULL;
    }
    const ss_model *m = c->m;
    char *own;
    const char *t = prepare(m, text, resolve_prompt(m, o), &own, err);
    if (!t) return NULL;
    tokenized tk = {0};
    int offs[2] = {0, 0};
    tk.offs = offs;
    ss_status s = tokenize_one(m, t, &tk, 0, err);
    free(own);
    float *res = NULL;
    if (s == SS_OK && (s = ss_transformer_forward(&m->tf, c->pool, &c->work, tk.ids, offs, 1, err)) == SS_OK) {
        size_t bytes = (size_t)offs[1] * m->cfg.hidden * sizeof(float);
        res = malloc(bytes ? bytes : 1);
        if (res) {
            memcpy(res, c->work.x, bytes);
            *out_tokens = offs[1];
        } else {
            ss_fail(err, SS_ERR_NOMEM, "out of memory");
        }
    }
    free(tk.ids);
    return res;
}

/* The model's own context, for callers without one: one at a time. */
ss_status ss_encode(ss_model *m, const char *const *texts, size_t n, const ss_encode_options *o, float *out,
                    ss_error *err) {
    pthread_mutex_lock(&m->mu);
    ss_status s = ss_context_encode(m->ctx, texts, n, o, out, err);
    pthread_mutex_unlock(&m->mu);
    return s;
}

float *ss_encode_tokens(ss_model *m, const char *text, const ss_encode_options *o, int *out_tokens, ss_error *err) {
    pthread_mutex_lock(&m->mu);
    float *r = ss_context_encode_tokens(m->ctx, text, o, out_tokens, err);
    pthread_mutex_unlock(&m->mu);
    return r;
}
