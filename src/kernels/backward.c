/* backward.c — training kernels (see backward.h). Formulas derived from the
 * forwards; each is checked against PyTorch autograd in
 * tests/train/test_backward_kernels.c. */
#include "kernels/backward.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "core/threadpool.h"
#include "kernels/ops.h"

/* Fixed work blocks of the *_par kernels (shapes only, never thread counts). */
enum {
    PAR_COLS = 16,         /* columns of a parameter gradient summed over rows (one cache line) */
    PAR_ROWS = 32,         /* rows of a row-wise op */
    PAR_ELEMS = 16384,     /* elements of an elementwise op */
    PAR_GEMM_ROWS = 128,   /* rows of dinp per sgemm (each packs W once) */
    PAR_GEMM_FEATS = 96    /* output features of dW per sgemm (each packs inp once) */
};

static size_t blocks(size_t n, size_t b) { return (n + b - 1) / b; }

/* ---- LayerNorm ---------------------------------------------------------- */

void ss_ref_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          int N, int C, float eps) {
    for (int r = 0; r < N; r++) {
        const float *x = inp + (size_t)r * C;
        float *o = out + (size_t)r * C;
        double s = 0, sq = 0;
        for (int i = 0; i < C; i++) s += x[i];
        double m = s / C;
        for (int i = 0; i < C; i++) sq += (x[i] - m) * (x[i] - m);
        float rs = (float)(1.0 / sqrt(sq / C + eps));
        for (int i = 0; i < C; i++) o[i] = (float)(x[i] - m) * rs * w[i] + b[i];
        mean[r] = (float)m;
        rstd[r] = rs;
    }
}

void ss_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                           const float *mean, const float *rstd, int N, int C) {
    for (int r = 0; r < N; r++) {
        const float *x = inp + (size_t)r * C, *dy = dout + (size_t)r * C;
        float m = mean[r], rs = rstd[r];
        /* two reductions: mean(dnorm) and mean(dnorm · norm), accumulated in double */
        double sum_dn = 0, sum_dn_n = 0;
        for (int i = 0; i < C; i++) {
            float n = (x[i] - m) * rs, dn = w[i] * dy[i];
            sum_dn += dn;
            sum_dn_n += (double)dn * n;
        }
        float mdn = (float)(sum_dn / C), mdnn = (float)(sum_dn_n / C);
        for (int i = 0; i < C; i++) {
            float n = (x[i] - m) * rs;
            if (db) db[i] += dy[i];
            if (dw) dw[i] += n * dy[i];
            if (dinp) dinp[(size_t)r * C + i] += rs * (w[i] * dy[i] - mdn - n * mdnn);
        }
    }
}

typedef struct ln_bjob {
    float *dinp, *dw, *db;
    const float *dout, *inp, *w, *mean, *rstd;
    int N, C;
    size_t row_tasks;
} ln_bjob;

static void ln_btask(void *arg, size_t i, int thread) {
    (void)thread;
    const ln_bjob *j = arg;
    const int C = j->C;
    if (i < j->row_tasks) { /* dinp for rows [r0, r1): the serial kernel on them */
        int r0 = (int)i * PAR_ROWS, r1 = r0 + PAR_ROWS < j->N ? r0 + PAR_ROWS : j->N;
        size_t o = (size_t)r0 * C;
        ss_layernorm_backward(j->dinp + o, NULL, NULL, j->dout + o, j->inp + o, j->w, j->mean + r0, j->rstd + r0,
                              r1 - r0, C);
        return;
    }
    /* dw, db for columns [c0, c1), rows in order: the serial kernel's sums */
    int c0 = (int)(i - j->row_tasks) * PAR_COLS, c1 = c0 + PAR_COLS < C ? c0 + PAR_COLS : C;
    for (int r = 0; r < j->N; r++) {
        const float *x = j->inp + (size_t)r * C, *dy = j->dout + (size_t)r * C;
        float m = j->mean[r], rs = j->rstd[r];
        for (int c = c0; c < c1; c++) {
            float n = (x[c] - m) * rs;
            if (j->db) j->db[c] += dy[c];
            if (j->dw) j->dw[c] += n * dy[c];
        }
    }
}

