/* hub_files.c — folder creation, atomic writes and sha256 (OpenSSL libcrypto)
 * for the hub client. */
#include "hub/hub_internal.h"
#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ss_status hub_mkdirs(const char *path, ss_error *err) {
    char buf[HUB_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return ss_fail(err, SS_ERR_INVALID, "bad folder path '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return ss_fail(err, SS_ERR_IO, "cannot create folder %s: %s", buf, strerror(errno));
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return ss_fail(err, SS_ERR_IO, "cannot create folder %s: a file is in the way", buf);
        buf[i] = c;
    }
    return SS_OK;
}

ss_status hub_mkdirs_parent(const char *file, ss_error *err) {
    char buf[HUB_PATH_MAX];
    size_t n = strlen(file);
    if (n >= sizeof buf) return ss_fail(err, SS_ERR_INVALID, "path too long: %s", file);
    memcpy(buf, file, n + 1);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) return SS_OK;
    *slash = '\0';
    return hub_mkdirs(buf, err);
}

int hub_is_sha256(const char *s) {
    if (!s || strlen(s) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

ss_status hub_sha256_file(const char *path, char hex[65], ss_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return ss_fail(err, SS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = malloc(1 << 16);
    if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        fclose(f);
        free(buf);
        EVP_MD_CTX_free(ctx);
        return ss_fail(err, SS_ERR_NOMEM, "cannot start sha256 of %s", path);
    }
    size_t got;
    int ok = 1;
    while ((got = fread(buf, 1, 1 << 16, f)) > 0)
        if (EVP_DigestUpdate(ctx, buf, got) != 1) ok = 0;
    int bad = ferror(f);
    fclose(f);
    free(buf);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) ok = 0;
    EVP_MD_CTX_free(ctx);
    if (bad) return ss_fail(err, SS_ERR_IO, "read error on %s", path);
    if (!ok) return ss_fail(err, SS_ERR_IO, "sha256 of %s failed", path);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return SS_OK;
}

int64_t hub_file_size(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    return (int64_t)st.st_size;
}

ss_status hub_write_atomic(const char *path, const char *text, ss_error *err) {
    char tmp[HUB_PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp) return ss_fail(err, SS_ERR_INVALID, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ss_fail(err, SS_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return ss_fail(err, SS_ERR_IO, "cannot write %s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return ss_fail(err, SS_ERR_IO, "cannot write %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ss_fail(err, SS_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return SS_OK;
}

const char *hub_human_size(uint64_t n, char *buf, size_t cap) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}
