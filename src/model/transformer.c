/* transformer.c — load BERT / MPNet weights and run the post-LN encoder. */
#include "model/transformer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "core/error.h"
#include "core/fileio.h"
#include "kernels/ops.h"
#include "model/safetensors.h"

/* ---- loading ------------------------------------------------------------- */

typedef struct loader {
    ss_safetensors st;
    const char *prefix; /* "", "bert.", "mpnet.", "model." — found once */
} loader;

static float *get(loader *L, const char *name, int ndim, int64_t d0, int64_t d1, ss_error *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", L->prefix, name);
    int64_t shape[2] = {d0, d1};
    return ss_st_read_f32(&L->st, full, ndim, shape, err);
}

/* Stack q, k, v weights [H,H] into one [3H,H] matrix (and biases) so that one
 * GEMM computes all three. */
static int load_qkv(loader *L, ss_tf_layer *ly, const char *base, const char *const names[3], int H,
                    ss_error *err) {
    ly->qkv_w = aligned_alloc(64, (size_t)3 * H * H * sizeof(float));
    ly->qkv_b = malloc((size_t)3 * H * sizeof(float));
    if (!ly->qkv_w || !ly->qkv_b) return ss_fail(err, SS_ERR_NOMEM, "out of memory loading weights");
    for (int i = 0; i < 3; i++) {
        char n[200];
        snprintf(n, sizeof n, "%s%s.weight", base, names[i]);
        float *w = get(L, n, 2, H, H, err);
        if (!w) return err ? err->code : SS_ERR_FORMAT;
        memcpy(ly->qkv_w + (size_t)i * H * H, w, (size_t)H * H * sizeof(float));
        free(w);
        snprintf(n, sizeof n, "%s%s.bias", base, names[i]);
        float *b = get(L, n, 1, H, 0, err);
        if (!b) return err ? err->code : SS_ERR_FORMAT;
        memcpy(ly->qkv_b + (size_t)i * H, b, (size_t)H * sizeof(float));
        free(b);
    }
    return SS_OK;
}

