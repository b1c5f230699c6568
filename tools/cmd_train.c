/* cmd_train.c — `semsearch train` (fine-tune a sentence model, as
 * sentence-transformers' model.fit) and `semsearch eval sts` (Spearman and
 * Pearson ×100 of cosine vs gold scores, as EmbeddingSimilarityEvaluator). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "train/data.h"
#include "train/eval.h"
#include "train/trainer.h"

/* STSb's files (sts-*.csv) are tab-separated with the score in field 4 and
 * the sentences in 5 and 6, no header: recognised by a first line of >= 7
 * tab-separated fields. */
static int looks_like_stsb(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char line[8192];
    int tabs = 0;
    if (fgets(line, sizeof line, f))
        for (char *c = line; *c; c++) tabs += *c == '\t';
    fclose(f);
    return tabs >= 6;
}

/* (s1, s2, score) columns of an STS file: STSb's layout when recognised, else
 * sentence1,sentence2,score (the Hugging Face stsb dataset's names). */
static void sts_columns(const char *path, ss_data_options *d) {
    static char c5[] = "5", c6[] = "6", s1[] = "sentence1", s2[] = "sentence2";
    if (d->format == SS_DATA_AUTO && looks_like_stsb(path)) {
        d->format = SS_DATA_TSV, d->header = 0, d->n_text_cols = 2, d->text_cols[0] = c5, d->text_cols[1] = c6;
        if (!d->label_col) d->label_col = "4";
    } else {
        d->n_text_cols = 2, d->text_cols[0] = s1, d->text_cols[1] = s2;
        if (!d->label_col) d->label_col = "score";
    }
}

static int split_columns(char *list, ss_data_options *d) {
    d->n_text_cols = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (d->n_text_cols == SS_DATA_MAX_COLS) return -1;
        d->text_cols[d->n_text_cols++] = tok;
    }
    return d->n_text_cols ? 0 : -1;
}

static int parse_format(const char *v, ss_data_format *f) {
    if (!strcmp(v, "csv")) *f = SS_DATA_CSV;
    else if (!strcmp(v, "tsv")) *f = SS_DATA_TSV;
    else if (!strcmp(v, "jsonl")) *f = SS_DATA_JSONL;
    else return -1;
    return 0;
}

static double num(const char *flag, const char *v) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !isfinite(x)) {
        fprintf(stderr, "semsearch: %s expects a number, got \"%s\"\n", flag, v);
        exit(2);
    }
    return x;
}

static void train_usage(void) {
    fprintf(stderr,
            "usage: semsearch train --data FILE --loss LOSS --out DIR [options]\n"
            "  fine-tunes a sentence-transformers model (model.fit's defaults) and saves a folder that\n"
            "  `semsearch embed --model DIR` and Python's SentenceTransformer(DIR) load\n"
            "  --model DIR           base model (default: bundled all-MiniLM-L6-v2)\n"
            "  --loss NAME           mnrl | cached-mnrl | mnsrl | cosine | contrastive | online-contrastive |\n"
            "                        triplet | cosent | mse (two text columns: embedding-to-embedding) | simcse\n"
            "  --columns A,B[,C]     text columns by header name / JSON key or 0-based index\n"
            "                        (default: the first two CSV columns; STSb files: 5,6)\n"
            "  --label COL           label column (cosine, contrastive, cosent; STSb: 4, scaled by 1/5)\n"
            "  --label-scale X       multiply labels by X\n"
            "  --format csv|tsv|jsonl  (default: by extension)   --header | --no-header   --skip-bad\n"
            "  --epochs N (1)  --batch-size N (32)  --lr X (2e-5)  --weight-decay X (0.01)\n"
            "  --warmup-ratio X (0.1) | --warmup-steps N   --max-steps N   --scheduler NAME (warmuplinear)\n"
            "  --max-grad-norm X (1)  --seed N (42)  --threads N (all cores)  --log FILE (CSV per step)\n"
            "  --scale X  --margin X  --mini-batch N (cached-mnrl)  --matryoshka D1,D2,...\n"
            "  --no-duplicates | --allow-duplicates   (default: no duplicates for the MNRL family)\n"
            "  --eval-sts FILE [--eval-steps N]   Spearman on an (s1, s2, score) file every N steps and at\n"
            "                        epoch ends; --out then receives the best-scoring model (fit's save_best_model)\n"
            "  --checkpoint FILE [--checkpoint-every N] [--stop-after N]   --resume FILE (bit-identical continuation)\n");
}