void ss_layernorm_backward_par(ss_pool *pool, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                               const float *w, const float *mean, const float *rstd, int N, int C) {
    if (N <= 0) return;
    ln_bjob j = {dinp, dw, db, dout, inp, w, mean, rstd, N, C, dinp ? blocks((size_t)N, PAR_ROWS) : 0};
    size_t col_tasks = dw || db ? blocks((size_t)C, PAR_COLS) : 0;
    ss_pool_for(pool, j.row_tasks + col_tasks, ln_btask, &j);
}

/* ---- GELU ---------------------------------------------------------------- */

void ss_gelu_backward(float *dinp, const float *x, const float *dout, size_t n) {
    const double inv_sqrt2 = 0.70710678118654752440, inv_sqrt2pi = 0.39894228040143267794;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double cdf = 0.5 * (1.0 + erf(v * inv_sqrt2)), pdf = inv_sqrt2pi * exp(-0.5 * v * v);
        dinp[i] += (float)((cdf + v * pdf) * dout[i]);
    }
}

/* In float, in the order of PyTorch's GeluBackward (tanh): for large |x| the
 * derivative is a difference of nearly equal numbers, and matching the
 * reference there means rounding as it does. */
void ss_gelu_tanh_backward(float *dinp, const float *x, const float *dout, size_t n) {
    const float beta = 0.79788456080286535588f, kappa = 0.044715f; /* sqrt(2/pi) */
    for (size_t i = 0; i < n; i++) {
        float v = x[i], v2 = v * v, v3 = v2 * v;
        float t = tanhf(beta * (v + kappa * v3));
        float left = 0.5f * v, right = 1.0f + t;
        float dleft = 0.5f * right, dtanh = 1.0f - t * t, dinner = beta * (1.0f + 3.0f * kappa * v2);
        dinp[i] += dout[i] * (dleft + left * dtanh * dinner);
    }
}

typedef struct gelu_bjob {
    float *dinp;
    const float *x, *dout;
    size_t n;
    int tanh_form;
} gelu_bjob;

static void gelu_btask(void *arg, size_t i, int thread) {
    (void)thread;
    const gelu_bjob *j = arg;
    size_t o = i * PAR_ELEMS, n = o + PAR_ELEMS < j->n ? PAR_ELEMS : j->n - o;
    if (j->tanh_form) ss_gelu_tanh_backward(j->dinp + o, j->x + o, j->dout + o, n);
    else ss_gelu_backward(j->dinp + o, j->x + o, j->dout + o, n);
}

void ss_gelu_backward_par(ss_pool *pool, int tanh_form, float *dinp, const float *x, const float *dout, size_t n) {
    gelu_bjob j = {dinp, x, dout, n, tanh_form};
    ss_pool_for(pool, blocks(n, PAR_ELEMS), gelu_btask, &j);
}

/* ---- softmax ------------------------------------------------------------ */

void ss_softmax_masked_forward(float *p, const float *s, const uint8_t *mask, int n, float scale) {
    float mx = -INFINITY;
    for (int j = 0; j < n; j++)
        if (!mask || mask[j]) mx = fmaxf(mx, scale * s[j]);
    double sum = 0;
    for (int j = 0; j < n; j++) {
        p[j] = (!mask || mask[j]) ? expf(scale * s[j] - mx) : 0.0f;
        sum += p[j];
    }
    float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
    for (int j = 0; j < n; j++) p[j] *= inv;
}

void ss_softmax_backward(float *ds, const float *p, const float *dp, int n, float scale) {
    double dot = 0;
    for (int j = 0; j < n; j++) dot += (double)p[j] * dp[j];
    for (int j = 0; j < n; j++) ds[j] += scale * p[j] * (dp[j] - (float)dot);
}

/* ---- attention ------------------------------------------------------------ */

