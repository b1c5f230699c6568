/* transformer.c — the flat parameter layout, loading BERT / MPNet weights
 * into it, and the post-LN encoder's forward pass over ss_tf_acts (layout:
 * transformer.h). */
#include "model/transformer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "kernels/ops.h"
#include "kernels/rng.h"
#include "model/attention.h"
#include "model/bflinear.h" /* bf16 hook */
#include "model/qlinear.h" /* int8 hook */
#include "model/safetensors.h"

/* ---- parameter layout ----------------------------------------------------- */

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

size_t ss_tf_param_views(const ss_tf_config *c, ss_tf_view v[SS_TF_N_TENSORS]) {
    const int H = c->hidden, I = c->intermediate, nl = c->layers;
    const int is_mpnet = c->arch == SS_ARCH_MPNET;
    const int types = !is_mpnet && c->type_vocab > 0 ? c->type_vocab : 0;
    const int buckets = is_mpnet ? c->rel_buckets : 0;
    static const char *const names[SS_TF_N_TENSORS] = {
        "word_emb", "pos_emb",    "type_emb", "emb_ln_g", "emb_ln_b",  "rel_bias",  "qkv_w",     "qkv_b",
        "attn_out_w", "attn_out_b", "ln1_g",  "ln1_b",    "ffn_in_w",  "ffn_in_b",  "ffn_out_w", "ffn_out_b",
        "ln2_g",    "ln2_b"};
    /* {ndim, d0, d1, d2} */
    const int shapes[SS_TF_N_TENSORS][4] = {
        {2, c->vocab_size, H, 0}, {2, c->max_position, H, 0}, {2, types, H, 0}, {1, H, 0, 0}, {1, H, 0, 0},
        {2, buckets, c->heads, 0}, {3, nl, 3 * H, H}, {2, nl, 3 * H, 0}, {3, nl, H, H}, {2, nl, H, 0},
        {2, nl, H, 0}, {2, nl, H, 0}, {3, nl, I, H}, {2, nl, I, 0}, {3, nl, H, I}, {2, nl, H, 0},
        {2, nl, H, 0}, {2, nl, H, 0}};
    size_t off = 0;
    for (int i = 0; i < SS_TF_N_TENSORS; i++) {
        v[i].name = names[i];
        v[i].ndim = shapes[i][0];
        size_t numel = 1;
        for (int d = 0; d < 3; d++) {
            v[i].shape[d] = d < v[i].ndim ? shapes[i][d + 1] : 0;
            if (d < v[i].ndim) numel *= (size_t)v[i].shape[d];
        }
        v[i].numel = numel;
        v[i].offset = off;
        off += round16(numel); /* every tensor 64-byte aligned */
    }
    return off;
}

void ss_tf_point_params(const ss_tf_config *c, float *base, ss_tf_params *p) {
    ss_tf_view v[SS_TF_N_TENSORS];
    ss_tf_param_views(c, v);
    float **ptrs[SS_TF_N_TENSORS] = {&p->word_emb,   &p->pos_emb,    &p->type_emb, &p->emb_ln_g, &p->emb_ln_b,
                                     &p->rel_bias,   &p->qkv_w,      &p->qkv_b,    &p->attn_out_w,
                                     &p->attn_out_b, &p->ln1_g,      &p->ln1_b,    &p->ffn_in_w, &p->ffn_in_b,
                                     &p->ffn_out_w,  &p->ffn_out_b,  &p->ln2_g,    &p->ln2_b};
    for (int i = 0; i < SS_TF_N_TENSORS; i++) *ptrs[i] = v[i].numel ? base + v[i].offset : NULL;
}

ss_tf_layer ss_tf_layer_of(const ss_tf_config *c, const ss_tf_params *p, int l) {
    const size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, L = (size_t)l;
    ss_tf_layer ly = {
        .qkv_w = p->qkv_w + L * 3 * H * H, .qkv_b = p->qkv_b + L * 3 * H,
        .attn_out_w = p->attn_out_w + L * H * H, .attn_out_b = p->attn_out_b + L * H,
        .ln1_g = p->ln1_g + L * H, .ln1_b = p->ln1_b + L * H,
        .ffn_in_w = p->ffn_in_w + L * I * H, .ffn_in_b = p->ffn_in_b + L * I,
        .ffn_out_w = p->ffn_out_w + L * H * I, .ffn_out_b = p->ffn_out_b + L * H,
        .ln2_g = p->ln2_g + L * H, .ln2_b = p->ln2_b + L * H,
    };
    return ly;
}

