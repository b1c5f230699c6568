/* commands.h — the CLI's verbs. Each lives in tools/cmd_<verb>.c and defines
 * `int cmd_<verb>(int argc, char **argv, const cli_globals *g)` (argv[0] is
 * the verb); it parses its flags with cli_parse (tools/opts.h) and calls into
 * libsemsearch. main() in semsearch.c handles the global options and
 * dispatches. Adding a verb: one X(...) line below and its cmd_<verb>.c. */
#ifndef SS_TOOLS_COMMANDS_H
#define SS_TOOLS_COMMANDS_H

/* Options given before the verb: `semsearch [--data DIR] VERB ...`. */
typedef struct cli_globals {
    const char *data_dir; /* collections live here: --data, else $SEMSEARCH_DATA, else ./semsearch-data */
} cli_globals;

/* X(verb, "one-line summary"), in the order `semsearch --help` lists them. */
#define SS_VERBS(X)                                                                                          \
    X(embed, "embed texts (lines or JSONL) into JSONL / .npy / .fvecs vectors")                            \
    X(similarity, "print the cosine similarity matrix of the input texts")                                 \
    X(tokenize, "show token ids (and tokens) of each input line")                                          \
    X(demo, "embed a small corpus and answer a few queries (top-k search)")                                \
    X(pull, "download a model from the Hugging Face hub into the cache (resumable)")                       \
    X(models, "list cached models: dims, pooling, max_seq_length, size on disk")                          \
    X(index, "build / query a vector index (flat or HNSW; fp32, int8, binary) from .fvecs/.npy")

#define SS_DECLARE_VERB(verb, summary) int cmd_##verb(int argc, char **argv, const cli_globals *g);
SS_VERBS(SS_DECLARE_VERB)
#undef SS_DECLARE_VERB

#endif
