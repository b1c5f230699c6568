/* util.c — the per-process temp folder of the fuzz harnesses. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Process-wide by necessity: libFuzzer calls LLVMFuzzerTestOneInput with no
 * user pointer, and the folder has to outlive each call. */
static char g_dir[4096];
static char g_path[4096 + 256];

static void rm_tree(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[8192];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            struct stat sb;
            if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) rm_tree(sub);
            else unlink(sub);
        }
        closedir(d);
        rmdir(path);
    }
}

static void cleanup(void) {
    if (g_dir[0]) rm_tree(g_dir);
    g_dir[0] = 0;
}

const char *fz_dir(void) {
    if (!g_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(g_dir, sizeof g_dir, "%s/semsearch-fuzz.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(g_dir)) {
            fprintf(stderr, "fuzz: cannot create %s: %s\n", g_dir, strerror(errno));
            abort();
        }
        atexit(cleanup); /* a crash skips this: fuzz/run.sh removes its TMPDIR after the run */
    }
    return g_dir;
}

const char *fz_path(const char *name) {
    snprintf(g_path, sizeof g_path, "%s/%s", fz_dir(), name);
    return g_path;
}

void fz_write(const char *name, const void *data, size_t n) {
    const char *p = fz_path(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "fuzz: cannot create %s: %s\n", p, strerror(errno));
        abort();
    }
    const char *c = data;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fprintf(stderr, "fuzz: writing %s: %s\n", p, strerror(errno));
            abort();
        }
        c += w, n -= (size_t)w;
    }
    close(fd);
}

void fz_unlink(const char *name) { unlink(fz_path(name)); }

void fz_rmtree(const char *name) { rm_tree(fz_path(name)); }

void fz_mkdir(const char *name) {
    const char *p = fz_path(name);
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "fuzz: mkdir %s: %s\n", p, strerror(errno));
        abort();
    }
}

void *fz_slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz: cannot open %s: %s (missing prerequisite)\n", path, strerror(errno));
        abort();
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "fuzz: cannot read %s\n", path);
        abort();
    }
    buf[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return buf;
}

uint32_t fz_crc32c(const uint8_t *p, size_t n) {
    uint32_t crc = ~0u;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}