/* ---- loading ------------------------------------------------------------- */

typedef struct loader {
    ss_safetensors st;
    const char *prefix; /* "", "bert.", "mpnet.", "model." — found once */
} loader;

/* Checkpoint tensor NAME (shape-checked by ss_st_read_f32, converted to fp32)
 * into dst. */
static ss_status load_into(loader *L, const char *name, int ndim, int64_t d0, int64_t d1, float *dst,
                           ss_error *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", L->prefix, name);
    int64_t shape[2] = {d0, d1};
    float *t = ss_st_read_f32(&L->st, full, ndim, shape, err);
    if (!t) return err && err->code ? err->code : SS_ERR_FORMAT;
    memcpy(dst, t, (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1) * sizeof(float));
    free(t);
    return SS_OK;
}

static ss_status load_layer(loader *L, const ss_tf_config *c, const ss_tf_layer *ly, int l, ss_error *err) {
    const int H = c->hidden, FF = c->intermediate, is_mpnet = c->arch == SS_ARCH_MPNET;
    static const char *const bert_qkv[3] = {"self.query", "self.key", "self.value"};
    static const char *const mpnet_qkv[3] = {"attn.q", "attn.k", "attn.v"};
    const char *const *qkv = is_mpnet ? mpnet_qkv : bert_qkv;
    char n[200];
    ss_status s;
    for (int i = 0; i < 3; i++) { /* stacked: rows [i·H, (i+1)·H) of qkv_w */
        snprintf(n, sizeof n, "encoder.layer.%d.attention.%s.weight", l, qkv[i]);
        if ((s = load_into(L, n, 2, H, H, ly->qkv_w + (size_t)i * H * H, err)) != SS_OK) return s;
        snprintf(n, sizeof n, "encoder.layer.%d.attention.%s.bias", l, qkv[i]);
        if ((s = load_into(L, n, 1, H, 0, ly->qkv_b + (size_t)i * H, err)) != SS_OK) return s;
    }
    /* BERT nests the attention projection and its LayerNorm under output. */
    const char *ao = is_mpnet ? "attention.attn.o" : "attention.output.dense";
    const char *aln = is_mpnet ? "attention.LayerNorm" : "attention.output.LayerNorm";
    struct {
        const char *base, *suffix;
        int ndim, d0, d1;
        float *dst;
    } t[] = {
        {ao, "weight", 2, H, H, ly->attn_out_w},
        {ao, "bias", 1, H, 0, ly->attn_out_b},
        {aln, "weight", 1, H, 0, ly->ln1_g},
        {aln, "bias", 1, H, 0, ly->ln1_b},
        {"intermediate.dense", "weight", 2, FF, H, ly->ffn_in_w},
        {"intermediate.dense", "bias", 1, FF, 0, ly->ffn_in_b},
        {"output.dense", "weight", 2, H, FF, ly->ffn_out_w},
        {"output.dense", "bias", 1, H, 0, ly->ffn_out_b},
        {"output.LayerNorm", "weight", 1, H, 0, ly->ln2_g},
        {"output.LayerNorm", "bias", 1, H, 0, ly->ln2_b},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        snprintf(n, sizeof n, "encoder.layer.%d.%s.%s", l, t[i].base, t[i].suffix);
        if ((s = load_into(L, n, t[i].ndim, t[i].d0, t[i].d1, t[i].dst, err)) != SS_OK) return s;
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
    tf->n_params = ss_tf_param_views(cfg, tf->views);
    tf->params = aligned_alloc(64, tf->n_params * sizeof(float));
    if (!tf->params) return ss_fail(err, SS_ERR_NOMEM, "out of memory for %zu parameters", tf->n_params);
    memset(tf->params, 0, tf->n_params * sizeof(float)); /* the alignment padding too */
    ss_tf_point_params(cfg, tf->params, &tf->w);

    loader L = {.prefix = ""};
    ss_status s = ss_st_open(&L.st, path, err);
    if (s != SS_OK) {
        ss_transformer_free(tf);
        return s;
    }
    static const char *const prefixes[] = {"", "bert.", "mpnet.", "model."};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char n[128];
        snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", prefixes[i]);
        if (ss_st_find(&L.st, n)) {
            L.prefix = prefixes[i];
            break;
        }
    }
    const int H = cfg->hidden;
    const ss_tf_params *w = &tf->w;
    if ((s = load_into(&L, "embeddings.word_embeddings.weight", 2, cfg->vocab_size, H, w->word_emb, err)) ||
        (s = load_into(&L, "embeddings.position_embeddings.weight", 2, cfg->max_position, H, w->pos_emb, err)) ||
        (w->type_emb &&
         (s = load_into(&L, "embeddings.token_type_embeddings.weight", 2, cfg->type_vocab, H, w->type_emb, err))) ||
        (s = load_into(&L, "embeddings.LayerNorm.weight", 1, H, 0, w->emb_ln_g, err)) ||
        (s = load_into(&L, "embeddings.LayerNorm.bias", 1, H, 0, w->emb_ln_b, err)) ||
        (w->rel_bias && (s = load_into(&L, "encoder.relative_attention_bias.weight", 2, cfg->rel_buckets,
                                       cfg->heads, w->rel_bias, err))))
        goto fail;
    for (int l = 0; l < cfg->layers; l++) {
        ss_tf_layer ly = ss_tf_layer_of(cfg, w, l);
        if ((s = load_layer(&L, cfg, &ly, l, err)) != SS_OK) goto fail;
    }
    ss_st_close(&L.st);
    return SS_OK;
fail:
    ss_st_close(&L.st);
    ss_transformer_free(tf);
    return s;
}

