/* cmd_embed.c — `semsearch embed`: texts in, vectors out (JSONL, .npy, .fvecs). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"

static int write_npy_header(FILE *f, size_t n, int d) {
    char dict[128];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %d), }", n, d);
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(dict, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    return 0;
}

/* Index of the first NaN / Inf in v[0..n), or n. */
static size_t first_nonfinite(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return i;
    return n;
}

static void print_float_array(FILE *f, const float *v, int d) {
    fputc('[', f);
    for (int j = 0; j < d; j++) fprintf(f, j ? ", %.9g" : "%.9g", v[j]);
    fputc(']', f);
}

int cmd_embed(int argc, char **argv, const cli_globals *g) {
    (void)g;
    const char *model = NULL, *field = NULL, *format = "jsonl", *outpath = NULL;
    const char *prompt = NULL, *prompt_name = NULL, *precision = "float32", *output_value = "sentence_embedding";
    const char *compute = "fp32";
    int threads = 0, msl = 0;
    ss_encode_options eo = {0};
    const cli_opt opts[] = {
        {"model", 0, CLI_STRING, &model, "DIR", "model folder, or ORG/NAME cached by `semsearch pull` (default: bundled all-MiniLM-L6-v2)"},
        {"field", 0, CLI_STRING, &field, "NAME", "input is JSONL; embed the string field NAME"},
        {"format", 0, CLI_STRING, &format, "FMT", "output format: jsonl (default: one JSON array per line), npy or fvecs"},
        {"out", 'o', CLI_STRING, &outpath, "FILE", "write to FILE instead of stdout"},
        {"batch-size", 0, CLI_INT, &eo.batch_size, "N", "sentences per forward pass (default 32)"},
        {"threads", 0, CLI_INT, &threads, "N", "worker threads (default: all cores)", .hi = CLI_THREADS},
        {"max-seq-length", 0, CLI_INT, &msl, "N", "truncate inputs to N tokens (default: the model's)"},
        {"normalize", 0, CLI_SET, &eo.normalize, NULL, "L2-normalise outputs (normalize_embeddings=True)", .set = 1},
        {"no-normalize", 0, CLI_SET, &eo.normalize, NULL, "raw pooled output: skip the model's Normalize module", .set = -1},
        {"truncate-dim", 0, CLI_INT, &eo.truncate_dim, "N", "keep the first N dimensions (Matryoshka)"},
        {"precision", 0, CLI_STRING, &precision, "P", "float32|int8|uint8|binary|ubinary (JSONL output)"},
        {"compute", 0, CLI_STRING, &compute, "C", "encoder arithmetic: fp32 (default), int8 (int8 linear layers: faster, STSb Spearman within 0.2) or bf16 (bf16 linear layers, CPUs with AVX512_BF16: Spearman within 0.02)"},
        {"prompt", 0, CLI_STRING, &prompt, "TEXT", "prepend TEXT to every input"},
        {"prompt-name", 0, CLI_STRING, &prompt_name, "NAME", "prepend the model's prompt NAME (config_sentence_transformers.json)"},
        {"output-value", 0, CLI_STRING, &output_value, "V", "sentence_embedding (default) or token_embeddings (one JSON array of per-token vectors per line)"},
        {0}};
    const cli_spec spec = {"embed", "[options] [INPUT...]",
                           "  reads one text per line (or JSONL with --field) from each INPUT in order, or stdin", opts, 0, -1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    int prec = ss_precision_parse(precision);
    if (prec < 0) {
        free(pos);
        return cli_usage_error(&spec, "--precision must be float32, int8, uint8, binary or ubinary, not '%s'", precision);
    }
    int comp = ss_compute_parse(compute);
    if (comp < 0) {
        free(pos);
        return cli_usage_error(&spec, "--compute must be fp32, int8 or bf16, not '%s'", compute);
    }
    int tokens_out = !strcmp(output_value, "token_embeddings");
    if (!tokens_out && strcmp(output_value, "sentence_embedding") != 0) {
        free(pos);
        return cli_usage_error(&spec, "--output-value must be sentence_embedding or token_embeddings");
    }
    int fmt = !strcmp(format, "jsonl") ? 0 : !strcmp(format, "npy") ? 1 : !strcmp(format, "fvecs") ? 2 : -1;
    if (fmt < 0) {
        free(pos);
        return cli_usage_error(&spec, "--format must be jsonl, npy or fvecs, not '%s'", format);
    }
    if ((fmt != 0 && (prec != SS_PRECISION_FLOAT32 || tokens_out))) {
        free(pos);
        return cli_usage_error(&spec, "--precision and --output-value token_embeddings need --format jsonl");
    }
    cli_texts in;
    if (cli_read_texts_many((const char *const *)pos, np, field, &in) != 0) {
        free(pos);
        return 1;
    }
    free(pos);
    ss_model_options mo = {.n_threads = threads, .max_seq_length = msl, .compute = (ss_compute)comp};
    ss_model *m = cli_load_model_opts(model, &mo);
    if (!m) {
        cli_texts_free(&in);
        return 1;
    }
    int rc = 1;
    float *emb = NULL;
    void *q = NULL;
    cli_out o = {0};
    ss_error err;
    char where[512];
    if (prompt_name && !prompt) {
        /* Resolved by the library when the model has it; an unknown name is an error. */
        prompt = ss_model_prompt(m, prompt_name);
        if (!prompt) {
            fprintf(stderr, "semsearch embed: the model has no prompt named '%s'\n", prompt_name);
            goto done;
        }
    }
    eo.prompt = prompt;
    if (cli_out_open(&o, outpath, "embed") != 0) goto done;
    FILE *out = o.f;
    if (tokens_out) {
        int H = ss_model_hidden_size(m);
        for (size_t i = 0; i < in.n && !cli_out_failed(&o); i++) {
            int nt;
            float *te = ss_encode_tokens(m, in.texts[i], &eo, &nt, &err);
            if (!te) {
                fprintf(stderr, "semsearch embed: %s: %s\n", cli_where(&in, i, where, sizeof where), err.msg);
                goto done;
            }
            size_t bad = first_nonfinite(te, (size_t)nt * (size_t)H);
            if (bad < (size_t)nt * (size_t)H) {
                fprintf(stderr, "semsearch embed: %s: token %zu has a non-finite value (NaN or Inf); check the model's weights\n",
                        cli_where(&in, i, where, sizeof where), bad / (size_t)H);
                free(te);
                goto done;
            }
            fputc('[', out);
            for (int t = 0; t < nt; t++) {
                if (t) fputs(", ", out);
                print_float_array(out, te + (size_t)t * H, H);
            }
            fputs("]\n", out);
            free(te);
        }
        rc = 0;
        goto done;
    }
    int d = ss_encode_dim(m, &eo);
    emb = malloc((in.n ? in.n : 1) * (size_t)d * sizeof(float));
    if (!emb) {
        fprintf(stderr, "semsearch embed: out of memory for %zu vectors\n", in.n);
        goto done;
    }
    cli_progress prog;
    cli_progress_init(&prog, "embedding", in.n);
    eo.progress = cli_progress_cb;
    eo.progress_user = &prog;
    if (ss_encode(m, (const char *const *)in.texts, in.n, &eo, emb, &err) != SS_OK) {
        /* Messages start "text N: ..." — name the input file and line instead. */
        size_t idx;
        if (sscanf(err.msg, "text %zu:", &idx) == 1) {
            const char *rest = strchr(err.msg, ':');
            fprintf(stderr, "semsearch embed: %s:%s\n", cli_where(&in, idx, where, sizeof where), rest ? rest + 1 : err.msg);
        } else {
            fprintf(stderr, "semsearch embed: %s\n", err.msg);
        }
        goto done;
    }
    /* NaN / Inf are not JSON and poison every format: refuse them, naming the text. */
    size_t bad = first_nonfinite(emb, in.n * (size_t)d);
    if (bad < in.n * (size_t)d) {
        fprintf(stderr, "semsearch embed: %s: the model produced a non-finite value (NaN or Inf); check the model's weights\n",
                cli_where(&in, bad / (size_t)d, where, sizeof where));
        goto done;
    }
    if (fmt == 1) {
        write_npy_header(out, in.n, d);
        fwrite(emb, sizeof(float), in.n * (size_t)d, out);
    } else if (fmt == 2) {
        int32_t dd = d;
        for (size_t i = 0; i < in.n && !cli_out_failed(&o); i++) {
            fwrite(&dd, 4, 1, out);
            fwrite(emb + i * (size_t)d, sizeof(float), (size_t)d, out);
        }
    } else if (prec == SS_PRECISION_FLOAT32) {
        for (size_t i = 0; i < in.n && !cli_out_failed(&o); i++) {
            print_float_array(out, emb + i * (size_t)d, d);
            fputc('\n', out);
        }
    } else {
        size_t bpv = ss_quantized_size((ss_precision)prec, d);
        q = malloc((in.n ? in.n : 1) * bpv);
        if (!q || ss_quantize(emb, in.n, d, (ss_precision)prec, NULL, q, &err) != SS_OK) {
            fprintf(stderr, "semsearch embed: %s\n", q ? err.msg : "out of memory");
            goto done;
        }
        int is_signed = prec == SS_PRECISION_INT8 || prec == SS_PRECISION_BINARY;
        for (size_t i = 0; i < in.n && !cli_out_failed(&o); i++) {
            fputc('[', out);
            for (size_t j = 0; j < bpv; j++) {
                unsigned char byte = ((unsigned char *)q)[i * bpv + j];
                int v = is_signed ? (int)(signed char)byte : (int)byte;
                fprintf(out, j ? ", %d" : "%d", v);
            }
            fputs("]\n", out);
        }
    }
    rc = 0;
done:
    /* Publishes the output only when everything succeeded; else an earlier file stays. */
    if (cli_out_close(&o, rc == 0, "embed") != 0) rc = 1;
    free(q);
    free(emb);
    ss_model_free(m);
    cli_texts_free(&in);
    return rc;
}
