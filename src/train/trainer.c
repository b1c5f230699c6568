/* trainer.c — see trainer.h. One step, as sentence-transformers' old_fit:
 * loss.backward(); clip_grad_norm_(max_grad_norm); optimizer.step();
 * zero_grad(); scheduler.step(). */
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

#include "core/error.h"
#include "kernels/rng.h"
#include "model/config.h"
#include "model/pooling.h"
#include "model/transformer.h"
#include "train/bert_backward.h"
#include "train/evaluate.h"
#include "train/save.h"
#include "train/train_step.h"

void ss_train_options_default(ss_train_options *o) {
    memset(o, 0, sizeof *o);
    o->data.header = -1;
    o->loss = ss_loss_defaults(SS_LOSS_MNRL);
    o->epochs = 1;
    o->batch_size = 32;
    o->lr = 2e-5;
    o->weight_decay = 0.01;
    o->warmup_ratio = 0.1;
    o->warmup_steps = -1;
    o->max_grad_norm = 1.0f;
    o->schedule = SS_SCHED_WARMUP_LINEAR;
    o->seed = 42;
    o->no_duplicates = -1;
    o->dropout = 1;
}

/* ---- checkpoints ------------------------------------------------------------------ */

#define CKPT_MAGIC 0x4b435353u /* "SSCK" */

typedef struct {
    uint32_t magic, version;
    uint64_t n_params, n_rows, step, adam_t, pos, batch_in_epoch, total, warm;
    int64_t epoch, epoch_n, batch_size;
    double epoch_sum;
    uint64_t rng[4];
} ckpt_header;

static ss_status ckpt_write(const char *path, const ckpt_header *h, const ss_train_batcher *bt, const float *params,
                            const ss_adamw *opt, ss_error *err) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return ss_fail(err, SS_ERR_IO, "checkpoint %s: %s", tmp, strerror(errno));
    size_t n = h->n_params;
    int ok = fwrite(h, sizeof *h, 1, f) == 1 && fwrite(bt->order, sizeof(size_t), h->n_rows, f) == h->n_rows &&
             fwrite(params, sizeof(float), n, f) == n && fwrite(opt->m, sizeof(float), n, f) == n &&
             fwrite(opt->v, sizeof(float), n, f) == n && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return ss_fail(err, SS_ERR_IO, "checkpoint %s: write failed: %s", path, strerror(errno));
    }
    return SS_OK;
}