ss_status ss_transformer_load(ss_transformer *tf, const ss_tf_config *cfg, const char *dir, ss_error *err) {
    memset(tf, 0, sizeof *tf);
    tf->cfg = *cfg;
    char path[4096];
    ss_path_join(path, sizeof path, dir, "model.safetensors");
    if (!ss_path_exists(path)) {
        char bin[4096];
        ss_path_join(bin, sizeof bin, dir, "pytorch_model.bin");
        if (ss_path_exists(bin))
            return ss_fail(err, SS_ERR_UNSUPPORTED,
                           "%s has only pytorch_model.bin (a pickle); semsearch reads model.safetensors — convert it "
                           "with safetensors' convert script",
                           dir);
        return ss_fail(err, SS_ERR_NOT_FOUND, "%s: no model.safetensors in the model folder", path);
    }
    loader L = {.prefix = ""};
    ss_status s = ss_st_open(&L.st, path, err);
    if (s != SS_OK) return s;

    const int H = cfg->hidden, FF = cfg->intermediate, NV = cfg->vocab_size;
    const int is_mpnet = cfg->arch == SS_ARCH_MPNET;
    static const char *const prefixes[] = {"", "bert.", "mpnet.", "model."};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char n[128];
        snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", prefixes[i]);
        if (ss_st_find(&L.st, n)) {
            L.prefix = prefixes[i];
            break;
        }
    }

    s = SS_ERR_FORMAT;
    if (!(tf->word_emb = get(&L, "embeddings.word_embeddings.weight", 2, NV, H, err))) goto fail;
    if (!(tf->pos_emb = get(&L, "embeddings.position_embeddings.weight", 2, cfg->max_position, H, err))) goto fail;
    if (!is_mpnet && cfg->type_vocab > 0 &&
        !(tf->type_emb = get(&L, "embeddings.token_type_embeddings.weight", 2, cfg->type_vocab, H, err)))
        goto fail;
    if (!(tf->emb_ln_g = get(&L, "embeddings.LayerNorm.weight", 1, H, 0, err))) goto fail;
    if (!(tf->emb_ln_b = get(&L, "embeddings.LayerNorm.bias", 1, H, 0, err))) goto fail;
    if (is_mpnet &&
        !(tf->rel_bias = get(&L, "encoder.relative_attention_bias.weight", 2, cfg->rel_buckets, cfg->heads, err)))
        goto fail;

    tf->layers = calloc((size_t)cfg->layers, sizeof *tf->layers);
    if (!tf->layers) {
        s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    static const char *const bert_qkv[3] = {"self.query", "self.key", "self.value"};
    static const char *const mpnet_qkv[3] = {"attn.q", "attn.k", "attn.v"};
    for (int l = 0; l < cfg->layers; l++) {
        ss_tf_layer *ly = &tf->layers[l];
        char base[128], n[200];
        snprintf(base, sizeof base, "encoder.layer.%d.attention.", l);
        if ((s = load_qkv(&L, ly, base, is_mpnet ? mpnet_qkv : bert_qkv, H, err)) != SS_OK) goto fail;
        s = SS_ERR_FORMAT;
#define W(field, suffix, nd, a, b)                                                         \
    snprintf(n, sizeof n, "encoder.layer.%d.%s", l, suffix);                             \
    if (!(ly->field = get(&L, n, nd, a, b, err))) goto fail;
        if (is_mpnet) {
            W(attn_out_w, "attention.attn.o.weight", 2, H, H);
            W(attn_out_b, "attention.attn.o.bias", 1, H, 0);
        } else {
            W(attn_out_w, "attention.output.dense.weight", 2, H, H);
            W(attn_out_b, "attention.output.dense.bias", 1, H, 0);
        }
        if (is_mpnet) {
            W(ln1_g, "attention.LayerNorm.weight", 1, H, 0);
            W(ln1_b, "attention.LayerNorm.bias", 1, H, 0);
        } else { /* BERT nests the attention LayerNorm under output. */
            W(ln1_g, "attention.output.LayerNorm.weight", 1, H, 0);
            W(ln1_b, "attention.output.LayerNorm.bias", 1, H, 0);
        }
        W(ffn_in_w, "intermediate.dense.weight", 2, FF, H);
        W(ffn_in_b, "intermediate.dense.bias", 1, FF, 0);
        W(ffn_out_w, "output.dense.weight", 2, H, FF);
        W(ffn_out_b, "output.dense.bias", 1, H, 0);
        W(ln2_g, "output.LayerNorm.weight", 1, H, 0);
        W(ln2_b, "output.LayerNorm.bias", 1, H, 0);
#undef W
    }
    ss_st_close(&L.st);
    return SS_OK;
fail:
    ss_st_close(&L.st);
    ss_transformer_free(tf);
    return err && err->code ? err->code : s;
}

void ss_transformer_free(ss_transformer *tf) {
    if (tf->layers) {
        for (int l = 0; l < tf->cfg.layers; l++) {
            ss_tf_layer *ly = &tf->layers[l];
            float *ptrs[] = {ly->qkv_w, ly->qkv_b, ly->attn_out_w, ly->attn_out_b, ly->ln1_g, ly->ln1_b,
                             ly->ffn_in_w, ly->ffn_in_b, ly->ffn_out_w, ly->ffn_out_b, ly->ln2_g, ly->ln2_b};
            for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) free(ptrs[i]);
        }
        free(tf->layers);
    }
    free(tf->word_emb);
    free(tf->pos_emb);
    free(tf->type_emb);
    free(tf->emb_ln_g);
    free(tf->emb_ln_b);
    free(tf->rel_bias);
    memset(tf, 0, sizeof *tf);
}

/* ---- work buffers -------------------------------------------------------- */

void ss_tf_work_free(ss_tf_work *w) {
    free(w->x);
    free(w->qkv);
    free(w->ctx);
    free(w->tmp);
    free(w->ffn);
    free(w->scores);
    free(w->bias);
    free(w->kt);
    memset(w, 0, sizeof *w);
}

static float *grow(float *p, size_t n) {
    free(p);
    return aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
}

