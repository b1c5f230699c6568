/* dense.c — load and run sentence-transformers' Dense modules. */
#include "model/dense.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "model/safetensors.h"

static ss_status load_one(ss_dense *d, const ss_dense_config *c, const char *dir, ss_error *err) {
    d->cfg = *c;
    char mdir[4096], path[4096];
    ss_status s = ss_module_dir(mdir, sizeof mdir, dir, c->path, "modules.json", err);
    if (s != SS_OK) return s;
    ss_path_join(path, sizeof path, mdir, "model.safetensors");
    if (!ss_path_exists(path)) {
        char bin[4096];
        ss_path_join(bin, sizeof bin, mdir, "pytorch_model.bin");
        if (ss_path_exists(bin))
            return ss_fail(err, SS_ERR_UNSUPPORTED,
                           "%s: the Dense module's weights are only in pytorch_model.bin (a pickle); semsearch reads "
                           "model.safetensors — convert it (safetensors.torch.save_file of the state dict, keys "
                           "linear.weight / linear.bias)",
                           mdir);
        return ss_fail(err, SS_ERR_NOT_FOUND, "%s: no model.safetensors for the Dense module", path);
    }
    ss_safetensors st;
    if ((s = ss_st_open(&st, path, err)) != SS_OK) return s;
    int64_t ws[2] = {c->out_features, c->in_features}, bs[1] = {c->out_features};
    if (!(d->w = ss_st_read_f32(&st, "linear.weight", 2, ws, err))) {
        s = err ? err->code : SS_ERR_FORMAT;
    } else if (c->bias && !(d->b = ss_st_read_f32(&st, "linear.bias", 1, bs, err))) {
        s = err ? err->code : SS_ERR_FORMAT;
    } else if (!c->bias && ss_st_find(&st, "linear.bias")) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: tensor 'linear.bias' present but %s/config.json says \"bias\": false",
                    path, mdir);
    } else {
        /* Non-finite weights would only surface as NaN vectors later. */
        size_t n = (size_t)c->out_features * c->in_features;
        for (size_t i = 0; i < n && s == SS_OK; i++)
            if (!isfinite(d->w[i])) s = ss_fail(err, SS_ERR_FORMAT, "%s: 'linear.weight' has a non-finite value at %zu", path, i);
        for (int i = 0; d->b && i < c->out_features && s == SS_OK; i++)
            if (!isfinite(d->b[i])) s = ss_fail(err, SS_ERR_FORMAT, "%s: 'linear.bias' has a non-finite value at %d", path, i);
    }
    ss_st_close(&st);
    return s;
}

ss_status ss_dense_load(ss_dense_stack *d, const ss_st_config *st, const char *dir, ss_error *err) {
    memset(d, 0, sizeof *d);
    for (int i = 0; i < st->n_dense; i++) {
        const ss_dense_config *c = &st->dense[i];
        ss_status s = load_one(&d->layers[i], c, dir, err);
        d->n = i + 1;
        if (s != SS_OK) {
            ss_dense_free(d);
            return s;
        }
        if (c->in_features > d->max_dim) d->max_dim = c->in_features;
        if (c->out_features > d->max_dim) d->max_dim = c->out_features;
    }
    return SS_OK;
}

void ss_dense_free(ss_dense_stack *d) {
    for (int i = 0; i < d->n; i++) {
        free(d->layers[i].w);
        free(d->layers[i].b);
    }
    memset(d, 0, sizeof *d);
}

/* y = act(W x + b) in double accumulation: the vectors are small (one per
 * sentence), and the sum order is fixed so the result is reproducible. */
static void dense_one(const ss_dense *d, const float *x, float *y) {
    const int in = d->cfg.in_features, out = d->cfg.out_features;
    for (int o = 0; o < out; o++) {
        const float *w = d->w + (size_t)o * in;
        double acc = d->b ? d->b[o] : 0.0;
        for (int i = 0; i < in; i++) acc += (double)w[i] * x[i];
        float v = (float)acc;
        switch (d->cfg.act) {
        case SS_DENSE_IDENTITY: break;
        case SS_DENSE_TANH: v = tanhf(v); break;
        case SS_DENSE_RELU: v = v > 0 ? v : 0; break;
        case SS_DENSE_SIGMOID: v = 1.0f / (1.0f + expf(-v)); break;
        case SS_DENSE_GELU: v = 0.5f * v * (1.0f + erff(v * (float)M_SQRT1_2)); break;
        }
        y[o] = v;
    }
}

void ss_dense_forward(const ss_dense_stack *d, float *x, float *tmp) {
    for (int i = 0; i < d->n; i++) {
        dense_one(&d->layers[i], x, tmp);
        memcpy(x, tmp, (size_t)d->layers[i].cfg.out_features * sizeof *x);
    }
}
