/* bert_backward.c — see bert_backward.h. For each layer l, in reverse:
 *
 *   ln2_in = fcproj + ln1_out      out = LN2(ln2_in)
 *   fcproj = act(fch) · W2ᵀ + b2   fch = ln1_out · W1ᵀ + b1
 *   ln1_in = attproj + in          ln1_out = LN1(ln1_in)
 *   attproj = atty · Woᵀ + bo      atty = attention(qkv)     qkv = in · Wqkvᵀ + bqkv
 *
 * so d in = d ln1_in (residual) + d qkv · Wqkv, and d ln1_out = d ln2_in
 * (residual) + d fch · W1. The embeddings end: resid(0) = LN0(word + pos +
 * type 0), scattered back into the three tables. */
#include "train/bert_backward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/attention_dropout.h"
#include "kernels/backward.h"
#include "model/attention.h"
#include "train/optim.h"

void ss_tf_bwork_free(ss_tf_bwork *b) {
    free(b->dres), free(b->dres2), free(b->dln), free(b->dh), free(b->dff), free(b->dfch), free(b->dqkv), free(b->datt);
    free(b->scratch);
    ss_pool *pool = b->pool;
    memset(b, 0, sizeof *b);
    b->pool = pool;
}

static ss_status bwork_reserve(ss_tf_bwork *b, const ss_tf_config *c, int T, size_t att_len, int Lmax,
                               ss_error *err) {
    Lmax *= ss_pool_threads(b->pool); /* one attention scratch row per thread */
    if (T > b->cap_T || att_len > b->cap_att || Lmax > b->cap_L) {
        int cT = T > b->cap_T ? T : b->cap_T, cL = Lmax > b->cap_L ? Lmax : b->cap_L;
        size_t ca = att_len > b->cap_att ? att_len : b->cap_att;
        ss_tf_bwork_free(b);
        size_t H = (size_t)c->hidden, I = (size_t)c->intermediate;
        b->dres = malloc(sizeof(float) * cT * H);
        b->dres2 = malloc(sizeof(float) * cT * H);
        b->dln = malloc(sizeof(float) * cT * H);
        b->dh = malloc(sizeof(float) * cT * H);
        b->dff = malloc(sizeof(float) * cT * I);
        b->dfch = malloc(sizeof(float) * cT * I);
        b->dqkv = malloc(sizeof(float) * cT * 3 * H);
        b->datt = malloc(sizeof(float) * (ca + 1));
        b->scratch = malloc(sizeof(float) * (cL + 1));
        if (!b->dres || !b->dres2 || !b->dln || !b->dh || !b->dff || !b->dfch || !b->dqkv || !b->datt || !b->scratch) {
            ss_tf_bwork_free(b);
            return ss_fail(err, SS_ERR_NOMEM, "backward: out of memory for %d tokens", cT);
        }
        b->cap_T = cT, b->cap_att = ca, b->cap_L = cL;
    }
    return SS_OK;
}

static void relu_backward(float *dinp, const float *x, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (x[i] > 0) dinp[i] += dout[i];
}

/* ---- parallel pieces (one task per head / column block; sums in the serial order) ---- */

/* MPNet: the relative-position bias table is shared by all layers; bucket by
 * q - k. One task per head (column h of the table), sequences in order. */
typedef struct relb_job {
    float *g_rel_bias;
    const float *datt;
    const size_t *att_off;
    const int *seq_off;
    int n_seq, nh, buckets;
} relb_job;

static void relb_task(void *arg, size_t i, int thread) {
    (void)thread;
    const relb_job *j = arg;
    int h = (int)i;
    for (int b = 0; b < j->n_seq; b++) {
        int L = j->seq_off[b + 1] - j->seq_off[b];
        const float *s = j->datt + j->att_off[b] + (size_t)h * L * L;
        for (int r = 0; r < L; r++)
            for (int k = 0; k < L; k++)
                j->g_rel_bias[ss_rel_bucket(r - k, j->buckets, 128) * j->nh + h] += s[(size_t)r * L + k];
    }
}

/* Position and token-type rows of the embeddings' gradient, one task per
 * block of 16 columns, tokens in order. */
typedef struct posb_job {
    const ss_tf_config *c;
    float *pos_emb, *type_emb;
    const float *dln;
    const int32_t *ids;
    const int *seq_off;
    int n_seq;
} posb_job;