static ss_status work_reserve(ss_tf_work *w, const ss_tf_config *c, int T, int Lmax, int n_threads, ss_error *err) {
    if (T > w->cap_tokens) {
        int cap = T < 256 ? 256 : T;
        w->x = grow(w->x, (size_t)cap * c->hidden);
        w->qkv = grow(w->qkv, (size_t)cap * 3 * c->hidden);
        w->ctx = grow(w->ctx, (size_t)cap * c->hidden);
        w->tmp = grow(w->tmp, (size_t)cap * c->hidden);
        w->ffn = grow(w->ffn, (size_t)cap * c->intermediate);
        if (!w->x || !w->qkv || !w->ctx || !w->tmp || !w->ffn) {
            ss_tf_work_free(w);
            return ss_fail(err, SS_ERR_NOMEM, "out of memory for %d tokens of activations", T);
        }
        w->cap_tokens = cap;
    }
    if (Lmax > w->cap_seq_len || n_threads > w->n_threads) {
        int L = Lmax > w->cap_seq_len ? Lmax : w->cap_seq_len;
        int nt = n_threads > w->n_threads ? n_threads : w->n_threads;
        w->scores = grow(w->scores, (size_t)nt * L * L);
        w->bias = grow(w->bias, (size_t)nt * (2 * L));
        w->max_head_dim = c->hidden / c->heads;
        w->kt = grow(w->kt, (size_t)nt * L * w->max_head_dim);
        if (!w->scores || !w->bias || !w->kt) {
            ss_tf_work_free(w);
            return ss_fail(err, SS_ERR_NOMEM, "out of memory for attention scores of length %d", L);
        }
        w->cap_seq_len = L;
        w->n_threads = nt;
    }
    return SS_OK;
}

/* ---- forward pieces, each a parallel-for body ---------------------------- */

typedef struct fwd {
    const ss_transformer *tf;
    ss_tf_work *w;
    const int32_t *ids;
    const int *seq_off;
    int n_seq, T;
    const ss_tf_layer *ly;
    const float *ln_g, *ln_b;
    int rows_per_task;
} fwd;

/* A Linear layer over all T tokens, its output columns split across the
 * pool's threads: each thread runs a single-threaded OpenBLAS sgemm on its
 * own slice of the weights (see ss_blas_single_threaded: OpenBLAS's own
 * threads would spin after each call and steal the cores from the attention,
 * GELU and LayerNorm work that runs on this pool in between). */
typedef struct lin_job {
    const float *x, *w, *b;
    float *y;
    int T, k, n, chunk;
} lin_job;

static void lin_task(void *arg, size_t i, int thread) {
    (void)thread;
    lin_job *j = arg;
    int n0 = (int)i * j->chunk, n1 = n0 + j->chunk;
    if (n1 > j->n) n1 = j->n;
    ss_linear_cols(j->x, j->T, j->k, j->w, j->b, j->y, j->n, n0, n1);
}

static void linear(ss_pool *pool, const float *x, int T, int k, const float *w, const float *b, float *y, int n) {
    int nt = ss_pool_threads(pool);
    int chunk = ((n + nt - 1) / nt + 15) / 16 * 16; /* whole 16-column panels */
    lin_job j = {.x = x, .w = w, .b = b, .y = y, .T = T, .k = k, .n = n, .chunk = chunk};
    ss_pool_for(pool, (size_t)((n + chunk - 1) / chunk), lin_task, &j);
}

static void embed_task(void *arg, size_t i, int thread) {
    (void)thread;
    fwd *f = arg;
    const ss_transformer *tf = f->tf;
    const ss_tf_config *c = &tf->cfg;
    const int H = c->hidden;
    int b = (int)i;
    int counted = 0; /* MPNet: non-pad tokens so far */
    for (int t = f->seq_off[b]; t < f->seq_off[b + 1]; t++) {
        int p = t - f->seq_off[b];
        if (c->arch == SS_ARCH_MPNET) {
            /* RoBERTa-style positions (create_position_ids_from_input_ids):
             * padding_idx + running count of non-pad tokens, and padding_idx
             * itself for a pad id — even a literal one inside the text. */
            int is_pad = f->ids[t] == c->pad_token_id;
            counted += !is_pad;
            p = is_pad ? c->pad_token_id : c->pad_token_id + counted;
        }
        const float *we = tf->word_emb + (size_t)f->ids[t] * H, *pe = tf->pos_emb + (size_t)p * H;
        float *x = f->w->x + (size_t)t * H;
        for (int h = 0; h < H; h++) x[h] = we[h] + pe[h];
        if (tf->type_emb)
            for (int h = 0; h < H; h++) x[h] += tf->type_emb[h];
        ss_layernorm_rows(x, x, NULL, tf->emb_ln_g, tf->emb_ln_b, 1, H, c->ln_eps);
    }
}

