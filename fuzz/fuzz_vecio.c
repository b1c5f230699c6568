/* fuzz_vecio.c — the CLI's vector readers (.npy, .fvecs, .jsonl / .json, and
 * the sniffing of an unknown extension): the input is written once and read
 * through a name with each extension (symlinks to the one file). Expected: a
 * clear error, or n*d floats (d > 0) that can all be read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "semsearch.h"
#include "vecio.h"

static const char *const names[] = {"v.npy", "v.fvecs", "v.jsonl", "v.json", "v.dat"};
#define NNAMES (sizeof names / sizeof names[0])

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_write("v.bin", "", 0);
    for (size_t i = 0; i < NNAMES; i++) {
        char target[4096];
        snprintf(target, sizeof target, "%s", fz_path("v.bin"));
        if (symlink(target, fz_path(names[i])) != 0) abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write("v.bin", data, size);
    for (size_t i = 0; i < NNAMES; i++) {
        size_t n = 0;
        int d = 0;
        ss_error err;
        float *v = ss_read_vectors(fz_path(names[i]), &n, &d, &err);
        if (!v) continue;
        if (d <= 0) { /* n == 0 is an empty array: allowed (.npy shape (0, d)) */
            fprintf(stderr, "fuzz_vecio: %s: accepted %zu vectors of dim %d\n", names[i], n, d);
            abort();
        }
        volatile float sink = 0;
        for (size_t k = 0; k < n * (size_t)d; k++) sink += v[k]; /* every float must be readable */
        (void)sink;
        free(v);
    }
    return 0;
}