void ss_transformer_free(ss_transformer *tf) {
    free(tf->params);
    ss_tf_qweights_free(tf->q); /* int8 hook */
    ss_tf_bweights_free(tf->bf); /* bf16 hook */
    memset(tf, 0, sizeof *tf);
}

/* ---- activations ------------------------------------------------------- */

float *ss_tf_acts_resid(const ss_tf_acts *a, int H, int l) {
    int i = a->n_resid > 2 ? l : l % 2;
    return a->resid + (size_t)i * a->cap_T * H;
}

ss_tf_layer_acts ss_tf_acts_layer(const ss_tf_acts *a, const ss_tf_config *c, int l) {
    const size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, T = (size_t)a->cap_T;
    const size_t L = a->n_layer_bufs > 1 ? (size_t)l : 0;
    ss_tf_layer_acts la = {
        .in = ss_tf_acts_resid(a, c->hidden, l),
        .qkv = a->qkv + L * T * 3 * H,
        .att = a->att ? a->att + L * a->cap_att : NULL,
        .atty = a->atty + L * T * H,
        .attproj = a->attproj + L * T * H,
        .ln1_in = a->ln1_in + L * T * H,
        .ln1_mean = a->ln1_mean + L * T,
        .ln1_rstd = a->ln1_rstd + L * T,
        .ln1_out = a->ln1_out + L * T * H,
        .fch = a->fch + L * T * I,
        .fch_act = a->fch_act + L * T * I,
        .fcproj = a->fcproj + L * T * H,
        .ln2_in = a->ln2_in + L * T * H,
        .ln2_mean = a->ln2_mean + L * T,
        .ln2_rstd = a->ln2_rstd + L * T,
        .out = ss_tf_acts_resid(a, c->hidden, l + 1),
    };
    if (a->dropped) {
        la.drop_att = a->drop_att + (size_t)l * a->drop_cap_att;
        la.drop_attn_out = a->drop_attn_out + (size_t)l * T * H;
        la.drop_ffn_out = a->drop_ffn_out + (size_t)l * T * H;
    }
    return la;
}

float *ss_tf_acts_output(const ss_tf_acts *a, const ss_tf_config *c) {
    return ss_tf_acts_resid(a, c->hidden, c->layers);
}

static float *alloc_f(size_t n) { return aligned_alloc(64, round16(n ? n : 1) * sizeof(float)); }