/* MPNet / T5 bidirectional relative-position bucket of n = query - key. */
static int rel_bucket(int n, int num_buckets, int max_distance) {
    int ret = 0;
    num_buckets /= 2;
    if (n < 0) {
        ret += num_buckets;
        n = -n;
    }
    int max_exact = num_buckets / 2;
    if (n < max_exact) return ret + n;
    int v = max_exact + (int)(logf((float)n / max_exact) / logf((float)max_distance / max_exact) *
                              (num_buckets - max_exact));
    if (v > num_buckets - 1) v = num_buckets - 1;
    return ret + v;
}

/* One (sequence, head) of scaled dot-product attention: ctx = softmax(QKᵀ/√d + bias)·V.
 * Hand-written loops rather than BLAS: the matrices are tiny (L×d with d = 32
 * or 64), and every loop runs along a contiguous axis without reassociating a
 * sum, so the compiler vectorises it and the result is the same whatever
 * thread or batch computes it. */
static void attn_task(void *arg, size_t i, int thread) {
    fwd *f = arg;
    const ss_tf_config *c = &f->tf->cfg;
    const int H = c->hidden, nh = c->heads, d = H / nh, ld = 3 * H;
    int b = (int)i / nh, h = (int)i % nh;
    int t0 = f->seq_off[b], L = f->seq_off[b + 1] - t0;
    ss_tf_work *w = f->w;
    const int cap = w->cap_seq_len;
    float *S = w->scores + (size_t)thread * cap * cap;
    float *KT = w->kt + (size_t)thread * cap * w->max_head_dim;
    const float *Q = w->qkv + (size_t)t0 * ld + h * d, *K = Q + H, *Vm = Q + 2 * H;
    const float scale = 1.0f / sqrtf((float)d);
    for (int k = 0; k < L; k++) /* KT[j][k] = K[k][j] */
        for (int j = 0; j < d; j++) KT[(size_t)j * L + k] = K[(size_t)k * ld + j];
    for (int q = 0; q < L; q++) {
        float *srow = S + (size_t)q * L;
        const float *qr = Q + (size_t)q * ld;
        for (int k = 0; k < L; k++) srow[k] = 0;
        for (int j = 0; j < d; j++) {
            const float qj = qr[j];
            const float *kt = KT + (size_t)j * L;
            for (int k = 0; k < L; k++) srow[k] += qj * kt[k];
        }
        for (int k = 0; k < L; k++) srow[k] *= scale;
    }
    if (f->tf->rel_bias) {
        /* The bias depends only on q - k in [-(L-1), L-1]: tabulate it once. */
        float *bt = w->bias + (size_t)thread * 2 * cap;
        for (int n = -(L - 1); n <= L - 1; n++)
            bt[n + L - 1] = f->tf->rel_bias[rel_bucket(n, c->rel_buckets, 128) * nh + h];
        for (int q = 0; q < L; q++)
            for (int k = 0; k < L; k++) S[(size_t)q * L + k] += bt[q - k + L - 1];
    }
    for (int q = 0; q < L; q++) ss_softmax_row(S + (size_t)q * L, L);
    for (int q = 0; q < L; q++) {
        float *out = w->ctx + (size_t)(t0 + q) * H + h * d;
        const float *p = S + (size_t)q * L;
        for (int j = 0; j < d; j++) out[j] = 0;
        for (int k = 0; k < L; k++) {
            const float pk = p[k];
            const float *v = Vm + (size_t)k * ld;
            for (int j = 0; j < d; j++) out[j] += pk * v[j];
        }
    }
}

/* x = LayerNorm(tmp + x) with the (gamma, beta) of f->ln_g / f->ln_b: the
 * residual connection and post-LN that close both sublayers. */
