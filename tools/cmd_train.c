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
#include "opts.h"
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

int split_columns(char *list, ss_data_options *d);
int parse_format(const char *v, ss_data_format *f);

int split_columns(char *list, ss_data_options *d) {
    d->n_text_cols = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (d->n_text_cols == SS_DATA_MAX_COLS) return -1;
        d->text_cols[d->n_text_cols++] = tok;
    }
    return d->n_text_cols ? 0 : -1;
}

int parse_format(const char *v, ss_data_format *f) {
    if (!strcmp(v, "csv")) *f = SS_DATA_CSV;
    else if (!strcmp(v, "tsv")) *f = SS_DATA_TSV;
    else if (!strcmp(v, "jsonl")) *f = SS_DATA_JSONL;
    else return -1;
    return 0;
}

typedef struct {
    int tty;
    int64_t every;
    const char *score_name, *second_name; /* the evaluator's two figures */
} progress;

static void on_eval(void *user, int64_t step, double score, double second) {
    progress *p = user;
    fprintf(stderr, "%s  eval after step %lld: %s %.2f  %s %.2f\n", p->tty ? "\n" : "", (long long)step,
            p->score_name, score, p->second_name, second);
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

int cmd_train(int argc, char **argv, const cli_globals *g) {
    (void)g;
    ss_train_options o;
    ss_train_options_default(&o);
    const char *model = NULL, *loss = NULL, *matry = NULL, *format = NULL, *scheduler = NULL, *cols = NULL;
    char *columns = NULL;
    double scale = NAN, margin = NAN, label_scale = NAN, warmup_ratio = NAN, max_grad_norm = o.max_grad_norm;
    double warmup_steps = -1, seed = (double)o.seed;
    int mini_batch = 0, header = -2, max_steps = (int)o.max_steps, eval_steps = (int)o.eval_steps;
    int checkpoint_every = (int)o.checkpoint_every, stop_after = (int)o.stop_after;
    int no_dup = o.no_duplicates;
    const cli_opt opts[] = {
        {"model", 0, CLI_STRING, &model, "DIR", "base model (default: bundled all-MiniLM-L6-v2)"},
        {"data", 0, CLI_STRING, &o.data_path, "FILE", "training data: CSV / TSV / JSONL (required)"},
        {"loss", 0, CLI_STRING, &loss, "NAME",
         "mnrl | cached-mnrl | mnsrl | cosine | contrastive | online-contrastive | triplet | cosent | mse | simcse"},
        {"teacher", 0, CLI_STRING, &o.teacher, "DIR",
         "mse: learn this model's embeddings of column 0 (distillation; with --columns SRC,TRG both learn SRC's)"},
        {"out", 0, CLI_STRING, &o.out_dir, "DIR", "save the trained sentence-transformers folder here"},
        {"columns", 0, CLI_STRING, &cols, "A,B[,C]",
         "text columns by header name / JSON key or 0-based index (default: first two; STSb: 5,6)"},
        {"label", 0, CLI_STRING, &o.data.label_col, "COL", "label column (cosine, contrastive, cosent; STSb: 4 / 5)"},
        {"label-scale", 0, CLI_FLOAT, &label_scale, "X", "multiply labels by X"},
        {"format", 0, CLI_STRING, &format, "csv|tsv|jsonl", "input format (default: by extension)"},
        {"header", 0, CLI_SET, &header, NULL, "the first row is a header", .set = 1},
        {"no-header", 0, CLI_SET, &header, NULL, "the first row is data", .set = 0},
        {"skip-bad", 0, CLI_FLAG, &o.data.skip_bad, NULL, "skip and count bad rows instead of failing"},
        {"epochs", 0, CLI_INT, &o.epochs, "N", "epochs (1)", .lo = 1, .hi = 100000},
        {"batch-size", 0, CLI_INT, &o.batch_size, "N", "batch size (32)", .lo = 1, .hi = 1000000},
        {"lr", 0, CLI_FLOAT, &o.lr, "X", "learning rate (2e-5)", .flo = 0, .fhi = 10},
        {"weight-decay", 0, CLI_FLOAT, &o.weight_decay, "X", "AdamW weight decay (0.01)", .flo = 0, .fhi = 10},
        {"warmup-ratio", 0, CLI_FLOAT, &warmup_ratio, "X", "warmup as a share of the steps (0.1)", .flo = 0, .fhi = 1},
        {"warmup-steps", 0, CLI_FLOAT, &warmup_steps, "N", "warmup steps (instead of --warmup-ratio)", .flo = 0,
         .fhi = 1e15},
        {"max-steps", 0, CLI_INT, &max_steps, "N", "stop (and schedule) after N steps", .lo = 0, .hi = 2000000000},
        {"scheduler", 0, CLI_STRING, &scheduler, "NAME", "constantlr | warmupconstant | warmuplinear | warmupcosine"},
        {"max-grad-norm", 0, CLI_FLOAT, &max_grad_norm, "X", "gradient clipping (1)", .flo = 0, .fhi = 1e30},
        {"seed", 0, CLI_FLOAT, &seed, "N", "shuffling / dropout seed (42)", .flo = 0, .fhi = 9007199254740992.0},
        {"no-dropout", 0, CLI_SET, &o.dropout, NULL,
         "train without dropout (default: config.json's hidden / attention dropout, as model.train())", .set = 0},
        {"threads", 0, CLI_INT, &o.n_threads, "N", "threads (0 = all cores)", .hi = CLI_THREADS},
        {"log", 0, CLI_STRING, &o.log_csv, "FILE", "CSV log: step, epoch, loss, lr, grad norm"},
        {"scale", 0, CLI_FLOAT, &scale, "X", "loss scale (MNRL / CoSENT: 20)", .flo = 0, .fhi = 1e6},
        {"margin", 0, CLI_FLOAT, &margin, "X", "loss margin (contrastive 0.5, triplet 5)", .flo = 0, .fhi = 1e6},
        {"mini-batch", 0, CLI_INT, &mini_batch, "N", "cached-mnrl mini-batch", .lo = 0, .hi = 1000000},
        {"matryoshka", 0, CLI_STRING, &matry, "D1,D2,...", "wrap the loss in MatryoshkaLoss over these dims"},
        {"eval-sts", 0, CLI_STRING, &o.eval_sts, "FILE", "evaluate Spearman on an (s1, s2, score) file; keep the best"},
        {"eval-ir", 0, CLI_STRING, &o.eval_ir, "Q,C,R|DIR",
         "evaluate IR (MAP@100, NDCG@10) on queries, corpus, qrels (or a BEIR folder); keep the best"},
        {"eval-triplet", 0, CLI_STRING, &o.eval_triplet, "FILE",
         "evaluate triplet accuracy (cosine) on an (anchor, positive, negative) file; keep the best"},
        {"eval-steps", 0, CLI_INT, &eval_steps, "N", "evaluate every N steps (0: epoch ends)", .lo = 0,
         .hi = 2000000000},
        {"checkpoint", 0, CLI_STRING, &o.checkpoint, "FILE", "write the whole training state here"},
        {"checkpoint-every", 0, CLI_INT, &checkpoint_every, "N", "checkpoint every N steps", .lo = 0, .hi = 2000000000},
        {"stop-after", 0, CLI_INT, &stop_after, "N", "stop after N steps (checkpoint written)", .lo = 0,
         .hi = 2000000000},
        {"resume", 0, CLI_STRING, &o.resume, "FILE", "continue from a checkpoint (bit-identical)"},
        {"no-duplicates", 0, CLI_SET, &no_dup, NULL, "no duplicate texts within a batch (default for MNRL family)",
         .set = 1},
        {"allow-duplicates", 0, CLI_SET, &no_dup, NULL, "allow duplicate texts within a batch", .set = 0},
        {0}};
    const cli_spec spec = {"train", "--data FILE --loss LOSS [--out DIR] [options]",
                           "  fine-tunes a sentence-transformers model (model.fit's defaults) and saves a folder that\n"
                           "  `semsearch embed --model DIR` and Python's SentenceTransformer(DIR) load",
                           opts, 0, 0, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    free(pos);
    if (!o.data_path || !loss) return cli_usage_error(&spec, "--data and --loss are required");
    if (format && parse_format(format, &o.data.format)) return cli_usage_error(&spec, "--format csv|tsv|jsonl");
    if (header != -2) o.data.header = header;
    if (!isnan(warmup_ratio)) o.warmup_ratio = warmup_ratio, o.warmup_steps = -1;
    if (warmup_steps >= 0) o.warmup_steps = (int64_t)warmup_steps;
    o.max_steps = max_steps, o.eval_steps = eval_steps, o.checkpoint_every = checkpoint_every;
    o.stop_after = stop_after, o.no_duplicates = no_dup;
    o.max_grad_norm = (float)max_grad_norm, o.seed = (uint64_t)seed;
    if (scheduler) {
        int sc = ss_schedule_parse(scheduler);
        if (sc < 0)
            return cli_usage_error(&spec, "unknown --scheduler (constantlr, warmupconstant, warmuplinear, warmupcosine)");
        o.schedule = (ss_schedule)sc;
    }
    if (cols && !(columns = strdup(cols))) return 1;
    int kind = ss_loss_parse(loss);
    if (kind < 0) {
        free(columns);
        return cli_usage_error(&spec, "unknown loss %s", loss);
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
    if ((o.simcse || o.teacher) && !columns) {
        static char c0[] = "0";
        o.data.n_text_cols = 1, o.data.text_cols[0] = c0;
    }
    if (!isnan(label_scale)) o.data.label_scale = label_scale;
    if (need_label && !o.data.label_col) {
        fprintf(stderr, "semsearch train: --loss %s needs --label COL\n", loss);
        return 2;
    }
    o.model_dir = cli_model_dir(model);
    progress p = {isatty(2), 1, "spearman", "pearson"};
    if (o.eval_ir) p.score_name = "map@100", p.second_name = "ndcg@10";
    if (o.eval_triplet) {
        static char ca[] = "anchor", cp[] = "positive", cn[] = "negative";
        p.score_name = "cosine accuracy", p.second_name = "euclidean accuracy";
        o.eval_data.header = -1, o.eval_data.n_text_cols = 3;
        o.eval_data.text_cols[0] = ca, o.eval_data.text_cols[1] = cp, o.eval_data.text_cols[2] = cn;
    }
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
    if (o.eval_sts || o.eval_ir || o.eval_triplet)
        fprintf(stderr, "semsearch train: eval %s %.2f before, best %.2f at step %lld%s\n", p.score_name,
                r.first_eval, r.best_eval, (long long)r.best_step, o.out_dir ? " (saved)" : "");
    fprintf(stderr, "semsearch train: %lld steps over %zu rows in %.1f s (%.2f steps/s, %.0f tokens/s); loss %.4f -> %.4f%s%s\n",
            (long long)r.steps, r.rows, r.seconds, r.steps / r.seconds, r.tokens / r.seconds, r.first_loss,
            r.last_loss, o.out_dir ? "; saved " : "", o.out_dir ? o.out_dir : "");
    return 0;
}

/* ---- eval ---------------------------------------------------------------------------- */

int cmd_eval_retrieval(int argc, char **argv, const cli_globals *g); /* cmd_eval_st.c: eval ir / triplet */

int cmd_eval(int argc, char **argv, const cli_globals *g) {
    if (argc > 1 && (!strcmp(argv[1], "ir") || !strcmp(argv[1], "triplet"))) return cmd_eval_retrieval(argc, argv, g);
    const char *model = NULL, *cols = NULL, *format = NULL;
    ss_data_options d = {.header = -1};
    const cli_opt opts[] = {
        {"model", 0, CLI_STRING, &model, "DIR", "model folder (default: bundled all-MiniLM-L6-v2)"},
        {"columns", 0, CLI_STRING, &cols, "S1,S2", "the two text columns"},
        {"label", 0, CLI_STRING, &d.label_col, "COL", "the gold score column (default: score)"},
        {"format", 0, CLI_STRING, &format, "csv|tsv|jsonl", "input format (default: by extension)"},
        {"skip-bad", 0, CLI_FLAG, &d.skip_bad, NULL, "skip and count bad rows instead of failing"},
        {0}};
    const cli_spec spec = {"eval", "sts FILE [options]",
                           "  Spearman and Pearson x100 of cosine(s1, s2) vs the gold score\n"
                           "  (STSb's tab-separated files are recognised; else CSV/JSONL columns sentence1,sentence2,score)\n"
                           "  also: eval ir (InformationRetrievalEvaluator), eval triplet (TripletEvaluator); see --help there",
                           opts, 2, 2, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    if (strcmp(pos[0], "sts")) {
        free(pos);
        return cli_usage_error(&spec, "eval sts FILE | eval ir ... | eval triplet FILE");
    }
    const char *path = pos[1];
    free(pos);
    if (format && parse_format(format, &d.format)) return cli_usage_error(&spec, "--format csv|tsv|jsonl");
    char *columns = cols ? strdup(cols) : NULL;
    if (columns) {
        if (split_columns(columns, &d) || d.n_text_cols != 2) {
            free(columns);
            return cli_usage_error(&spec, "--columns takes two columns");
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