static void acts_free(ss_tf_acts *a) {
    int keep = a->keep_all;
    float *owned[] = {a->emb_mean, a->emb_rstd, a->resid,    a->qkv,      a->att,
                      a->atty,     a->attproj,  a->ln1_mean, a->ln1_rstd};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) free(owned[i]);
    if (!a->aliased) { /* else these point into the buffers above */
        float *more[] = {a->emb,    a->ln1_in, a->ln1_out, a->fch,      a->fch_act,
                         a->fcproj, a->ln2_in, a->ln2_mean, a->ln2_rstd};
        for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) free(more[i]);
    }
    free(a->att_off);
    free(a->drop_emb), free(a->drop_att), free(a->drop_attn_out), free(a->drop_ffn_out);
    memset(a, 0, sizeof *a);
    a->keep_all = keep;
}

/* Room for T tokens in n_seq sequences whose attention takes att_len floats
 * per layer; contents are not preserved. */
static ss_status acts_reserve(ss_tf_acts *a, const ss_tf_config *c, int T, int n_seq, size_t att_len,
                              ss_error *err) {
    const int layer_bufs = a->keep_all ? c->layers : 1;
    if (layer_bufs != a->n_layer_bufs || a->aliased == a->keep_all || T > a->cap_T || n_seq > a->cap_seq ||
        (a->keep_all && att_len > a->cap_att)) {
        int cap = T < 256 ? 256 : T, cap_seq = n_seq < 64 ? 64 : n_seq;
        size_t cap_att = a->keep_all ? (att_len > a->cap_att ? att_len : a->cap_att) : 0;
        if (cap < a->cap_T && layer_bufs == a->n_layer_bufs) cap = a->cap_T;
        acts_free(a);
        const size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, n = (size_t)layer_bufs, t = (size_t)cap;
        a->n_layer_bufs = layer_bufs;
        a->n_resid = a->keep_all ? c->layers + 1 : 2;
        a->cap_T = cap;
        a->cap_seq = cap_seq;
        a->cap_att = cap_att;
        a->emb_mean = alloc_f(t);
        a->emb_rstd = alloc_f(t);
        a->resid = alloc_f((size_t)a->n_resid * t * H);
        a->att = a->keep_all ? alloc_f(n * cap_att) : NULL;
        a->atty = alloc_f(n * t * H);
        a->attproj = alloc_f(n * t * H);
        a->ln1_mean = alloc_f(n * t);
        a->ln1_rstd = alloc_f(n * t);
        a->att_off = malloc(((size_t)cap_seq + 1) * sizeof *a->att_off);
        int ok = a->emb_mean && a->emb_rstd && a->resid && (!a->keep_all || a->att) && a->atty && a->attproj &&
                 a->ln1_mean && a->ln1_rstd && a->att_off;
        if (ok && a->keep_all) {
            a->emb = alloc_f(t * H);
            a->qkv = alloc_f(n * t * 3 * H);
            a->ln1_in = alloc_f(n * t * H);
            a->ln1_out = alloc_f(n * t * H);
            a->fch = alloc_f(n * t * I);
            a->fch_act = alloc_f(n * t * I);
            a->fcproj = alloc_f(n * t * H);
            a->ln2_in = alloc_f(n * t * H);
            a->ln2_mean = alloc_f(n * t);
            a->ln2_rstd = alloc_f(n * t);
            ok = a->emb && a->qkv && a->ln1_in && a->ln1_out && a->fch && a->fch_act && a->fcproj && a->ln2_in &&
                 a->ln2_mean && a->ln2_rstd;
        } else if (ok) {
            /* Nothing is kept: share every buffer whose contents are dead by
             * the time the next user writes it (see transformer.h). */
            a->aliased = 1;
            a->qkv = alloc_f(t * (3 * H > I ? 3 * H : I));
            ok = a->qkv != NULL;
            a->emb = a->resid + t * H; /* resid(1): not written before layer 0 ends */
            a->fch = a->fch_act = a->qkv;
            a->ln1_out = a->atty;
            a->ln1_in = a->fcproj = a->ln2_in = a->attproj;
            a->ln2_mean = a->ln1_mean;
            a->ln2_rstd = a->ln1_rstd;
        }
        if (!ok) {
            acts_free(a);
            return ss_fail(err, SS_ERR_NOMEM, "out of memory for activations of %d tokens%s", T,
                           a->keep_all ? " (all layers kept)" : "");
        }
    }
    a->att_len = att_len;
    return SS_OK;
}

/* Dropout masks for the layout acts_reserve just made (keep_all: strides
 * cap_T and cap_att, as the float buffers). */