static void ln_task(void *arg, size_t i, int thread) {
    (void)thread;
    fwd *f = arg;
    const int H = f->tf->cfg.hidden;
    int r0 = (int)i * f->rows_per_task, r1 = r0 + f->rows_per_task;
    if (r1 > f->T) r1 = f->T;
    ss_layernorm_rows(f->w->x + (size_t)r0 * H, f->w->tmp + (size_t)r0 * H, f->w->x + (size_t)r0 * H, f->ln_g,
                      f->ln_b, r1 - r0, H, f->tf->cfg.ln_eps);
}

static void act_task(void *arg, size_t i, int thread) {
    (void)thread;
    fwd *f = arg;
    const int FF = f->tf->cfg.intermediate;
    int r0 = (int)i * f->rows_per_task, r1 = r0 + f->rows_per_task;
    if (r1 > f->T) r1 = f->T;
    float *p = f->w->ffn + (size_t)r0 * FF;
    size_t n = (size_t)(r1 - r0) * FF;
    switch (f->tf->cfg.act) {
    case SS_ACT_GELU: ss_gelu(p, n); break;
    case SS_ACT_GELU_TANH: ss_gelu_tanh(p, n); break;
    case SS_ACT_RELU:
        for (size_t j = 0; j < n; j++) p[j] = p[j] > 0 ? p[j] : 0;
        break;
    }
}

ss_status ss_transformer_forward(const ss_transformer *tf, ss_pool *pool, ss_tf_work *w, const int32_t *ids,
                                 const int *seq_off, int n_seq, ss_error *err) {
    const ss_tf_config *c = &tf->cfg;
    const int H = c->hidden, FF = c->intermediate;
    int T = seq_off[n_seq], Lmax = 0;
    int pos_limit = c->max_position - (c->arch == SS_ARCH_MPNET ? c->pad_token_id + 1 : 0);
    for (int b = 0; b < n_seq; b++) {
        int L = seq_off[b + 1] - seq_off[b];
        if (L > Lmax) Lmax = L;
    }
    if (Lmax > pos_limit)
        return ss_fail(err, SS_ERR_INVALID, "sequence of %d tokens exceeds the model's %d positions", Lmax, pos_limit);
    for (int t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= c->vocab_size)
            return ss_fail(err, SS_ERR_INVALID, "token id %d at position %d is outside the vocabulary (%d)", ids[t],
                           t, c->vocab_size);
    int nt = ss_pool_threads(pool);
    ss_status s = work_reserve(w, c, T, Lmax, nt, err);
    if (s != SS_OK) return s;

    fwd f = {.tf = tf, .w = w, .ids = ids, .seq_off = seq_off, .n_seq = n_seq, .T = T};
    int row_tasks = nt * 4;
    f.rows_per_task = (T + row_tasks - 1) / row_tasks;
    size_t n_row_tasks = (size_t)((T + f.rows_per_task - 1) / f.rows_per_task);

    ss_pool_for(pool, (size_t)n_seq, embed_task, &f);
    for (int l = 0; l < c->layers; l++) {
        const ss_tf_layer *ly = &tf->layers[l];
        f.ly = ly;
        linear(pool, w->x, T, H, ly->qkv_w, ly->qkv_b, w->qkv, 3 * H);
        ss_pool_for(pool, (size_t)n_seq * c->heads, attn_task, &f);
        linear(pool, w->ctx, T, H, ly->attn_out_w, ly->attn_out_b, w->tmp, H);
        f.ln_g = ly->ln1_g;
        f.ln_b = ly->ln1_b;
        ss_pool_for(pool, n_row_tasks, ln_task, &f);
        linear(pool, w->x, T, H, ly->ffn_in_w, ly->ffn_in_b, w->ffn, FF);
        ss_pool_for(pool, n_row_tasks, act_task, &f);
        linear(pool, w->ffn, T, FF, ly->ffn_out_w, ly->ffn_out_b, w->tmp, H);
        f.ln_g = ly->ln2_g;
        f.ln_b = ly->ln2_b;
        ss_pool_for(pool, n_row_tasks, ln_task, &f);
    }
    return SS_OK;
}
