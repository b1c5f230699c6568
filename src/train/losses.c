/* losses.c — see losses.h. Each loss is written as its sentence-transformers
 * forward followed by the hand-derived backward, in double precision (the
 * batch is small next to the model; double keeps the logsumexps and the
 * normalisations from adding error of their own).
 *
 * Shared building block: cosine similarity through F.normalize (norm clamped
 * at 1e-12): with a = u/|u|, d a/d u applied to g is (g - a (a·g)) / |u|. */
#include "train/losses.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef struct {
    int B, D;
    double *x;   /* [B, D] normalised rows */
    double *nrm; /* [B] clamped norms */
} unit_rows;

static int unit_rows_make(unit_rows *u, const float *e, int B, int D) {
    u->B = B, u->D = D;
    u->x = malloc(sizeof(double) * ((size_t)B * D + 1));
    u->nrm = malloc(sizeof(double) * ((size_t)B + 1));
    if (!u->x || !u->nrm) return -1;
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int k = 0; k < D; k++) s += (double)e[(size_t)i * D + k] * e[(size_t)i * D + k];
        double n = sqrt(s);
        if (n < 1e-12) n = 1e-12;
        u->nrm[i] = n;
        for (int k = 0; k < D; k++) u->x[(size_t)i * D + k] = e[(size_t)i * D + k] / n;
    }
    return 0;
}

static void unit_rows_free(unit_rows *u) {
    free(u->x);
    free(u->nrm);
}

/* dst[0..D) += d/du_i of (ga · a_i), ga being the gradient w.r.t. the unit row a_i */
static void unit_backward(float *dst, const unit_rows *u, int i, const double *ga) {
    const double *a = u->x + (size_t)i * u->D;
    double dot = 0;
    for (int k = 0; k < u->D; k++) dot += a[k] * ga[k];
    for (int k = 0; k < u->D; k++) dst[k] += (float)((ga[k] - a[k] * dot) / u->nrm[i]);
}

static double dotd(const double *a, const double *b, int n) {
    double s = 0;
    for (int k = 0; k < n; k++) s += a[k] * b[k];
    return s;
}

/* ---- MNRL family ------------------------------------------------------------
 * Anchors A [B], candidates C = all other columns stacked [M = (n_cols-1) B].
 * logits = scale · cos(A, C); CE with target i for row i, mean over B.
 * Rows are scored `chunk` at a time (CachedMNRL's bounded memory); the
 * result does not depend on the chunk. Symmetric adds CE over the columns
 * 0..B-1 of the transposed matrix (positives choosing their anchor). */