static ss_status drop_reserve(ss_tf_acts *a, const ss_tf_config *c, ss_error *err) {
    if (a->drop_emb && a->drop_cap_T == a->cap_T && a->drop_cap_att == a->cap_att) return SS_OK;
    free(a->drop_emb), free(a->drop_att), free(a->drop_attn_out), free(a->drop_ffn_out);
    const size_t TH = (size_t)a->cap_T * c->hidden, n = (size_t)c->layers;
    a->drop_emb = malloc(TH ? TH : 1);
    a->drop_att = malloc(n * a->cap_att + 1);
    a->drop_attn_out = malloc(n * TH + 1);
    a->drop_ffn_out = malloc(n * TH + 1);
    a->drop_cap_T = a->cap_T, a->drop_cap_att = a->cap_att;
    if (!a->drop_emb || !a->drop_att || !a->drop_attn_out || !a->drop_ffn_out) {
        free(a->drop_emb), free(a->drop_att), free(a->drop_attn_out), free(a->drop_ffn_out);
        a->drop_emb = a->drop_att = a->drop_attn_out = a->drop_ffn_out = NULL;
        a->drop_cap_T = 0, a->drop_cap_att = 0;
        return ss_fail(err, SS_ERR_NOMEM, "out of memory for the dropout masks of %d tokens", a->cap_T);
    }
    return SS_OK;
}

uint64_t ss_tf_dropout_key(uint64_t drop_seed, int site, int layer, uint64_t idx) {
    uint64_t x = drop_seed;
    return ss_splitmix64(&x) ^ ((uint64_t)site << 56) ^ ((uint64_t)layer << 40) ^ idx;
}

/* Mask row `idx` of (site, layer): n bytes, kept (1) with probability 1 - p,
 * and out = in ⊙ mask · keep in place when x is given. */
static void drop_row(uint8_t *mask, float *x, size_t n, float p, float keep, uint64_t seed, int site, int layer,
                     uint64_t idx) {
    ss_rng r;
    ss_rng_seed(&r, ss_tf_dropout_key(seed, site, layer, idx));
    for (size_t i = 0; i < n; i++) mask[i] = ss_rng_uniform(&r) >= p;
    if (x)
        for (size_t i = 0; i < n; i++) x[i] = mask[i] ? x[i] * keep : 0.0f;
}

void ss_tf_work_free(ss_tf_work *w) {
    acts_free(&w->acts);
    free(w->scores);
    free(w->kt);
    free(w->bias);
    ss_qact_free(&w->qact); /* int8 hook */
    ss_bact_free(&w->bact); /* bf16 hook */
    memset(w, 0, sizeof *w);
}

static ss_status scratch_reserve(ss_tf_work *w, const ss_tf_config *c, int Lmax, int nt, ss_error *err) {
    if (Lmax <= w->scratch_len && nt <= w->scratch_threads) return SS_OK;
    int L = Lmax > w->scratch_len ? Lmax : w->scratch_len;
    int n = nt > w->scratch_threads ? nt : w->scratch_threads;
    free(w->scores);
    free(w->kt);
    free(w->bias);
    /* per-thread slices rounded to 16 floats so each starts 64-byte aligned */
    w->scores = alloc_f((size_t)n * round16((size_t)L * L));
    w->kt = alloc_f((size_t)n * round16((size_t)L * (c->hidden / c->heads)));
    w->bias = alloc_f((size_t)n * round16((size_t)2 * L));
    if (!w->scores || !w->kt || !w->bias) {
        free(w->scores);
        free(w->kt);
        free(w->bias);
        w->scores = w->kt = w->bias = NULL;
        w->scratch_len = w->scratch_threads = 0;
        return ss_fail(err, SS_ERR_NOMEM, "out of memory for attention scores of length %d", L);
    }
    w->scratch_len = L;
    w->scratch_threads = n;
    return SS_OK;
}

/* ---- forward pieces, each a parallel-for body ---------------------------- */

typedef struct fwd {
    const ss_transformer *tf;
    ss_tf_work *w;
    const int32_t *ids;
    const int *seq_off;
    int T, rows_per_task;
    int drop, layer;              /* training dropout on; the current layer */
    float keep_hidden, keep_attn; /* 1 / (1 - p) */
    uint8_t *ln_drop;             /* mask of the current sublayer's output (ln_a, dropped in place) */
    int ln_site;
    ss_tf_layer ly;
    ss_tf_layer_acts la;
    /* the residual LayerNorm of the current sublayer */
    float *ln_out, *ln_sum, *ln_mean, *ln_rstd;
    const float *ln_a, *ln_res, *ln_g, *ln_b;
} fwd;