typedef struct {
    int tty;
    int64_t every;
} progress;

static void on_eval(void *user, int64_t step, double spearman, double pearson) {
    progress *p = user;
    fprintf(stderr, "%s  eval after step %lld: spearman %.2f  pearson %.2f\n", p->tty ? "\n" : "", (long long)step,
            spearman, pearson);
}

static void on_step(void *user, int64_t step, int64_t total, int epoch, double loss, double lr) {
    progress *p = user;
    if (p->tty) {
        fprintf(stderr, "\r  step %lld/%lld  epoch %d  loss %.4f  lr %.3g   ", (long long)step, (long long)total,
                epoch + 1, loss, lr);
        if (step == total) fputc('\n', stderr);
    } else if (step % p->every == 0 || step == total || step == 1) {
        fprintf(stderr, "  step %lld/%lld  epoch %d  loss %.6f  lr %.6g\n", (long long)step, (long long)total,
                epoch + 1, loss, lr);
    }
}

int cmd_train(int argc, char **argv) {
    ss_train_options o;
    ss_train_options_default(&o);
    const char *model = NULL, *loss = NULL, *label_scale = NULL, *matry = NULL;
    char *columns = NULL;
    double scale = NAN, margin = NAN;
    int mini_batch = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            train_usage();
            return 0;
        } else if (!strcmp(a, "--model")) model = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--data")) o.data_path = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--loss")) loss = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--out")) o.out_dir = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--columns")) columns = strdup(cli_value(argc, argv, &i));
        else if (!strcmp(a, "--label")) o.data.label_col = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--label-scale")) label_scale = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--format")) {
            const char *v = cli_value(argc, argv, &i);
            if (parse_format(v, &o.data.format)) {
                fprintf(stderr, "semsearch train: --format csv|tsv|jsonl, got %s\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--header")) o.data.header = 1;
        else if (!strcmp(a, "--no-header")) o.data.header = 0;
        else if (!strcmp(a, "--skip-bad")) o.data.skip_bad = 1;
        else if (!strcmp(a, "--epochs")) o.epochs = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--batch-size")) o.batch_size = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--lr")) o.lr = num(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--weight-decay")) o.weight_decay = num(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--warmup-ratio")) o.warmup_ratio = num(a, cli_value(argc, argv, &i)), o.warmup_steps = -1;
        else if (!strcmp(a, "--warmup-steps")) o.warmup_steps = (int64_t)num(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--max-steps")) o.max_steps = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--scheduler")) {
            const char *v = cli_value(argc, argv, &i);
            int s = ss_schedule_parse(v);
            if (s < 0) {
                fprintf(stderr, "semsearch train: unknown scheduler %s (constantlr, warmupconstant, warmuplinear, warmupcosine)\n", v);
                return 2;
            }
            o.schedule = (ss_schedule)s;
        } else if (!strcmp(a, "--max-grad-norm")) o.max_grad_norm = (float)num(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)num(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--threads")) o.n_threads = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--log")) o.log_csv = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--scale")) scale = num(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--margin")) margin = num(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--mini-batch")) mini_batch = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--matryoshka")) matry = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--eval-sts")) o.eval_sts = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--eval-steps")) o.eval_steps = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--checkpoint")) o.checkpoint = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--checkpoint-every")) o.checkpoint_every = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--stop-after")) o.stop_after = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--resume")) o.resume = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--no-duplicates")) o.no_duplicates = 1;
        else if (!strcmp(a, "--allow-duplicates")) o.no_duplicates = 0;
        else {
            fprintf(stderr, "semsearch train: unknown option %s\n", a);
            train_usage();
            return 2;
        }
    }
    if (!o.data_path || !loss) {
        fprintf(stderr, "semsearch train: --data and --loss are required\n");
        train_usage();
        return 2;
    }
    int kind = ss_loss_parse(loss);
    if (kind < 0) {
        fprintf(stderr, "semsearch train: unknown loss %s\n", loss);
        return 2;
    }
    o.loss = ss_loss_defaults((ss_loss_kind)kind);
    o.simcse = !strcmp(loss, "simcse");
    if (!isnan(scale)) o.loss.scale = (float)scale;
    if (!isnan(margin)) o.loss.margin = (float)margin;
    if (mini_batch) o.loss.mini_batch = mini_batch;
    if (matry) {
        char *m = strdup(matry);
        for (char *t = strtok(m, ","); t && o.loss.n_matryoshka < SS_LOSS_MAX_MATRYOSHKA; t = strtok(NULL, ",")) {
            o.loss.matryoshka_dims[o.loss.n_matryoshka] = atoi(t);
            o.loss.matryoshka_weights[o.loss.n_matryoshka++] = 1.0f;
        }
        free(m);
    }
    if (columns && split_columns(columns, &o.data)) {
        fprintf(stderr, "semsearch train: --columns takes 1 to %d comma-separated names\n", SS_DATA_MAX_COLS);
        return 2;
    }
    int need_label = ss_loss_label_kind(o.loss.kind) == 1;
    if (!columns && o.data.format == SS_DATA_AUTO && looks_like_stsb(o.data_path)) {
        static char c5[] = "5", c6[] = "6";
        o.data.format = SS_DATA_TSV, o.data.header = 0;
        o.data.n_text_cols = 2, o.data.text_cols[0] = c5, o.data.text_cols[1] = c6;
        if (need_label && !o.data.label_col) o.data.label_col = "4", o.data.label_scale = 0.2;
        fprintf(stderr, "semsearch train: %s looks like STSb: columns 5,6%s\n", o.data_path,
                need_label ? ", label 4 / 5" : "");
    }
    if (o.simcse && !columns) {
        static char c0[] = "0";
        o.data.n_text_cols = 1, o.data.text_cols[0] = c0;
    }
    if (label_scale) o.data.label_scale = num("--label-scale", label_scale);
    if (need_label && !o.data.label_col) {
        fprintf(stderr, "semsearch train: --loss %s needs --label COL\n", loss);
        return 2;
    }
    o.model_dir = cli_model_dir(model);
    progress p = {isatty(2), 1};
    o.on_step = on_step, o.on_eval = on_eval, o.user = &p;
    if (o.eval_sts) o.eval_data.header = -1, sts_columns(o.eval_sts, &o.eval_data);
    p.every = 50;
    ss_train_result r;
    ss_error err = {0};
    fprintf(stderr, "semsearch train: %s on %s, loss %s, batch %d, lr %g\n", o.model_dir, o.data_path, loss,
            o.batch_size, o.lr);
    ss_status st = ss_train_run(&o, &r, &err);
    free(columns);
    if (r.skipped_rows) fprintf(stderr, "semsearch train: skipped %zu bad rows\n", r.skipped_rows);
    if (st != SS_OK) {
        fprintf(stderr, "semsearch train: %s\n", err.msg);
        return 1;
    }
    if (r.stopped) {
        fprintf(stderr, "semsearch train: stopped after %lld steps%s%s\n", (long long)r.steps,
                o.checkpoint ? "; checkpoint " : "", o.checkpoint ? o.checkpoint : "");
        return 0;
    }
    if (o.eval_sts)
        fprintf(stderr, "semsearch train: eval spearman %.2f before, best %.2f at step %lld%s\n", r.first_eval,
                r.best_eval, (long long)r.best_step, o.out_dir ? " (saved)" : "");
    fprintf(stderr, "semsearch train: %lld steps over %zu rows in %.1f s (%.2f steps/s, %.0f tokens/s); loss %.4f -> %.4f%s%s\n",
            (long long)r.steps, r.rows, r.seconds, r.steps / r.seconds, r.tokens / r.seconds, r.first_loss,
            r.last_loss, o.out_dir ? "; saved " : "", o.out_dir ? o.out_dir : "");
    return 0;
}