size_t ss_attention_att_size(const int *seq_off, int n_seq, int n_heads) {
    size_t n = 0;
    for (int b = 0; b < n_seq; b++) {
        size_t L = (size_t)(seq_off[b + 1] - seq_off[b]);
        n += (size_t)n_heads * L * L;
    }
    return n;
}

void ss_ref_attention_forward(float *ctx, int ld_ctx, float *att, const float *q, const float *k, const float *v, int ld,
                          const float *bias, const int *seq_off, int n_seq, int n_heads, int d) {
    float scale = 1.0f / sqrtf((float)d);
    size_t aoff = 0;
    for (int b = 0; b < n_seq; b++) {
        int t0 = seq_off[b], L = seq_off[b + 1] - seq_off[b];
        for (int h = 0; h < n_heads; h++, aoff += (size_t)L * L) {
            for (int i = 0; i < L; i++) {
                float *p = att + aoff + (size_t)i * L;
                const float *qi = q + (size_t)(t0 + i) * ld + h * d;
                float mx = -INFINITY;
                for (int j = 0; j < L; j++) {
                    const float *kj = k + (size_t)(t0 + j) * ld + h * d;
                    float s = 0;
                    for (int c = 0; c < d; c++) s += qi[c] * kj[c];
                    s *= scale;
                    if (bias) s += bias[aoff + (size_t)i * L + j];
                    p[j] = s;
                    mx = fmaxf(mx, s);
                }
                double sum = 0;
                for (int j = 0; j < L; j++) {
                    p[j] = expf(p[j] - mx);
                    sum += p[j];
                }
                float inv = (float)(1.0 / sum);
                for (int j = 0; j < L; j++) p[j] *= inv;
                float *o = ctx + (size_t)(t0 + i) * ld_ctx + h * d;
                for (int c = 0; c < d; c++) o[c] = 0;
                for (int j = 0; j < L; j++) {
                    const float *vj = v + (size_t)(t0 + j) * ld + h * d;
                    for (int c = 0; c < d; c++) o[c] += p[j] * vj[c];
                }
            }
        }
    }
}

/* One (sequence, head): rows t0 .. t0+L-1, columns h*d .. h*d+d-1 of dq, dk,
 * dv; att / drop / datt point at this head's L x L block. drop (NULL: no
 * dropout) is the forward's mask on the probabilities, kept ones scaled by
 * keep: D = P ⊙ mask · keep replaces P in dV and dP = dD ⊙ mask · keep; the
 * softmax backward uses the undropped P. Without a mask the arithmetic is
 * exactly the plain kernel's. */
void ss__attention_backward_head(float *dq, float *dk, float *dv, int ld_d, float *datt, const float *dctx,
                                 int ld_ctx, const float *att, const uint8_t *drop, float keep, const float *q,
                                 const float *k, const float *v, int ld, int t0, int L, int h, int d,
                                 float *scratch) {
    float scale = 1.0f / sqrtf((float)d);
    for (int i = 0; i < L; i++) {
        const float *p = att + (size_t)i * L;
        const uint8_t *m = drop ? drop + (size_t)i * L : NULL;
        const float *dci = dctx + (size_t)(t0 + i) * ld_ctx + h * d;
        /* dp[j] = dctx_i · v_j (· m_ij keep) ; dv_j += p_ij (m_ij keep) dctx_i */
        float *dp = scratch;
        for (int j = 0; j < L; j++) {
            const float *vj = v + (size_t)(t0 + j) * ld + h * d;
            float *dvj = dv + (size_t)(t0 + j) * ld_d + h * d;
            const float pd = !m ? p[j] : m[j] ? p[j] * keep : 0.0f;
            float s = 0;
            for (int c = 0; c < d; c++) {
                s += dci[c] * vj[c];
                dvj[c] += pd * dci[c];
            }
            dp[j] = !m ? s : m[j] ? s * keep : 0.0f;
        }
        /* softmax backward in place: dp becomes dscores (biased, scaled) */
        double dot = 0;
        for (int j = 0; j < L; j++) dot += (double)p[j] * dp[j];
        for (int j = 0; j < L; j++) dp[j] = p[j] * (dp[j] - (float)dot);
        if (datt)
            for (int j = 0; j < L; j++) datt[(size_t)i * L + j] += dp[j];
        const float *qi = q + (size_t)(t0 + i) * ld + h * d;
        float *dqi = dq + (size_t)(t0 + i) * ld_d + h * d;
        for (int j = 0; j < L; j++) {
            float g = dp[j] * scale;
            const float *kj = k + (size_t)(t0 + j) * ld + h * d;
            float *dkj = dk + (size_t)(t0 + j) * ld_d + h * d;
            for (int c = 0; c < d; c++) {
                dqi[c] += g * kj[c];
                dkj[c] += g * qi[c];
            }
        }
    }
}