static void posb_task(void *arg, size_t i, int thread) {
    (void)thread;
    const posb_job *j = arg;
    const ss_tf_config *c = j->c;
    const int H = c->hidden, c0 = (int)i * 16, c1 = c0 + 16 < H ? c0 + 16 : H;
    for (int b = 0; b < j->n_seq; b++) {
        int counted = 0;
        for (int t = j->seq_off[b]; t < j->seq_off[b + 1]; t++) {
            int p = t - j->seq_off[b];
            if (c->arch == SS_ARCH_MPNET) { /* the forward's RoBERTa-style position ids */
                int is_pad = j->ids[t] == c->pad_token_id;
                counted += !is_pad;
                p = is_pad ? c->pad_token_id : c->pad_token_id + counted;
            }
            const float *src = j->dln + (size_t)t * H;
            float *pe = j->pos_emb + (size_t)p * H;
            for (int h = c0; h < c1; h++) pe[h] += src[h];
            if (j->type_emb)
                for (int h = c0; h < c1; h++) j->type_emb[h] += src[h];
        }
    }
}

ss_status ss_transformer_backward(const ss_transformer *tf, const ss_tf_work *w, const int32_t *ids,
                                  const int *seq_off, int n_seq, const float *dout, float *grads, ss_tf_bwork *bw,
                                  ss_error *err) {
    const ss_tf_config *c = &tf->cfg;
    ss_pool *pool = bw->pool;
    const ss_tf_acts *a = &w->acts;
    const int H = c->hidden, FF = c->intermediate, nh = c->heads, d = H / nh;
    int T = seq_off[n_seq], Lmax = 0;
    if (!a->keep_all || a->T != T || a->n_seq != n_seq)
        return ss_fail(err, SS_ERR_INVALID,
                       "backward: the forward did not keep its activations (keep_all) or ran another batch");
    for (int b = 0; b < n_seq; b++)
        if (seq_off[b + 1] - seq_off[b] > Lmax) Lmax = seq_off[b + 1] - seq_off[b];
    ss_status st = bwork_reserve(bw, c, T, a->att_len, Lmax, err);
    if (st != SS_OK) return st;
    ss_tf_params g;
    ss_tf_point_params(c, grads, &g);
    const size_t TH = (size_t)T * H;
    float *dy = bw->dres, *dnext = bw->dres2;
    /* dropout (a->dropped): the masks of the forward, applied to the gradients of what they dropped */
    const float keep_h = 1.0f / (1.0f - a->drop_hidden), keep_a = 1.0f / (1.0f - a->drop_attn);
    memcpy(dy, dout, sizeof(float) * TH);

    for (int l = c->layers - 1; l >= 0; l--) {
        ss_tf_layer ly = ss_tf_layer_of(c, &tf->w, l), gl = ss_tf_layer_of(c, &g, l);
        ss_tf_layer_acts la = ss_tf_acts_layer(a, c, l);
        /* LN2 and its residual: d ln2_in feeds fcproj and ln1_out */
        memset(bw->dln, 0, sizeof(float) * TH);
        ss_layernorm_backward_par(pool, bw->dln, gl.ln2_g, gl.ln2_b, dy, la.ln2_in, ly.ln2_g, la.ln2_mean, la.ln2_rstd, T, H);
        memcpy(bw->dh, bw->dln, sizeof(float) * TH); /* d ln1_out, residual part */
        if (la.drop_ffn_out) ss_dropout_backward_inplace(bw->dln, la.drop_ffn_out, TH, keep_h);
        /* FFN out, activation, FFN in */
        memset(bw->dff, 0, sizeof(float) * T * FF);
        ss_linear_backward_par(pool, bw->dff, gl.ffn_out_w, gl.ffn_out_b, bw->dln, la.fch_act, ly.ffn_out_w, T, FF, H);
        float *dfch = bw->dfch;
        memset(dfch, 0, sizeof(float) * T * FF);
        switch (c->act) {
        case SS_ACT_GELU: ss_gelu_backward_par(pool, 0, dfch, la.fch, bw->dff, (size_t)T * FF); break;
        case SS_ACT_GELU_TANH: ss_gelu_backward_par(pool, 1, dfch, la.fch, bw->dff, (size_t)T * FF); break;
        case SS_ACT_RELU: relu_backward(dfch, la.fch, bw->dff, (size_t)T * FF); break;
        }
        ss_linear_backward_par(pool, bw->dh, gl.ffn_in_w, gl.ffn_in_b, dfch, la.ln1_out, ly.ffn_in_w, T, H, FF);
        /* LN1 and its residual: d ln1_in feeds attproj and the layer input */
        memset(bw->dln, 0, sizeof(float) * TH);
        ss_layernorm_backward_par(pool, bw->dln, gl.ln1_g, gl.ln1_b, bw->dh, la.ln1_in, ly.ln1_g, la.ln1_mean, la.ln1_rstd, T,
                              H);
        memcpy(dnext, bw->dln, sizeof(float) * TH);
        if (la.drop_attn_out) ss_dropout_backward_inplace(bw->dln, la.drop_attn_out, TH, keep_h);
        /* attention output projection */
        memset(bw->dh, 0, sizeof(float) * TH);
        ss_linear_backward_par(pool, bw->dh, gl.attn_out_w, gl.attn_out_b, bw->dln, la.atty, ly.attn_out_w, T, H, H);
        /* attention itself */
        memset(bw->dqkv, 0, sizeof(float) * TH * 3);
        float *datt = tf->w.rel_bias ? bw->datt : NULL;
        if (datt) memset(datt, 0, sizeof(float) * a->att_len);
        if (la.drop_att)
            ss_attention_dropout_backward_par(pool, bw->dqkv, bw->dqkv + H, bw->dqkv + 2 * H, 3 * H, datt, bw->dh, H,
                                              la.att, la.drop_att, keep_a, a->att_off, la.qkv, la.qkv + H,
                                              la.qkv + 2 * H, 3 * H, seq_off, n_seq, nh, d, bw->scratch);
        else
            ss_attention_backward_par(pool, bw->dqkv, bw->dqkv + H, bw->dqkv + 2 * H, 3 * H, datt, bw->dh, H, la.att,
                                      a->att_off, la.qkv, la.qkv + H, la.qkv + 2 * H, 3 * H, seq_off, n_seq, nh, d,
                                      bw->scratch);
        if (datt) {
            relb_job rj = {g.rel_bias, datt, a->att_off, seq_off, n_seq, nh, c->rel_buckets};
            ss_pool_for(pool, (size_t)nh, relb_task, &rj);
        }
        /* Q, K, V projections into the layer input's gradient */
        ss_linear_backward_par(pool, dnext, gl.qkv_w, gl.qkv_b, bw->dqkv, la.in, ly.qkv_w, T, H, 3 * H);
        float *t = dy;
        dy = dnext, dnext = t;
    }

    /* embeddings: LN0, then scatter into word / position / type-0 rows */
    if (a->dropped) ss_dropout_backward_inplace(dy, a->drop_emb, TH, keep_h);
    memset(bw->dln, 0, sizeof(float) * TH);
    ss_layernorm_backward_par(pool, bw->dln, g.emb_ln_g, g.emb_ln_b, dy, a->emb, tf->w.emb_ln_g, a->emb_mean,
                              a->emb_rstd, T, H);
    ss_embedding_backward_par(pool, g.word_emb, bw->dln, ids, T, H);
    posb_job pj = {c, g.pos_emb, g.type_emb, bw->dln, ids, seq_off, n_seq};
    ss_pool_for(pool, (size_t)(H + 15) / 16, posb_task, &pj);
    return SS_OK;
}

int ss_tf_param_groups(const ss_transformer *tf, ss_param_range *ranges) {
    int n = 0;
    for (int i = 0; i < SS_TF_N_TENSORS; i++) {
        const ss_tf_view *v = &tf->views[i];
        if (!v->numel) continue;
        /* no_decay: biases and LayerNorm weights (names ending in _b, or ln*_g / emb_ln_g), and MPNet's
         * relative_attention_bias.weight, whose checkpoint name contains "bias" (fit matches substrings) */
        size_t len = strlen(v->name);
        int no_decay = (len > 2 && !strcmp(v->name + len - 2, "_b")) || strstr(v->name, "ln") != NULL ||
                       i == SS_TF_REL_BIAS;
        ranges[n++] = (ss_param_range){v->offset, v->numel, !no_decay};
    }
    return n;
}