static ss_status mnrl(const ss_loss_config *c, const ss_loss_batch *b, double *loss, float *const *grad, int symmetric,
                      int chunk, ss_error *err) {
    int B = b->B, D = b->D, nc = b->n_cols, M = (nc - 1) * B;
    unit_rows A = {0}, C = {0};
    double *gA = NULL, *gC = NULL, *row = NULL;
    ss_status st = SS_OK;
    float *stack = malloc(sizeof(float) * ((size_t)M * D + 1));
    if (!stack) return ss_fail(err, SS_ERR_NOMEM, "loss: out of memory");
    for (int col = 1; col < nc; col++) memcpy(stack + (size_t)(col - 1) * B * D, b->emb[col], sizeof(float) * B * D);
    if (unit_rows_make(&A, b->emb[0], B, D) || unit_rows_make(&C, stack, M, D)) goto nomem;
    gA = calloc((size_t)B * D + 1, sizeof(double));
    gC = calloc((size_t)M * D + 1, sizeof(double));
    row = malloc(sizeof(double) * ((size_t)(M > B ? M : B) + 1));
    if (!gA || !gC || !row) goto nomem;
    double s = c->scale, total = 0;
    if (chunk <= 0) chunk = B;
    for (int r0 = 0; r0 < B; r0 += chunk) {
        int r1 = r0 + chunk < B ? r0 + chunk : B;
        for (int i = r0; i < r1; i++) {
            const double *ai = A.x + (size_t)i * D;
            double mx = -INFINITY;
            for (int j = 0; j < M; j++) {
                row[j] = s * dotd(ai, C.x + (size_t)j * D, D);
                if (row[j] > mx) mx = row[j];
            }
            double z = 0;
            for (int j = 0; j < M; j++) z += exp(row[j] - mx);
            double lse = mx + log(z), w = symmetric ? 0.5 : 1.0;
            total += w * (lse - row[i]) / B;
            /* d/dlogit_j = w (p_j - [j == i]) / B; d logit / d cos = s */
            for (int j = 0; j < M; j++) {
                double g = w * s * (exp(row[j] - lse) - (j == i)) / B;
                if (g == 0) continue;
                const double *cj = C.x + (size_t)j * D;
                for (int k = 0; k < D; k++) {
                    gA[(size_t)i * D + k] += g * cj[k];
                    gC[(size_t)j * D + k] += g * ai[k];
                }
            }
        }
    }
    if (symmetric) { /* row j of the transpose: positive j against all anchors */
        for (int j = 0; j < B; j++) {
            const double *cj = C.x + (size_t)j * D;
            double mx = -INFINITY;
            for (int i = 0; i < B; i++) {
                row[i] = s * dotd(A.x + (size_t)i * D, cj, D);
                if (row[i] > mx) mx = row[i];
            }
            double z = 0;
            for (int i = 0; i < B; i++) z += exp(row[i] - mx);
            double lse = mx + log(z);
            total += 0.5 * (lse - row[j]) / B;
            for (int i = 0; i < B; i++) {
                double g = 0.5 * s * (exp(row[i] - lse) - (i == j)) / B;
                const double *ai = A.x + (size_t)i * D;
                for (int k = 0; k < D; k++) {
                    gA[(size_t)i * D + k] += g * cj[k];
                    gC[(size_t)j * D + k] += g * ai[k];
                }
            }
        }
    }
    *loss = total;
    if (grad) {
        for (int i = 0; i < B; i++) unit_backward(grad[0] + (size_t)i * D, &A, i, gA + (size_t)i * D);
        for (int j = 0; j < M; j++) unit_backward(grad[1 + j / B] + (size_t)(j % B) * D, &C, j, gC + (size_t)j * D);
    }
    goto done;
nomem:
    st = ss_fail(err, SS_ERR_NOMEM, "loss: out of memory");
done:
    free(stack), free(gA), free(gC), free(row);
    unit_rows_free(&A), unit_rows_free(&C);
    return st;
}

/* ---- pair losses over cos(u_i, v_i) -----------------------------------------
 * Each computes the loss from the B cosines and dcos[i] = d loss / d cos_i;
 * pair_losses() does the normalisation and its backward around them. */
static double cosine_mse(const double *cs, const float *y, int B, double *dc) {
    double L = 0;
    for (int i = 0; i < B; i++) {
        double d = cs[i] - y[i];
        L += d * d / B;
        dc[i] = 2 * d / B;
    }
    return L;
}

static double contrastive(const double *cs, const float *y, int B, double m, int mean, double *dc) {
    double L = 0, f = mean ? 1.0 / B : 1.0;
    for (int i = 0; i < B; i++) {
        double d = 1 - cs[i], h = m - d > 0 ? m - d : 0;
        L += f * 0.5 * (y[i] * d * d + (1 - y[i]) * h * h);
        dc[i] = -f * (y[i] * d - (1 - y[i]) * h); /* d/dd, and dd/dcos = -1 */
    }
    return L;
}

/* OnlineContrastiveLoss: the thresholds come from the batch's own distances
 * (poss.max() / negs.min(), or the group's mean when it has <= 1 member). */
static double online_contrastive(const double *cs, const float *y, int B, double m, double *dc) {
    double pmax = -INFINITY, nmin = INFINITY, psum = 0, nsum = 0;
    int np = 0, nn = 0;
    for (int i = 0; i < B; i++) {
        double d = 1 - cs[i];
        if (y[i] == 1) np++, psum += d, pmax = d > pmax ? d : pmax;
        else if (y[i] == 0) nn++, nsum += d, nmin = d < nmin ? d : nmin;
    }
    double neg_thr = np > 1 ? pmax : (nn ? nsum / nn : NAN);
    double pos_thr = nn > 1 ? nmin : (np ? psum / np : NAN);
    double L = 0;
    for (int i = 0; i < B; i++) {
        double d = 1 - cs[i];
        dc[i] = 0;
        if (y[i] == 1 && d > pos_thr) {
            L += d * d;
            dc[i] = -2 * d;
        } else if (y[i] == 0 && d < neg_thr) {
            double h = m - d > 0 ? m - d : 0;
            L += h * h;
            dc[i] = 2 * h;
        }
    }
    return L;
}