/* ---- eval ---------------------------------------------------------------------------- */

static void eval_usage(void) {
    fprintf(stderr, "usage: semsearch eval sts FILE [--model DIR] [--columns S1,S2 --label COL] [--format F]\n"
                    "  Spearman and Pearson x100 of cosine(s1, s2) vs the gold score\n"
                    "  (STSb's tab-separated files are recognised; else CSV/JSONL columns sentence1,sentence2,score)\n");
}

int cmd_eval(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "sts")) {
        eval_usage();
        return argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
    }
    const char *path = argv[2], *model = NULL;
    ss_data_options d = {.header = -1};
    char *columns = NULL;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--model")) model = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--columns")) columns = strdup(cli_value(argc, argv, &i));
        else if (!strcmp(a, "--label")) d.label_col = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--format")) {
            if (parse_format(cli_value(argc, argv, &i), &d.format)) {
                eval_usage();
                return 2;
            }
        } else if (!strcmp(a, "--skip-bad")) d.skip_bad = 1;
        else {
            fprintf(stderr, "semsearch eval: unknown option %s\n", a);
            eval_usage();
            return 2;
        }
    }
    if (columns) {
        if (split_columns(columns, &d) || d.n_text_cols != 2) {
            fprintf(stderr, "semsearch eval: --columns takes two columns\n");
            return 2;
        }
    } else {
        sts_columns(path, &d);
    }
    if (!d.label_col) d.label_col = "score";
    ss_dataset ds;
    ss_error err = {0};
    int rc = 1;
    if (ss_dataset_load(&ds, path, &d, &err) != SS_OK) {
        fprintf(stderr, "semsearch eval: %s\n", err.msg);
        free(columns);
        return 1;
    }
    ss_model *m = cli_load_model(model, 0, 0);
    size_t n = ds.n_rows;
    int dim = m ? ss_model_dim(m) : 0;
    const char **a = malloc(sizeof(char *) * n), **b = malloc(sizeof(char *) * n);
    float *ea = malloc(sizeof(float) * n * (dim ? dim : 1)), *eb = malloc(sizeof(float) * n * (dim ? dim : 1));
    double *cs = malloc(sizeof(double) * n), *gold = malloc(sizeof(double) * n);
    if (m && a && b && ea && eb && cs && gold) {
        for (size_t i = 0; i < n; i++) a[i] = ss_dataset_text(&ds, i, 0), b[i] = ss_dataset_text(&ds, i, 1);
        if (ss_encode(m, a, n, NULL, ea, &err) != SS_OK || ss_encode(m, b, n, NULL, eb, &err) != SS_OK) {
            fprintf(stderr, "semsearch eval: %s\n", err.msg);
        } else {
            for (size_t i = 0; i < n; i++) {
                cs[i] = ss_cosine(ea + i * dim, eb + i * dim, dim);
                gold[i] = ds.labels[i];
            }
            printf("pairs: %zu\nspearman: %.4f\npearson: %.4f\n", n, 100 * ss_spearman(cs, gold, n),
                   100 * ss_pearson(cs, gold, n));
            rc = 0;
        }
    } else if (m) {
        fprintf(stderr, "semsearch eval: out of memory\n");
    }
    free(a), free(b), free(ea), free(eb), free(cs), free(gold), free(columns);
    ss_model_free(m);
    ss_dataset_free(&ds);
    return rc;
}