/* A Linear layer over all T tokens, its output columns cut into slices of a
 * fixed width (LIN_SLICE, whole 16-column panels). When OpenBLAS runs
 * single-threaded (the caller's choice: ss_blas_set_single_threaded) the
 * pool's threads share the slices; otherwise the calling thread runs them one
 * after another and OpenBLAS spreads each over its own threads — the pool's
 * threads would only compete with OpenBLAS's for the cores. The slices do not
 * depend on the number of threads, so results are bit-identical for any pool
 * size (test_train_threads): OpenBLAS's AVX2 (Haswell / Zen) sgemm gives a
 * column different last bits depending on the width of the call it is in
 * (measured on Zen 3: one slice per thread broke 1 / 2 / 4-thread identity),
 * so the width must be fixed — in inference too, since keep_all (training)
 * and inference must give the same bits (test_tf_acts). 64 still gives 6
 * slices for H = 384. Cost (bench_embed A/B on Zen 3): at 2 threads within
 * noise (300 / 297 sent/s one slice per thread, 297 / 315 fixed), at 1
 * thread ~10% (186 / 192 against 175 / 163): the narrow calls re-pack x and
 * run OpenBLAS below its best width. */
#define LIN_SLICE 64
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
    int chunk = LIN_SLICE;
    lin_job j = {.x = x, .w = w, .b = b, .y = y, .T = T, .k = k, .n = n, .chunk = chunk};
    size_t slices = (size_t)((n + chunk - 1) / chunk);
    if (ss_blas_threads() == 1) {
        ss_pool_for(pool, slices, lin_task, &j);
    } else {
        for (size_t i = 0; i < slices; i++) lin_task(&j, i, 0);
    }
}

static void embed_task(void *arg, size_t i, int thread) {
    (void)thread;
    fwd *f = arg;
    const ss_transformer *tf = f->tf;
    const ss_tf_config *c = &tf->cfg;
    const ss_tf_acts *a = &f->w->acts;
    const int H = c->hidden;
    float *resid0 = ss_tf_acts_resid(a, H, 0);
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
        const float *we = tf->w.word_emb + (size_t)f->ids[t] * H, *pe = tf->w.pos_emb + (size_t)p * H;
        float *x = a->emb + (size_t)t * H;
        for (int h = 0; h < H; h++) x[h] = we[h] + pe[h];
        if (tf->w.type_emb) /* token type 0 for every token */
            for (int h = 0; h < H; h++) x[h] += tf->w.type_emb[h];
        ss_layernorm_forward(resid0 + (size_t)t * H, a->emb_mean + t, a->emb_rstd + t, x, tf->w.emb_ln_g,
                             tf->w.emb_ln_b, 1, H, c->ln_eps);
        if (f->drop) /* BertEmbeddings: dropout(LayerNorm(...)) */
            drop_row(a->drop_emb + (size_t)t * H, resid0 + (size_t)t * H, (size_t)H, f->w->p_hidden, f->keep_hidden,
                     f->w->drop_seed, 0, 0, f->w->drop_tok0 + (uint64_t)t);
    }
}

static void attn_task(void *arg, size_t i, int thread) {
    fwd *f = arg;
    const ss_tf_config *c = &f->tf->cfg;
    const int H = c->hidden, nh = c->heads, d = H / nh;
    const ss_tf_work *w = f->w;
    int b = (int)i / nh, h = (int)i % nh;
    int t0 = f->seq_off[b], L = f->seq_off[b + 1] - t0;
    const size_t cap = (size_t)w->scratch_len;
    ss_attn_scratch s = {
        .scores = w->scores + (size_t)thread * round16(cap * cap),
        .kt = w->kt + (size_t)thread * round16(cap * d),
        .bias = w->bias + (size_t)thread * round16(2 * cap),
    };
    float *att = f->la.att ? f->la.att + w->acts.att_off[b] + (size_t)h * L * L : s.scores;
    uint8_t *drop = NULL;
    if (f->drop) {
        drop = f->la.drop_att + w->acts.att_off[b] + (size_t)h * L * L;
        drop_row(drop, NULL, (size_t)L * L, w->p_attn, 0, w->drop_seed, 1, f->layer,
                 (w->drop_seq0 + (uint64_t)b) * nh + h);
    }
    ss_attention_forward(f->la.atty + (size_t)t0 * H, att, f->la.qkv + (size_t)t0 * 3 * H, L, H, nh, h,
                         f->tf->w.rel_bias, c->rel_buckets, drop, f->keep_attn, &s);
}