void ss_attention_backward(float *dq, float *dk, float *dv, int ld_d, float *datt_scores, const float *dctx,
                           int ld_ctx, const float *att, const float *q, const float *k, const float *v, int ld,
                           const int *seq_off, int n_seq, int n_heads, int d, float *scratch) {
    size_t aoff = 0;
    for (int b = 0; b < n_seq; b++) {
        int t0 = seq_off[b], L = seq_off[b + 1] - seq_off[b];
        for (int h = 0; h < n_heads; h++, aoff += (size_t)L * L)
            ss__attention_backward_head(dq, dk, dv, ld_d, datt_scores ? datt_scores + aoff : NULL, dctx, ld_ctx,
                                        att + aoff, NULL, 1.0f, q, k, v, ld, t0, L, h, d, scratch);
    }
}

typedef struct attn_bjob {
    float *dq, *dk, *dv, *datt, *scratch;
    const float *dctx, *att, *q, *k, *v;
    const uint8_t *drop; /* NULL: no dropout */
    float keep;
    const size_t *att_off;
    const int *seq_off;
    int ld_d, ld_ctx, ld, n_heads, d, Lmax;
} attn_bjob;

static void attn_btask(void *arg, size_t i, int thread) {
    const attn_bjob *j = arg;
    int b = (int)i / j->n_heads, h = (int)i % j->n_heads;
    int t0 = j->seq_off[b], L = j->seq_off[b + 1] - t0;
    size_t aoff = j->att_off[b] + (size_t)h * L * L;
    ss__attention_backward_head(j->dq, j->dk, j->dv, j->ld_d, j->datt ? j->datt + aoff : NULL, j->dctx, j->ld_ctx,
                                j->att + aoff, j->drop ? j->drop + aoff : NULL, j->keep, j->q, j->k, j->v, j->ld,
                                t0, L, h, j->d, j->scratch + (size_t)thread * j->Lmax);
}

void ss__attention_backward_masked_par(ss_pool *pool, float *dq, float *dk, float *dv, int ld_d, float *datt_scores,
                                      const float *dctx, int ld_ctx, const float *att, const uint8_t *drop,
                                      float keep, const size_t *att_off, const float *q, const float *k,
                                      const float *v, int ld, const int *seq_off, int n_seq, int n_heads, int d,
                                      float *scratch) {
    int Lmax = 0;
    for (int b = 0; b < n_seq; b++)
        if (seq_off[b + 1] - seq_off[b] > Lmax) Lmax = seq_off[b + 1] - seq_off[b];
    attn_bjob j = {dq,   dk,      dv,      datt_scores, scratch, dctx, att,    q,      k, v, drop,
                   keep, att_off, seq_off, ld_d,        ld_ctx,  ld,   n_heads, d, Lmax};
    ss_pool_for(pool, (size_t)n_seq * n_heads, attn_btask, &j);
}

void ss_attention_backward_par(ss_pool *pool, float *dq, float *dk, float *dv, int ld_d, float *datt_scores,
                               const float *dctx, int ld_ctx, const float *att, const size_t *att_off, const float *q,
                               const float *k, const float *v, int ld, const int *seq_off, int n_seq, int n_heads,
                               int d, float *scratch) {
    ss__attention_backward_masked_par(pool, dq, dk, dv, ld_d, datt_scores, dctx, ld_ctx, att, NULL, 1.0f, att_off, q,
                                      k, v, ld, seq_off, n_seq, n_heads, d, scratch);
}

