/* outfile.c — output files that are replaced atomically: an error half-way
 * (a bad input line, a full disk) never destroys a good earlier output. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_out_open(cli_out *o, const char *path, const char *verb) {
    memset(o, 0, sizeof *o);
    if (!path || !strcmp(path, "-")) {
        o->f = stdout;
        return 0;
    }
    o->path = path;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "semsearch %s: --out %s is a directory\n", verb, path);
            return -1;
        }
        o->f = fopen(path, "wb"); /* a device or FIFO: nothing to replace */
        if (!o->f) fprintf(stderr, "semsearch %s: cannot write %s: %s\n", verb, path, strerror(errno));
        return o->f ? 0 : -1;
    }
    /* The temp file goes next to the real target, so that rename() is atomic
     * (a symlink's target, not the link, is replaced). */
    char *target = realpath(path, NULL);
    const char *base = target ? target : path;
    size_t n = strlen(base) + 32;
    o->tmp = malloc(n);
    if (!o->tmp) {
        free(target);
        fprintf(stderr, "semsearch %s: out of memory\n", verb);
        return -1;
    }
    snprintf(o->tmp, n, "%s.tmp-XXXXXX", base);
    free(target);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        fprintf(stderr, "semsearch %s: cannot create a temp file next to %s: %s\n", verb, path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "wb"))) {
        fprintf(stderr, "semsearch %s: cannot write %s: %s\n", verb, o->tmp, strerror(errno));
        close(fd);
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    return 0;
}

int cli_out_failed(const cli_out *o) { return o->f && ferror(o->f); }

int cli_out_close(cli_out *o, int ok, const char *verb) {
    if (!o->f) return ok ? 1 : 0;
    const char *name = o->path ? o->path : "standard output";
    int err = 0;
    if (ok) {
        errno = 0;
        if (fflush(o->f) != 0) err = errno ? errno : EIO;
        else if (ferror(o->f)) err = EIO; /* an earlier write failed */
        else if (o->tmp && fsync(fileno(o->f)) != 0) err = errno;
    }
    if (o->f != stdout) {
        if (fclose(o->f) != 0 && ok && !err) err = errno ? errno : EIO;
    }
    o->f = NULL;
    if (ok && !err && o->tmp) {
        size_t n = strlen(o->tmp) - strlen(".tmp-XXXXXX"); /* the real target's path */
        char *dest = strndup(o->tmp, n);
        if (!dest || rename(o->tmp, dest) != 0) err = dest ? errno : ENOMEM;
        free(dest);
    }
    int replaced = o->tmp != NULL;
    if (o->tmp && (!ok || err)) unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    if (ok && err) {
        fprintf(stderr, "semsearch %s: error writing %s: %s%s\n", verb, name, strerror(err),
                replaced ? " (the earlier file, if any, is unchanged)" : "");
        return 1;
    }
    return ok ? 0 : 1;
}