/* CoSENT: logsumexp over {0} ∪ {s·(cos_i − cos_j) : y_i < y_j}. */
static double cosent(const double *cs, const float *y, int B, double s, double *dc) {
    double mx = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++)
            if (y[i] < y[j] && s * (cs[i] - cs[j]) > mx) mx = s * (cs[i] - cs[j]);
    double z = exp(-mx);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++)
            if (y[i] < y[j]) z += exp(s * (cs[i] - cs[j]) - mx);
    double lse = mx + log(z);
    for (int i = 0; i < B; i++) dc[i] = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++)
            if (y[i] < y[j]) {
                double w = exp(s * (cs[i] - cs[j]) - lse) * s;
                dc[i] += w;
                dc[j] -= w;
            }
    return lse;
}

static ss_status pair_losses(const ss_loss_config *c, const ss_loss_batch *b, double *loss, float *const *grad,
                             ss_error *err) {
    int B = b->B, D = b->D;
    unit_rows U = {0}, V = {0};
    double *cs = malloc(sizeof(double) * (B + 1)), *dc = malloc(sizeof(double) * (B + 1));
    double *g = malloc(sizeof(double) * (D + 1));
    ss_status st = SS_OK;
    if (!cs || !dc || !g || unit_rows_make(&U, b->emb[0], B, D) || unit_rows_make(&V, b->emb[1], B, D)) {
        st = ss_fail(err, SS_ERR_NOMEM, "loss: out of memory");
        goto done;
    }
    for (int i = 0; i < B; i++) cs[i] = dotd(U.x + (size_t)i * D, V.x + (size_t)i * D, D);
    switch (c->kind) {
    case SS_LOSS_COSINE: *loss = cosine_mse(cs, b->labels, B, dc); break;
    case SS_LOSS_CONTRASTIVE: *loss = contrastive(cs, b->labels, B, c->margin, c->size_average, dc); break;
    case SS_LOSS_ONLINE_CONTRASTIVE: *loss = online_contrastive(cs, b->labels, B, c->margin, dc); break;
    default: *loss = cosent(cs, b->labels, B, c->scale, dc); break;
    }
    if (grad)
        for (int i = 0; i < B; i++) {
            const double *u = U.x + (size_t)i * D, *v = V.x + (size_t)i * D;
            for (int k = 0; k < D; k++) g[k] = dc[i] * v[k];
            unit_backward(grad[0] + (size_t)i * D, &U, i, g);
            for (int k = 0; k < D; k++) g[k] = dc[i] * u[k];
            unit_backward(grad[1] + (size_t)i * D, &V, i, g);
        }
done:
    free(cs), free(dc), free(g);
    unit_rows_free(&U), unit_rows_free(&V);
    return st;
}

/* ---- TripletLoss: relu(|a-p+eps| - |a-n+eps| + margin), mean ------------------ */
static double triplet(const ss_loss_batch *b, double m, float *const *grad) {
    int B = b->B, D = b->D;
    const float *a = b->emb[0], *p = b->emb[1], *n = b->emb[2];
    double L = 0;
    for (int i = 0; i < B; i++) {
        double dp = 0, dn = 0;
        for (int k = 0; k < D; k++) {
            size_t o = (size_t)i * D + k;
            double x = (double)a[o] - p[o] + 1e-6, y = (double)a[o] - n[o] + 1e-6;
            dp += x * x, dn += y * y;
        }
        dp = sqrt(dp), dn = sqrt(dn);
        double h = dp - dn + m;
        if (h <= 0) continue;
        L += h / B;
        if (!grad) continue;
        for (int k = 0; k < D; k++) {
            size_t o = (size_t)i * D + k;
            double gx = ((double)a[o] - p[o] + 1e-6) / dp / B, gy = ((double)a[o] - n[o] + 1e-6) / dn / B;
            grad[0][o] += (float)(gx - gy);
            grad[1][o] -= (float)gx;
            grad[2][o] += (float)gy;
        }
    }
    return L;
}