/* ---- Linear ----------------------------------------------------------------- */

void ss_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp, const float *W,
                        int m, int k, int n) {
    if (m <= 0) return;
    if (dinp) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, n, 1.0f, dout, n, W, k, 1.0f, dinp, k);
    if (dW) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m, 1.0f, dout, n, inp, k, 1.0f, dW, k);
    if (db)
        for (int r = 0; r < m; r++)
            for (int j = 0; j < n; j++) db[j] += dout[(size_t)r * n + j];
}

typedef struct lin_bjob {
    float *dinp, *dW, *db;
    const float *dout, *inp, *W;
    int m, k, n;
    size_t row_tasks;
} lin_bjob;

static void lin_btask(void *arg, size_t i, int thread) {
    (void)thread;
    const lin_bjob *j = arg;
    if (i < j->row_tasks) { /* dinp rows [r0, r1) += dout[r0:r1] · W */
        int r0 = (int)i * PAR_GEMM_ROWS, r = j->m - r0 < PAR_GEMM_ROWS ? j->m - r0 : PAR_GEMM_ROWS;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, j->k, j->n, 1.0f, j->dout + (size_t)r0 * j->n,
                    j->n, j->W, j->k, 1.0f, j->dinp + (size_t)r0 * j->k, j->k);
        return;
    }
    /* output features [f0, f0 + nf): dW rows += dout[:, f]ᵀ · inp, db[f] += Σ_rows dout[:, f] */
    int f0 = (int)(i - j->row_tasks) * PAR_GEMM_FEATS, nf = j->n - f0 < PAR_GEMM_FEATS ? j->n - f0 : PAR_GEMM_FEATS;
    if (j->dW)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nf, j->k, j->m, 1.0f, j->dout + f0, j->n, j->inp, j->k,
                    1.0f, j->dW + (size_t)f0 * j->k, j->k);
    if (j->db)
        for (int r = 0; r < j->m; r++)
            for (int f = f0; f < f0 + nf; f++) j->db[f] += j->dout[(size_t)r * j->n + f];
}

void ss_linear_backward_par(ss_pool *pool, float *dinp, float *dW, float *db, const float *dout, const float *inp,
                            const float *W, int m, int k, int n) {
    if (m <= 0) return;
    if (ss_blas_threads() > 1) { /* OpenBLAS spreads each sgemm over its own threads */
        ss_linear_backward(dinp, dW, db, dout, inp, W, m, k, n);
        return;
    }
    lin_bjob j = {dinp, dW, db, dout, inp, W, m, k, n, dinp ? blocks((size_t)m, PAR_GEMM_ROWS) : 0};
    size_t feat_tasks = dW || db ? blocks((size_t)n, PAR_GEMM_FEATS) : 0;
    ss_pool_for(pool, j.row_tasks + feat_tasks, lin_btask, &j);
}

/* ---- embedding ---------------------------------------------------------------- */

void ss_embedding_backward(float *dtable, const float *dout, const int32_t *ids, int n_tokens, int H) {
    for (int t = 0; t < n_tokens; t++) {
        float *row = dtable + (size_t)ids[t] * H;
        const float *g = dout + (size_t)t * H;
        for (int c = 0; c < H; c++) row[c] += g[c];
    }
}

typedef struct emb_bjob {
    float *dtable;
    const float *dout;
    const int32_t *ids;
    int n_tokens, H;
} emb_bjob;

static void emb_btask(void *arg, size_t i, int thread) {
    (void)thread;
    const emb_bjob *j = arg;
    int c0 = (int)i * PAR_COLS, c1 = c0 + PAR_COLS < j->H ? c0 + PAR_COLS : j->H;
    for (int t = 0; t < j->n_tokens; t++) {
        float *row = j->dtable + (size_t)j->ids[t] * j->H;
        const float *g = j->dout + (size_t)t * j->H;
        for (int c = c0; c < c1; c++) row[c] += g[c];
    }
}

