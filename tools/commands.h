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
    X(index, "build / query a vector index (flat or HNSW; fp32, int8, binary) from .fvecs/.npy")             \
    X(serve, "HTTP server: Elasticsearch-compatible API + embedding endpoints (TEI, OpenAI), dynamic batching")     \
    X(add, "add JSONL / CSV / TSV / text documents to a collection (created on first use)")                 \
    X(search, "search a collection: vector (default), bm25, hybrid; --where filters; --json")               \
    X(similar, "documents most similar to a given document (itself excluded)")                              \
    X(delete, "delete documents from a collection by id")                                                   \
    X(query, "many queries against a collection at once (--queries FILE)")                                  \
    X(analyze, "print the BM25 analyzer's tokens (standard, english) of each input line")                   \
    X(shell, "interactive search prompt over a collection (libedit)")                                       \
    X(eval_ir, "BEIR evaluation of a collection: nDCG@10, MRR@10, MAP@100, recall@k (pytrec_eval definitions)") \
    X(train, "fine-tune a model on CSV/TSV/JSONL pairs or triplets (MNRL, cosine, contrastive, ...)")      \
    X(push, "send a collection's documents and vectors to an Elasticsearch-compatible _bulk endpoint (resumable)") \
    X(eval, "eval sts FILE: Spearman / Pearson x100 of cosine vs gold scores")

#define SS_DECLARE_VERB(verb, summary) int cmd_##verb(int argc, char **argv, const cli_globals *g);
SS_VERBS(SS_DECLARE_VERB)
#undef SS_DECLARE_VERB

#endif