/* ---- MSE ------------------------------------------------------------------------ */
static double mse(const float *x, const float *t, size_t n, float *gx, float *gt) {
    double L = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - t[i];
        L += d * d / n;
        if (gx) gx[i] += (float)(2 * d / n);
        if (gt) gt[i] -= (float)(2 * d / n);
    }
    return L;
}

/* ---- dispatch -------------------------------------------------------------------- */

static ss_status plain_loss(const ss_loss_config *c, const ss_loss_batch *b, double *loss, float *const *grad,
                            ss_error *err) {
    switch (c->kind) {
    case SS_LOSS_MNRL: return mnrl(c, b, loss, grad, 0, b->B, err);
    case SS_LOSS_CACHED_MNRL: return mnrl(c, b, loss, grad, 0, c->mini_batch, err);
    case SS_LOSS_MNSRL: return mnrl(c, b, loss, grad, 1, b->B, err);
    case SS_LOSS_COSINE:
    case SS_LOSS_CONTRASTIVE:
    case SS_LOSS_ONLINE_CONTRASTIVE:
    case SS_LOSS_COSENT: return pair_losses(c, b, loss, grad, err);
    case SS_LOSS_TRIPLET: *loss = triplet(b, c->margin, grad); return SS_OK;
    case SS_LOSS_MSE: *loss = mse(b->emb[0], b->labels, (size_t)b->B * b->D, grad ? grad[0] : NULL, NULL); return SS_OK;
    case SS_LOSS_MSE_PAIR:
        *loss = mse(b->emb[0], b->emb[1], (size_t)b->B * b->D, grad ? grad[0] : NULL, grad ? grad[1] : NULL);
        return SS_OK;
    }
    return ss_fail(err, SS_ERR_INVALID, "loss: unknown kind %d", (int)c->kind);
}

/* MatryoshkaLoss: for each dim, the inner loss on F.normalize(emb[:, :dim]). */
static ss_status matryoshka(const ss_loss_config *c, const ss_loss_batch *b, double *loss, float *const *grad,
                            ss_error *err) {
    int B = b->B, D = b->D, nc = b->n_cols;
    ss_loss_config inner = *c;
    inner.n_matryoshka = 0;
    float *buf = malloc(sizeof(float) * (2 * (size_t)nc * B * D + 1));
    double *gd = malloc(sizeof(double) * (D + 1));
    if (!buf || !gd) {
        free(buf), free(gd);
        return ss_fail(err, SS_ERR_NOMEM, "loss: out of memory");
    }
    ss_status st = SS_OK;
    *loss = 0;
    for (int m = 0; m < c->n_matryoshka && st == SS_OK; m++) {
        int dim = c->matryoshka_dims[m];
        double w = c->matryoshka_weights[m];
        ss_loss_batch sb = *b;
        sb.D = dim;
        unit_rows U[SS_LOSS_MAX_COLS] = {{0}};
        float *sg[SS_LOSS_MAX_COLS];
        for (int col = 0; col < nc; col++) {
            float *x = buf + (size_t)col * B * D, *g = buf + ((size_t)nc + col) * B * D;
            for (int i = 0; i < B; i++) memcpy(x + (size_t)i * dim, b->emb[col] + (size_t)i * D, sizeof(float) * dim);
            if (unit_rows_make(&U[col], x, B, dim)) st = ss_fail(err, SS_ERR_NOMEM, "loss: out of memory");
            for (size_t i = 0; st == SS_OK && i < (size_t)B * dim; i++) x[i] = (float)U[col].x[i];
            memset(g, 0, sizeof(float) * B * dim);
            sg[col] = g;
            sb.emb[col] = x;
        }
        double l = 0;
        if (st == SS_OK) st = plain_loss(&inner, &sb, &l, grad ? sg : NULL, err);
        *loss += w * l;
        for (int col = 0; grad && st == SS_OK && col < nc; col++) {
            for (int i = 0; i < B; i++) { /* through the prefix's normalisation into row i's first dim entries */
                for (int k = 0; k < dim; k++) gd[k] = w * sg[col][(size_t)i * dim + k];
                unit_backward(grad[col] + (size_t)i * D, &U[col], i, gd);
            }
        }
        for (int col = 0; col < nc; col++) unit_rows_free(&U[col]);
    }
    free(buf), free(gd);
    return st;
}