static void ln_task(void *arg, size_t i, int thread) {
    (void)thread;
    fwd *f = arg;
    const int H = f->tf->cfg.hidden;
    int r0 = (int)i * f->rows_per_task, r1 = r0 + f->rows_per_task;
    if (r1 > f->T) r1 = f->T;
    size_t o = (size_t)r0 * H;
    if (f->ln_drop) /* the sublayer output's dropout, before LayerNorm(x + residual) */
        for (int r = r0; r < r1; r++)
            drop_row(f->ln_drop + (size_t)r * H, (float *)f->ln_a + (size_t)r * H, (size_t)H, f->w->p_hidden,
                     f->keep_hidden, f->w->drop_seed, f->ln_site, f->layer, f->w->drop_tok0 + (uint64_t)r);
    ss_residual_layernorm_forward(f->ln_out + o, f->ln_sum + o, f->ln_mean + r0, f->ln_rstd + r0, f->ln_a + o,
                                  f->ln_res + o, f->ln_g, f->ln_b, r1 - r0, H, f->tf->cfg.ln_eps);
}

static void act_task(void *arg, size_t i, int thread) {
    (void)thread;
    fwd *f = arg;
    const int FF = f->tf->cfg.intermediate;
    int r0 = (int)i * f->rows_per_task, r1 = r0 + f->rows_per_task;
    if (r1 > f->T) r1 = f->T;
    size_t o = (size_t)r0 * FF, n = (size_t)(r1 - r0) * FF;
    switch (f->tf->cfg.act) {
    case SS_ACT_GELU: ss_gelu_forward(f->la.fch_act + o, f->la.fch + o, n); break;
    case SS_ACT_GELU_TANH: ss_gelu_tanh_forward(f->la.fch_act + o, f->la.fch + o, n); break;
    case SS_ACT_RELU: ss_relu_forward(f->la.fch_act + o, f->la.fch + o, n); break;
    }
}