void ss_embedding_backward_par(ss_pool *pool, float *dtable, const float *dout, const int32_t *ids, int n_tokens,
                               int H) {
    emb_bjob j = {dtable, dout, ids, n_tokens, H};
    ss_pool_for(pool, blocks((size_t)H, PAR_COLS), emb_btask, &j);
}

/* ---- dropout -------------------------------------------------------------------- */

void ss_dropout_forward(float *out, uint8_t *mask, const float *inp, size_t n, float p, ss_rng *rng) {
    if (p <= 0.0f) {
        memset(mask, 1, n);
        if (out != inp) memmove(out, inp, n * sizeof(float));
        return;
    }
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = ss_rng_uniform(rng) >= p;
        out[i] = mask[i] ? inp[i] * keep : 0.0f;
    }
}

void ss_dropout_backward(float *dinp, const float *dout, const uint8_t *mask, size_t n, float p) {
    float keep = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    for (size_t i = 0; i < n; i++)
        if (mask[i]) dinp[i] += dout[i] * keep;
}

/* ---- pooling ---------------------------------------------------------------------- */

void ss_pool_backward(const ss_pool_modes *p, float *dh, const float *dout, const float *h, int L, int H, int skip) {
    if (skip < 0) skip = 0;
    if (skip > L) skip = L;
    int n = L - skip;
    if (p->cls) {
        for (int j = 0; j < H; j++) dh[j] += dout[j];
        dout += H;
    }
    if (p->max) {
        /* the gradient goes to the first token holding the maximum (torch.max's index) */
        for (int j = 0; j < H && n > 0; j++) {
            int best = skip;
            for (int t = skip + 1; t < L; t++)
                if (h[(size_t)t * H + j] > h[(size_t)best * H + j]) best = t;
            dh[(size_t)best * H + j] += dout[j];
        }
        dout += H;
    }
    if (p->mean || p->mean_sqrt_len) {
        float denom = n > 0 ? (float)n : 1e-9f;
        for (int j = 0; j < H; j++) {
            float g = 0;
            if (p->mean) g += dout[j] / denom;
            if (p->mean_sqrt_len) g += dout[j + (p->mean ? H : 0)] / sqrtf(denom);
            for (int t = skip; t < L; t++) dh[(size_t)t * H + j] += g;
        }
        dout += H * (p->mean + p->mean_sqrt_len);
    }
    if (p->weightedmean) {
        float wsum = 0;
        for (int t = skip; t < L; t++) wsum += (float)(t + 1);
        if (wsum < 1e-9f) wsum = 1e-9f;
        for (int t = skip; t < L; t++)
            for (int j = 0; j < H; j++) dh[(size_t)t * H + j] += (float)(t + 1) * dout[j] / wsum;
        dout += H;
    }
    if (p->lasttoken && n > 0)
        for (int j = 0; j < H; j++) dh[(size_t)(L - 1) * H + j] += dout[j];
}

/* ---- Normalize ---------------------------------------------------------------------- */

void ss_normalize_backward(float *dx, const float *dy, const float *x, int N, int D) {
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * D, *g = dy + (size_t)r * D;
        double sq = 0;
        for (int i = 0; i < D; i++) sq += (double)xr[i] * xr[i];
        double nrm = sqrt(sq);
        if (nrm <= 1e-12) { /* the clamp is active: y = x / 1e-12, a linear map */
            for (int i = 0; i < D; i++) dx[(size_t)r * D + i] += (float)(g[i] / 1e-12);
            continue;
        }
        double ydy = 0;
        for (int i = 0; i < D; i++) ydy += (xr[i] / nrm) * g[i];
        for (int i = 0; i < D; i++) dx[(size_t)r * D + i] += (float)((g[i] - xr[i] / nrm * ydy) / nrm);
    }
}