ss_status ss_loss_compute(const ss_loss_config *cfg, const ss_loss_batch *b, double *loss, float *const *grad,
                          ss_error *err) {
    if (b->n_cols < ss_loss_min_cols(cfg->kind) || b->n_cols > SS_LOSS_MAX_COLS)
        return ss_fail(err, SS_ERR_INVALID, "loss: %d columns given, the loss needs at least %d (at most %d)",
                       b->n_cols, ss_loss_min_cols(cfg->kind), SS_LOSS_MAX_COLS);
    if ((cfg->kind == SS_LOSS_COSINE || cfg->kind == SS_LOSS_CONTRASTIVE || cfg->kind == SS_LOSS_ONLINE_CONTRASTIVE ||
         cfg->kind == SS_LOSS_COSENT) && b->n_cols != 2)
        return ss_fail(err, SS_ERR_INVALID, "loss: pair losses take exactly 2 columns, got %d", b->n_cols);
    if (ss_loss_label_kind(cfg->kind) && !b->labels)
        return ss_fail(err, SS_ERR_INVALID, "loss: this loss needs labels");
    if (b->B <= 0 || b->D <= 0) return ss_fail(err, SS_ERR_INVALID, "loss: empty batch (B=%d, D=%d)", b->B, b->D);
    if (grad)
        for (int c = 0; c < b->n_cols; c++) memset(grad[c], 0, sizeof(float) * b->B * b->D);
    if (cfg->n_matryoshka > 0) {
        if (cfg->kind == SS_LOSS_MSE || cfg->kind == SS_LOSS_MSE_PAIR || cfg->kind == SS_LOSS_TRIPLET)
            return ss_fail(err, SS_ERR_UNSUPPORTED, "loss: MatryoshkaLoss is supported around the cosine losses only");
        if (cfg->n_matryoshka > SS_LOSS_MAX_MATRYOSHKA)
            return ss_fail(err, SS_ERR_INVALID, "loss: at most %d matryoshka dims", SS_LOSS_MAX_MATRYOSHKA);
        for (int m = 0; m < cfg->n_matryoshka; m++)
            if (cfg->matryoshka_dims[m] <= 0 || cfg->matryoshka_dims[m] > b->D)
                return ss_fail(err, SS_ERR_INVALID, "loss: matryoshka dim %d is not in 1..%d (the embedding size)",
                               cfg->matryoshka_dims[m], b->D);
        return matryoshka(cfg, b, loss, grad, err);
    }
    return plain_loss(cfg, b, loss, grad, err);
}

ss_loss_config ss_loss_defaults(ss_loss_kind kind) {
    ss_loss_config c = {.kind = kind, .scale = 20.0f, .margin = 0.5f, .size_average = 1, .mini_batch = 32};
    if (kind == SS_LOSS_TRIPLET) c.margin = 5.0f;
    return c;
}

int ss_loss_parse(const char *name) {
    static const struct {
        const char *name;
        ss_loss_kind kind;
    } names[] = {{"mnrl", SS_LOSS_MNRL},       {"simcse", SS_LOSS_MNRL},
                 {"cached-mnrl", SS_LOSS_CACHED_MNRL}, {"mnsrl", SS_LOSS_MNSRL},
                 {"cosine", SS_LOSS_COSINE},   {"contrastive", SS_LOSS_CONTRASTIVE},
                 {"online-contrastive", SS_LOSS_ONLINE_CONTRASTIVE},
                 {"triplet", SS_LOSS_TRIPLET}, {"cosent", SS_LOSS_COSENT},
                 {"mse", SS_LOSS_MSE},         {"mse-pair", SS_LOSS_MSE_PAIR}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name)) return (int)names[i].kind;
    return -1;
}

int ss_loss_min_cols(ss_loss_kind kind) {
    switch (kind) {
    case SS_LOSS_MSE: return 1;
    case SS_LOSS_TRIPLET: return 3;
    default: return 2;
    }
}

int ss_loss_label_kind(ss_loss_kind kind) {
    switch (kind) {
    case SS_LOSS_COSINE:
    case SS_LOSS_CONTRASTIVE:
    case SS_LOSS_ONLINE_CONTRASTIVE:
    case SS_LOSS_COSENT: return 1;
    case SS_LOSS_MSE: return 2;
    default: return 0;
    }
}
