/* cmd_pull.c — `semsearch pull ORG/NAME`: download a sentence-transformers
 * model from the Hugging Face hub into the cache; prints the folder's path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "opts.h"
#include "semsearch.h"

typedef struct bar {
    char file[256];
    double start, last;
    int open; /* a line is drawn and not yet ended */
    int done; /* the current file's bar reached 100% */
} bar;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void human(double n, char *buf, size_t cap) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (n >= 1024 && u < 4) {
        n /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", n, units[u]);
}

static void draw(void *user, const char *file, uint64_t done, uint64_t total) {
    bar *b = user;
    double t = now_s();
    if (strcmp(b->file, file)) {
        if (b->open) fputc('\n', stderr);
        snprintf(b->file, sizeof b->file, "%s", file);
        b->start = t;
        b->last = 0;
        b->open = 0;
        b->done = 0;
    }
    if (b->done) return;
    int finished = total > 0 && done >= total;
    if (!finished && t - b->last < 0.1) return;
    b->last = t;
    char d[32], tot[32], rate[32];
    human((double)done, d, sizeof d);
    double secs = t - b->start;
    rate[0] = '\0';
    if (secs >= 0.25) {
        human((double)done / secs, rate, sizeof rate - 2);
        strcat(rate, "/s");
    }
    if (total > 0) {
        human((double)total, tot, sizeof tot);
        int width = 24, fill = (int)((double)done / (double)total * width);
        if (fill > width) fill = width;
        char cells[32];
        for (int i = 0; i < width; i++) cells[i] = i < fill ? '#' : '-';
        cells[width] = '\0';
        fprintf(stderr, "\r  %-34.34s [%s] %3d%%  %s / %s  %s\033[K", file, cells,
                (int)(100.0 * (double)done / (double)total), d, tot, rate);
    } else {
        fprintf(stderr, "\r  %-34.34s %s  %s\033[K", file, d, rate);
    }
    b->open = 1;
    if (finished) {
        fputc('\n', stderr);
        b->open = 0;
        b->done = 1;
    }
    fflush(stderr);
}

int cmd_pull(int argc, char **argv, const cli_globals *g) {
    (void)g;
    ss_hub_options o;
    memset(&o, 0, sizeof o);
    int quiet = 0;
    const cli_opt opts[] = {
        {"revision", 0, CLI_STRING, &o.revision, "REV", "branch, tag or commit (default: main)"},
        {"offline", 0, CLI_FLAG, &o.offline, NULL, "no network: succeed only if the model is fully cached"},
        {"cache", 0, CLI_STRING, &o.cache_dir, "DIR", "cache folder (default: $HF_HOME/semsearch/models)"},
        {"endpoint", 0, CLI_STRING, &o.endpoint, "URL", "hub address (default: $HF_ENDPOINT, else https://huggingface.co)"},
        {"quiet", 'q', CLI_FLAG, &quiet, NULL, "no progress bar"},
        {0}};
    const cli_spec spec = {"pull", "ORG/NAME [options]",
                           "  downloads a sentence-transformers model from the Hugging Face hub into the cache\n"
                           "  (resuming partial downloads, checking sizes and sha256) and prints its folder",
                           opts, 1, 1,
                           "environment: HF_ENDPOINT, HF_HOME (default ~/.cache/huggingface), HF_TOKEN (gated or\n"
                           "  private repositories), HF_HUB_OFFLINE=1 (same as --offline)"};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    const char *repo = pos[0];
    free(pos);
    bar b;
    memset(&b, 0, sizeof b);
    if (!quiet && isatty(STDERR_FILENO)) {
        o.progress = draw;
        o.progress_user = &b;
    }
    char dir[4096];
    ss_error err;
    ss_status st = ss_hub_pull(repo, &o, dir, sizeof dir, &err);
    if (b.open) fputc('\n', stderr);
    if (st != SS_OK) {
        fprintf(stderr, "semsearch pull: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", dir);
    return 0;
}