ss_status ss_transformer_forward(const ss_transformer *tf, ss_pool *pool, ss_tf_work *w, const int32_t *ids,
                                 const int *seq_off, int n_seq, ss_error *err) {
    const ss_tf_config *c = &tf->cfg;
    const int H = c->hidden, FF = c->intermediate, nh = c->heads;
    int T = seq_off[n_seq], Lmax = 0;
    int pos_limit = c->max_position - (c->arch == SS_ARCH_MPNET ? c->pad_token_id + 1 : 0);
    size_t att_len = 0;
    for (int b = 0; b < n_seq; b++) {
        int L = seq_off[b + 1] - seq_off[b];
        if (L > Lmax) Lmax = L;
        att_len += (size_t)nh * L * L;
    }
    if (Lmax > pos_limit)
        return ss_fail(err, SS_ERR_INVALID, "sequence of %d tokens exceeds the model's %d positions", Lmax, pos_limit);
    for (int t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= c->vocab_size)
            return ss_fail(err, SS_ERR_INVALID, "token id %d at position %d is outside the vocabulary (%d)", ids[t],
                           t, c->vocab_size);
    int nt = ss_pool_threads(pool);
    ss_tf_acts *a = &w->acts;
    ss_status s = acts_reserve(a, c, T, n_seq, att_len, err);
    if (s == SS_OK) s = scratch_reserve(w, c, Lmax, nt, err);
    const int drop = a->keep_all && w->dropout;
    if (s == SS_OK && drop && !(w->p_hidden >= 0 && w->p_hidden < 1 && w->p_attn >= 0 && w->p_attn < 1))
        s = ss_fail(err, SS_ERR_INVALID, "dropout p %g / %g is not in [0, 1)", w->p_hidden, w->p_attn);
    if (s == SS_OK && drop) s = drop_reserve(a, c, err);
    if (s != SS_OK) return s;
    a->dropped = drop;
    a->drop_hidden = drop ? w->p_hidden : 0, a->drop_attn = drop ? w->p_attn : 0;
    a->T = T;
    a->n_seq = n_seq;
    a->att_off[0] = 0;
    for (int b = 0; b < n_seq; b++) {
        size_t L = (size_t)(seq_off[b + 1] - seq_off[b]);
        a->att_off[b + 1] = a->att_off[b] + (size_t)nh * L * L;
    }

    fwd f = {.tf = tf, .w = w, .ids = ids, .seq_off = seq_off, .T = T, .drop = drop};
    if (drop) f.keep_hidden = 1.0f / (1.0f - w->p_hidden), f.keep_attn = 1.0f / (1.0f - w->p_attn);
    int row_tasks = nt * 4;
    f.rows_per_task = (T + row_tasks - 1) / row_tasks;
    if (f.rows_per_task < 1) f.rows_per_task = 1;
    size_t n_row_tasks = (size_t)((T + f.rows_per_task - 1) / f.rows_per_task);

    /* ---- int8 hook (perf branch): with tf->q the four linears of a layer run
     * on int8 (model/qlinear.c); everything else is unchanged fp32 */
    if (tf->q && (s = ss_qact_reserve(&w->qact, T, FF > H ? FF : H, tf->q->kern->wide, err)) != SS_OK) return s;
    if (tf->bf && (s = ss_bact_reserve(&w->bact, T, FF > H ? FF : H, err)) != SS_OK) return s; /* bf16 hook */
#define LINEAR(which, x, k, wf, bias, y, n)                                                \
    do {                                                                                 \
        if (tf->q) ss_qlinear(pool, tf->q, l, which, &w->qact, x, T, k, bias, y, n);       \
        else if (tf->bf) ss_bflinear(pool, tf->bf, l, which, &w->bact, x, T, k, bias, y, n); \
        else linear(pool, x, T, k, wf, bias, y, n);                                        \
    } while (0)
    /* ---- end int8 hook */
    ss_pool_for(pool, (size_t)n_seq, embed_task, &f);
    for (int l = 0; l < c->layers; l++) {
        f.ly = ss_tf_layer_of(c, &tf->w, l);
        f.la = ss_tf_acts_layer(a, c, l);
        f.layer = l;
        const ss_tf_layer *ly = &f.ly;
        const ss_tf_layer_acts *la = &f.la;
        LINEAR(SS_QL_QKV, la->in, H, ly->qkv_w, ly->qkv_b, la->qkv, 3 * H);
        ss_pool_for(pool, (size_t)n_seq * nh, attn_task, &f);
        LINEAR(SS_QL_ATTN_OUT, la->atty, H, ly->attn_out_w, ly->attn_out_b, la->attproj, H);
        f.ln_out = la->ln1_out, f.ln_sum = la->ln1_in, f.ln_mean = la->ln1_mean, f.ln_rstd = la->ln1_rstd;
        f.ln_a = la->attproj, f.ln_res = la->in, f.ln_g = ly->ln1_g, f.ln_b = ly->ln1_b;
        f.ln_drop = la->drop_attn_out, f.ln_site = 2;
        ss_pool_for(pool, n_row_tasks, ln_task, &f);
        LINEAR(SS_QL_FFN_IN, la->ln1_out, H, ly->ffn_in_w, ly->ffn_in_b, la->fch, FF);
        ss_pool_for(pool, n_row_tasks, act_task, &f);
        LINEAR(SS_QL_FFN_OUT, la->fch_act, FF, ly->ffn_out_w, ly->ffn_out_b, la->fcproj, H);
        f.ln_out = la->out, f.ln_sum = la->ln2_in, f.ln_mean = la->ln2_mean, f.ln_rstd = la->ln2_rstd;
        f.ln_a = la->fcproj, f.ln_res = la->ln1_out, f.ln_g = ly->ln2_g, f.ln_b = ly->ln2_b;
        f.ln_drop = la->drop_ffn_out, f.ln_site = 3;
        ss_pool_for(pool, n_row_tasks, ln_task, &f);
    }
#undef LINEAR /* int8 hook */
    w->x = ss_tf_acts_output(a, c);
    return SS_OK;
}
