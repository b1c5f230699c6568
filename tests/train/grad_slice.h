/* grad_slice.h — shared by the model-gradient tests: the slice of semsearch's
 * flat gradient buffer that holds a Hugging Face tensor, and the per-tensor
 * error measure (max |got - want| over max |want|). */
#ifndef SS_TESTS_TRAIN_GRAD_SLICE_H
#define SS_TESTS_TRAIN_GRAD_SLICE_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/transformer.h"

/* The slice of the flat gradient buffer that holds HF tensor `name`; NULL if
 * the name is not one of ours. */
static float *grad_slice(const ss_transformer *tf, float *grads, const char *name, size_t *numel) {
    const ss_tf_config *c = &tf->cfg;
    const int H = c->hidden, I = c->intermediate;
    ss_tf_params g;
    ss_tf_point_params(c, grads, &g);
    int l;
    char rest[128];
    *numel = 0;
    if (!strcmp(name, "embeddings.position_embeddings.weight")) return *numel = (size_t)c->max_position * H, g.pos_emb;
    if (!strcmp(name, "embeddings.token_type_embeddings.weight")) return *numel = (size_t)c->type_vocab * H, g.type_emb;
    if (!strcmp(name, "embeddings.LayerNorm.weight")) return *numel = H, g.emb_ln_g;
    if (!strcmp(name, "embeddings.LayerNorm.bias")) return *numel = H, g.emb_ln_b;
    if (!strcmp(name, "encoder.relative_attention_bias.weight")) return *numel = (size_t)c->rel_buckets * c->heads, g.rel_bias;
    if (sscanf(name, "encoder.layer.%d.%127s", &l, rest) != 2 || l < 0 || l >= c->layers) return NULL;
    ss_tf_layer ly = ss_tf_layer_of(c, &g, l);
    static const char *const qkv_names[2][3] = {{"attention.self.query", "attention.self.key", "attention.self.value"},
                                                {"attention.attn.q", "attention.attn.k", "attention.attn.v"}};
    for (int a = 0; a < 2; a++)
        for (int k = 0; k < 3; k++) {
            size_t n = strlen(qkv_names[a][k]);
            if (!strncmp(rest, qkv_names[a][k], n) && rest[n] == '.') {
                if (!strcmp(rest + n, ".weight")) return *numel = (size_t)H * H, ly.qkv_w + (size_t)k * H * H;
                if (!strcmp(rest + n, ".bias")) return *numel = H, ly.qkv_b + (size_t)k * H;
            }
        }
    struct {
        const char *name;
        float *p;
        size_t n;
    } map[] = {
        {"attention.output.dense.weight", ly.attn_out_w, (size_t)H * H}, {"attention.attn.o.weight", ly.attn_out_w, (size_t)H * H},
        {"attention.output.dense.bias", ly.attn_out_b, H},               {"attention.attn.o.bias", ly.attn_out_b, H},
        {"attention.output.LayerNorm.weight", ly.ln1_g, H},              {"attention.LayerNorm.weight", ly.ln1_g, H},
        {"attention.output.LayerNorm.bias", ly.ln1_b, H},                {"attention.LayerNorm.bias", ly.ln1_b, H},
        {"intermediate.dense.weight", ly.ffn_in_w, (size_t)I * H},       {"intermediate.dense.bias", ly.ffn_in_b, I},
        {"output.dense.weight", ly.ffn_out_w, (size_t)H * I},            {"output.dense.bias", ly.ffn_out_b, H},
        {"output.LayerNorm.weight", ly.ln2_g, H},                        {"output.LayerNorm.bias", ly.ln2_b, H},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(rest, map[i].name)) return *numel = map[i].n, map[i].p;
    return NULL;
}

/* max |got - want| / max |want| */
static double scale_err(const float *got, const float *want, size_t n, size_t *at) {
    double mx = 0, md = 0;
    *at = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(want[i]) > mx) mx = fabs(want[i]);
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= md)) md = isnan(d) ? INFINITY : d, *at = i;
    }
    return mx > 0 ? md / mx : md;
}

#endif