static ss_status ckpt_read(const char *path, ckpt_header *h, const ckpt_header *want, ss_train_batcher *bt, float *params,
                           ss_adamw *opt, ss_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return ss_fail(err, SS_ERR_IO, "resume %s: %s", path, strerror(errno));
    ss_status st = SS_OK;
    if (fread(h, sizeof *h, 1, f) != 1 || h->magic != CKPT_MAGIC || h->version != 1) {
        st = ss_fail(err, SS_ERR_FORMAT, "resume %s: not a semsearch training checkpoint", path);
    } else if (h->n_params != want->n_params || h->n_rows != want->n_rows || h->total != want->total ||
               h->warm != want->warm || h->batch_size != want->batch_size) {
        st = ss_fail(err, SS_ERR_INVALID,
                     "resume %s: the checkpoint is of another run (params %llu/%llu, rows %llu/%llu, steps %llu/%llu, "
                     "warmup %llu/%llu, batch %lld/%lld)",
                     path, (unsigned long long)h->n_params, (unsigned long long)want->n_params,
                     (unsigned long long)h->n_rows, (unsigned long long)want->n_rows, (unsigned long long)h->total,
                     (unsigned long long)want->total, (unsigned long long)h->warm, (unsigned long long)want->warm,
                     (long long)h->batch_size, (long long)want->batch_size);
    } else {
        size_t n = h->n_params;
        if (fread(bt->order, sizeof(size_t), h->n_rows, f) != h->n_rows || fread(params, sizeof(float), n, f) != n ||
            fread(opt->m, sizeof(float), n, f) != n || fread(opt->v, sizeof(float), n, f) != n)
            st = ss_fail(err, SS_ERR_FORMAT, "resume %s: truncated", path);
        memcpy(bt->rng.s, h->rng, sizeof h->rng);
        bt->pos = h->pos, bt->batch_in_epoch = h->batch_in_epoch;
        opt->t = (int64_t)h->adam_t;
    }
    fclose(f);
    return st;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The evaluator of a run (STS, IR or triplets): one score, higher is better, and a second figure. */
typedef struct {
    int kind; /* 0 none, 1 STS, 2 IR, 3 triplets */
    ss_dataset ds;
    ss_ir_data ir;
} evaluator;

static void evaluator_free(evaluator *e) {
    if (e->kind == 1 || e->kind == 3) ss_dataset_free(&e->ds);
    if (e->kind == 2) ss_ir_data_free(&e->ir);
    e->kind = 0;
}

static ss_status evaluator_open(evaluator *e, const ss_train_options *o, ss_error *err) {
    int n = !!o->eval_sts + !!o->eval_ir + !!o->eval_triplet;
    memset(e, 0, sizeof *e);
    if (n > 1) return ss_fail(err, SS_ERR_INVALID, "one evaluator per run: STS, IR or triplets");
    ss_status rc = SS_OK;
    if (o->eval_sts && (rc = ss_dataset_load(&e->ds, o->eval_sts, &o->eval_data, err)) == SS_OK) e->kind = 1;
    if (o->eval_ir && (rc = ss_ir_data_load_spec(&e->ir, o->eval_ir, err)) == SS_OK) e->kind = 2;
    if (o->eval_triplet && (rc = ss_dataset_load(&e->ds, o->eval_triplet, &o->eval_data, err)) == SS_OK) {
        e->kind = 3;
        if (e->ds.n_cols != 3) rc = ss_fail(err, SS_ERR_INVALID, "%s: triplets need 3 text columns", o->eval_triplet);
    }
    return rc;
}

typedef struct {
    ss_model *m; /* tokenizer and configs (its own weights are not trained) */
    ss_tf_config cfg;
    ss_st_config st;
    ss_transformer tf;
    int have_st, have_tf;
} model_parts;

static void parts_free(model_parts *p) {
    if (p->have_tf) ss_transformer_free(&p->tf);
    if (p->have_st) ss_st_config_free(&p->st);
    ss_model_free(p->m);
}

static ss_status evaluator_run(const evaluator *e, model_parts *mp, ss_pool *pool, double *score, double *second,
                               ss_error *err) {
    if (e->kind == 1) return ss_eval_sts(&mp->tf, &mp->st, mp->m, pool, &e->ds, score, second, err);
    if (e->kind == 2) {
        ss_ir_result r;
        ss_status rc = ss_eval_ir(&mp->tf, &mp->st, mp->m, pool, &e->ir, &r, err);
        *score = 100 * r.map100, *second = 100 * r.ndcg10;
        return rc;
    }
    ss_triplet_result r;
    ss_status rc = ss_eval_triplet(&mp->tf, &mp->st, mp->m, pool, &e->ds, &r, err);
    *score = 100 * r.cosine, *second = 100 * r.euclidean;
    return rc;
}

ss_status ss_train_run(const ss_train_options *o, ss_train_result *res, ss_error *err) {
    memset(res, 0, sizeof *res);
    double t0 = now();
    ss_dataset d;
    ss_status rc = ss_dataset_load(&d, o->data_path, &o->data, err);
    res->skipped_rows = d.n_skipped;
    if (rc != SS_OK) return rc;
    res->rows = d.n_rows;

    ss_loss_config lc = o->loss;
    int n_cols = o->simcse ? 2 : d.n_cols;
    if (lc.kind == SS_LOSS_MSE && d.n_cols == 2 && !o->teacher) lc.kind = SS_LOSS_MSE_PAIR; /* embedding-to-embedding */
    if (o->teacher && lc.kind != SS_LOSS_MSE) {
        ss_dataset_free(&d);
        return ss_fail(err, SS_ERR_INVALID, "a teacher goes with the MSE loss");
    }
    if (o->simcse && (d.n_cols != 1 || lc.kind != SS_LOSS_MNRL)) {
        ss_dataset_free(&d);
        return ss_fail(err, SS_ERR_INVALID, "simcse takes one text column (got %d) and MNRL", d.n_cols);
    }
    if (n_cols < ss_loss_min_cols(lc.kind) || (ss_loss_label_kind(lc.kind) == 1 && !d.labels) ||
        (ss_loss_label_kind(lc.kind) == 2 && !o->teacher)) {
        ss_dataset_free(&d);
        return ss_fail(err, SS_ERR_INVALID,
                       "%s: the loss needs %d text columns%s (the data has %d text columns%s)%s", o->data_path,
                       ss_loss_min_cols(lc.kind), ss_loss_label_kind(lc.kind) == 1 ? " and a label column" : "",
                       d.n_cols, d.labels ? " and labels" : "",
                       ss_loss_label_kind(lc.kind) == 2 ? "; MSE to target embeddings needs a teacher model" : "");
    }

    model_parts mp = {0};
    ss_model_options mo = {.n_threads = 1}; /* its own context is not used */
    mp.m = ss_model_load(o->model_dir, &mo, err);
    ss_pool *pool = NULL;
    float *grads = NULL;
    int32_t *ids = NULL;
    int *off = NULL;
    float *labels = NULL;
    size_t *rows = NULL;
    FILE *csv = NULL;
    ss_adamw opt = {0};
    ss_train_step step = {0};
    ss_train_batcher bt = {0};
    ss_model *teacher = NULL;
    float *targets = NULL, *tlabels = NULL; /* teacher: [rows, P], this batch's [n_cols * bs, P] */
    evaluator ev = {0};
    int have_ev = 0;
    res->best_eval = -INFINITY;
    if (!mp.m) {
        rc = err ? err->code : SS_ERR_IO;
        goto done;
    }
    if ((rc = ss_tf_config_load(&mp.cfg, o->model_dir, err)) != SS_OK) goto done;
    if ((rc = ss_st_config_load(&mp.st, o->model_dir, &mp.cfg, err)) != SS_OK) goto done;
    mp.have_st = 1;
    if ((rc = ss_transformer_load(&mp.tf, &mp.cfg, o->model_dir, err)) != SS_OK) goto done;
    mp.have_tf = 1;
    const int P = ss_pooling_count(&mp.st.pooling) * mp.cfg.hidden;
    if (o->teacher) { /* its embeddings of column 0, computed once (ParallelSentencesDataset does the same) */
        ss_model_options to = {.n_threads = o->n_threads};
        if (!(teacher = ss_model_load(o->teacher, &to, err))) {
            rc = err ? err->code : SS_ERR_IO;
            goto done;
        }
        if (ss_model_dim(teacher) != P) {
            rc = ss_fail(err, SS_ERR_INVALID, "teacher %s embeds in %d dimensions, the student in %d", o->teacher,
                         ss_model_dim(teacher), P);
            goto done;
        }
        const char **src = malloc(sizeof(char *) * (d.n_rows + 1));
        targets = malloc(sizeof(float) * (d.n_rows * (size_t)P + 1));
        tlabels = malloc(sizeof(float) * ((size_t)n_cols * o->batch_size * P + 1));
        if (!src || !targets || !tlabels) {
            free(src);
            rc = ss_fail(err, SS_ERR_NOMEM, "teacher: out of memory for %zu embeddings", d.n_rows);
            goto done;
        }
        for (size_t i = 0; i < d.n_rows; i++) src[i] = ss_dataset_text(&d, i, 0);
        rc = ss_encode(teacher, src, d.n_rows, NULL, targets, err);
        free(src);
        if (rc != SS_OK) {
            ss_error_prefix(err, "teacher %s: ", o->teacher);
            goto done;
        }
    }
    int no_dup = o->no_duplicates >= 0 ? o->no_duplicates
                                       : (lc.kind == SS_LOSS_MNRL || lc.kind == SS_LOSS_MNSRL || lc.kind == SS_LOSS_CACHED_MNRL);
    int bs = o->batch_size;
    if (no_dup && (size_t)bs > d.n_rows) bs = (int)d.n_rows;
    if ((rc = ss_train_batcher_init(&bt, &d, bs, no_dup, o->seed, err)) != SS_OK) goto done;
    int64_t per_epoch = (int64_t)ss_train_batcher_len(&bt);
    int64_t total = o->max_steps > 0 ? o->max_steps : per_epoch * (o->epochs > 0 ? o->epochs : 1);
    int64_t warm = o->warmup_steps >= 0 ? o->warmup_steps : (int64_t)ceil(o->warmup_ratio * (double)total);
    pool = ss_pool_new(o->n_threads);
    if (!pool) {
        rc = ss_fail(err, SS_ERR_NOMEM, "cannot start %d threads", o->n_threads);
        goto done;
    }
    int max_len = ss_model_max_seq_length(mp.m);
    grads = calloc(mp.tf.n_params, sizeof(float));
    ids = malloc(sizeof(int32_t) * (size_t)n_cols * bs * max_len);
    off = malloc(sizeof(int) * ((size_t)n_cols * bs + 1));
    labels = malloc(sizeof(float) * (bs + 1));
    rows = malloc(sizeof(size_t) * bs);
    if (!grads || !ids || !off || !labels || !rows) {
        rc = ss_fail(err, SS_ERR_NOMEM, "training: out of memory for %zu parameters", mp.tf.n_params);
        goto done;
    }
    if ((rc = ss_adamw_init(&opt, mp.tf.n_params, err)) != SS_OK) goto done;
    opt.lr = o->lr;
    opt.pool = pool;
    opt.weight_decay = o->weight_decay;
    ss_param_range ranges[2 * SS_TF_N_TENSORS];
    int nr = ss_tf_param_groups(&mp.tf, ranges);
    if (o->log_csv) {
        csv = fopen(o->log_csv, "w");
        if (!csv) {
            rc = ss_fail(err, SS_ERR_IO, "cannot write the log %s", o->log_csv);
            goto done;
        }
        fprintf(csv, "step,epoch,loss,lr,grad_norm\n");
    }
    if (o->eval_sts || o->eval_ir || o->eval_triplet) {
        rc = evaluator_open(&ev, o, err);
        have_ev = ev.kind != 0;
        if (rc != SS_OK) goto done;
        double sp, pe;
        if ((rc = evaluator_run(&ev, &mp, pool, &sp, &pe, err)) != SS_OK) goto done;
        res->first_eval = sp, res->n_evals = 1; /* reported; best starts below any score, as fit's */
        if (o->on_eval) o->on_eval(o->user, 0, sp, pe);
    }
    int64_t s = 0, epoch_n = 0;
    double epoch_sum = 0;
    int epoch0 = 0;
    ckpt_header ck = {.magic = CKPT_MAGIC, .version = 1, .n_params = mp.tf.n_params, .n_rows = d.n_rows,
                      .total = (uint64_t)total, .warm = (uint64_t)warm, .batch_size = bs};
    if (o->resume) {
        ckpt_header h;
        if ((rc = ckpt_read(o->resume, &h, &ck, &bt, mp.tf.params, &opt, err)) != SS_OK) goto done;
        s = (int64_t)h.step, epoch0 = (int)h.epoch, epoch_sum = h.epoch_sum, epoch_n = h.epoch_n;
    }
    for (int epoch = epoch0; s < total; epoch++) {
        if (epoch != epoch0 || !o->resume) epoch_sum = 0, epoch_n = 0;
        int n;
        while (s < total && (n = ss_train_batcher_next(&bt, rows)) > 0) {
            /* tokenise column-major: sequence c·n + i */
            off[0] = 0;
            for (int c = 0; c < n_cols; c++)
                for (int i = 0; i < n; i++) {
                    const char *text = ss_dataset_text(&d, rows[i], o->simcse ? 0 : c);
                    int q = c * n + i;
                    int k = ss_model_tokenize(mp.m, text, NULL, ids + off[q], max_len, err);
                    if (k < 0) {
                        ss_error_prefix(err, "%s row %zu column %d: ", o->data_path, rows[i] + 1, c);
                        rc = err ? err->code : SS_ERR_INVALID;
                        goto done;
                    }
                    off[q + 1] = off[q] + k;
                }
            if (d.labels)
                for (int i = 0; i < n; i++) labels[i] = d.labels[rows[i]];
            if (targets) /* sequence c·n + i learns the teacher's embedding of row i */
                for (int c = 0; c < n_cols; c++)
                    for (int i = 0; i < n; i++)
                        memcpy(tlabels + ((size_t)c * n + i) * P, targets + rows[i] * (size_t)P, sizeof(float) * P);
            memset(grads, 0, sizeof(float) * mp.tf.n_params);
            /* this step's dropout masks: a function of the seed and the step only (resume replays them) */
            step.dropout = o->dropout, step.p_hidden = mp.cfg.hidden_dropout, step.p_attn = mp.cfg.attn_dropout;
            uint64_t ds = o->seed ^ 0x64726f706f7574ull; /* "dropout" */
            ds += (uint64_t)s * 0x9E3779B97F4A7C15ull;
            step.drop_seed = ss_splitmix64(&ds);
            double loss = 0;
            rc = ss_train_step_run(&step, &mp.tf, &mp.st, pool, ids, off, n_cols, n, &lc,
                                   targets ? tlabels : d.labels ? labels : NULL, grads, &loss, NULL, err);
            if (rc != SS_OK) goto done;
            if (!isfinite(loss)) {
                rc = ss_fail(err, SS_ERR_INVALID, "step %lld: the loss is %f", (long long)s, loss);
                goto done;
            }
            float gn = ss_clip_grad_norm_par(pool, grads, mp.tf.n_params, o->max_grad_norm);
            double lr = o->lr * ss_schedule_factor(o->schedule, s, warm, total);
            ss_adamw_step(&opt, mp.tf.params, grads, ranges, nr, lr);
            if (s == 0) res->first_loss = loss;
            res->last_loss = loss;
            res->tokens += (size_t)off[n_cols * n];
            epoch_sum += loss, epoch_n++;
            s++;
            if (csv) fprintf(csv, "%lld,%d,%.8g,%.8g,%.8g\n", (long long)s, epoch, loss, lr, gn), fflush(csv);
            if (o->on_step) o->on_step(o->user, s, total, epoch, loss, lr);
            int epoch_end = bt.batch_in_epoch >= ss_train_batcher_len(&bt) || s == total;
            if (have_ev && ((o->eval_steps > 0 && s % o->eval_steps == 0) || epoch_end)) {
                double sp, pe;
                if ((rc = evaluator_run(&ev, &mp, pool, &sp, &pe, err)) != SS_OK) goto done;
                res->n_evals++;
                if (o->on_eval) o->on_eval(o->user, s, sp, pe);
                if (sp > res->best_eval) { /* save_best_model */
                    res->best_eval = sp, res->best_step = s;
                    if (o->out_dir && (rc = ss_train_save(&mp.tf, o->model_dir, o->out_dir, err)) != SS_OK) goto done;
                }
            }
            int stop = o->stop_after > 0 && s >= o->stop_after && s < total;
            if (o->checkpoint && (stop || (o->checkpoint_every > 0 && s % o->checkpoint_every == 0))) {
                ck.step = (uint64_t)s, ck.adam_t = (uint64_t)opt.t, ck.pos = bt.pos;
                ck.batch_in_epoch = bt.batch_in_epoch, ck.epoch = epoch, ck.epoch_n = epoch_n;
                ck.epoch_sum = epoch_sum;
                memcpy(ck.rng, bt.rng.s, sizeof ck.rng);
                if ((rc = ckpt_write(o->checkpoint, &ck, &bt, mp.tf.params, &opt, err)) != SS_OK) goto done;
            }
            if (stop) {
                res->steps = s;
                res->stopped = 1;
                goto done;
            }
        }
    }
    res->steps = s;
    res->mean_last_epoch_loss = epoch_n ? epoch_sum / epoch_n : 0;
    /* with an evaluator the best-scoring model was saved when it scored; without one (or when no
     * evaluation ran after a step) the final model is saved */
    if (o->out_dir && (!have_ev || res->best_step == 0)) rc = ss_train_save(&mp.tf, o->model_dir, o->out_dir, err);
done:
    evaluator_free(&ev);
    ss_model_free(teacher);
    free(targets), free(tlabels);
    res->seconds = now() - t0;
    if (csv) fclose(csv);
    ss_adamw_free(&opt);
    ss_train_step_free(&step);
    ss_train_batcher_free(&bt);
    free(grads), free(ids), free(off), free(labels), free(rows);
    ss_pool_free(pool);
    parts_free(&mp);
    ss_dataset_free(&d);
    return rc;
}
