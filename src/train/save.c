/* save.c — see save.h. */
#include "train/save.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/fileio.h"
#include "model/safetensors.h"

/* ---- the tensors under their checkpoint names ------------------------------- */

typedef struct {
    char name[96];
    const float *data; /* contiguous */
    int ndim;
    int64_t shape[2];
} out_tensor;

/* HF BertModel / MPNetModel names of the flat layout's slices, in the
 * checkpoint's usual order. Returns the count (cap: 16 + 16 per layer). */
static int tensor_list(const ss_transformer *tf, out_tensor *o) {
    const ss_tf_config *c = &tf->cfg;
    const int H = c->hidden, I = c->intermediate, mp = c->arch == SS_ARCH_MPNET;
    const ss_tf_params *w = &tf->w;
    int n = 0;
#define ADD(nm, ptr, nd, d0, d1)                                                                          \
    do {                                                                                                  \
        snprintf(o[n].name, sizeof o[n].name, "%s", nm);                                                  \
        o[n].data = (ptr), o[n].ndim = (nd), o[n].shape[0] = (d0), o[n].shape[1] = (d1);                  \
        n++;                                                                                              \
    } while (0)
    ADD("embeddings.word_embeddings.weight", w->word_emb, 2, c->vocab_size, H);
    ADD("embeddings.position_embeddings.weight", w->pos_emb, 2, c->max_position, H);
    if (w->type_emb) ADD("embeddings.token_type_embeddings.weight", w->type_emb, 2, c->type_vocab, H);
    ADD("embeddings.LayerNorm.weight", w->emb_ln_g, 1, H, 0);
    ADD("embeddings.LayerNorm.bias", w->emb_ln_b, 1, H, 0);
    static const char *const qkv[2][3] = {{"attention.self.query", "attention.self.key", "attention.self.value"},
                                          {"attention.attn.q", "attention.attn.k", "attention.attn.v"}};
    char nm[96];
    for (int l = 0; l < c->layers; l++) {
        ss_tf_layer ly = ss_tf_layer_of(c, w, l);
        for (int k = 0; k < 3; k++) {
            snprintf(nm, sizeof nm, "encoder.layer.%d.%s.weight", l, qkv[mp][k]);
            ADD(nm, ly.qkv_w + (size_t)k * H * H, 2, H, H);
            snprintf(nm, sizeof nm, "encoder.layer.%d.%s.bias", l, qkv[mp][k]);
            ADD(nm, ly.qkv_b + (size_t)k * H, 1, H, 0);
        }
        const char *o_w = mp ? "attention.attn.o" : "attention.output.dense";
        const char *ln1 = mp ? "attention.LayerNorm" : "attention.output.LayerNorm";
        snprintf(nm, sizeof nm, "encoder.layer.%d.%s.weight", l, o_w);
        ADD(nm, ly.attn_out_w, 2, H, H);
        snprintf(nm, sizeof nm, "encoder.layer.%d.%s.bias", l, o_w);
        ADD(nm, ly.attn_out_b, 1, H, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.%s.weight", l, ln1);
        ADD(nm, ly.ln1_g, 1, H, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.%s.bias", l, ln1);
        ADD(nm, ly.ln1_b, 1, H, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.intermediate.dense.weight", l);
        ADD(nm, ly.ffn_in_w, 2, I, H);
        snprintf(nm, sizeof nm, "encoder.layer.%d.intermediate.dense.bias", l);
        ADD(nm, ly.ffn_in_b, 1, I, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.dense.weight", l);
        ADD(nm, ly.ffn_out_w, 2, H, I);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.dense.bias", l);
        ADD(nm, ly.ffn_out_b, 1, H, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.LayerNorm.weight", l);
        ADD(nm, ly.ln2_g, 1, H, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.LayerNorm.bias", l);
        ADD(nm, ly.ln2_b, 1, H, 0);
    }
    if (w->rel_bias) ADD("encoder.relative_attention_bias.weight", w->rel_bias, 2, c->rel_buckets, c->heads);
#undef ADD
    return n;
}

static size_t numel(const out_tensor *t) { return (size_t)t->shape[0] * (t->ndim == 2 ? (size_t)t->shape[1] : 1); }

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += k, n -= (size_t)k;
    }
    return 0;
}

ss_status ss_train_write_safetensors(const ss_transformer *tf, const char *path, const char *base_weights,
                                     ss_error *err) {
    int cap = 16 + 16 * tf->cfg.layers + 4;
    out_tensor *t = calloc((size_t)cap, sizeof *t);
    float *pooler[2] = {NULL, NULL};
    ss_safetensors base = {0};
    int have_base = 0;
    if (!t) return ss_fail(err, SS_ERR_NOMEM, "saving %s: out of memory", path);
    int n = tensor_list(tf, t);
    /* the HF pooler (not part of a sentence embedding) is kept so that loading does not warn */
    if (base_weights && ss_path_exists(base_weights) && ss_st_open(&base, base_weights, NULL) == SS_OK) {
        have_base = 1;
        static const char *const pre[] = {"", "bert.", "mpnet.", "model."};
        for (int p = 0; p < 4; p++) {
            char wn[64], bn[64];
            snprintf(wn, sizeof wn, "%spooler.dense.weight", pre[p]);
            snprintf(bn, sizeof bn, "%spooler.dense.bias", pre[p]);
            int64_t H = tf->cfg.hidden, shw[2] = {H, H}, shb[1] = {H};
            if (ss_st_find(&base, wn) && ss_st_find(&base, bn)) {
                pooler[0] = ss_st_read_f32(&base, wn, 2, shw, NULL);
                pooler[1] = ss_st_read_f32(&base, bn, 1, shb, NULL);
                if (pooler[0] && pooler[1]) {
                    snprintf(t[n].name, sizeof t[n].name, "pooler.dense.weight");
                    t[n].data = pooler[0], t[n].ndim = 2, t[n].shape[0] = H, t[n].shape[1] = H, n++;
                    snprintf(t[n].name, sizeof t[n].name, "pooler.dense.bias");
                    t[n].data = pooler[1], t[n].ndim = 1, t[n].shape[0] = H, n++;
                }
                break;
            }
        }
    }
    cJSON *hdr = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(hdr, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(hdr, t[i].name);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t[i].ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].shape[d]));
        cJSON *of = cJSON_AddArrayToObject(e, "data_offsets");
        size_t nb = numel(&t[i]) * sizeof(float);
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + nb)));
        off += nb;
    }
    char *js = cJSON_PrintUnformatted(hdr);
    cJSON_Delete(hdr);
    ss_status st = SS_OK;
    int fd = -1;
    if (!js) {
        st = ss_fail(err, SS_ERR_NOMEM, "saving %s: out of memory", path);
        goto done;
    }
    size_t hl = strlen(js), padded = (hl + 7) / 8 * 8; /* the data region 8-byte aligned */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        st = ss_fail(err, SS_ERR_IO, "saving %s: %s", path, strerror(errno));
        goto done;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int bad = write_all(fd, len8, 8) || write_all(fd, js, hl) || write_all(fd, "        ", padded - hl);
    for (int i = 0; i < n && !bad; i++) bad = write_all(fd, t[i].data, numel(&t[i]) * sizeof(float));
    if (bad || fsync(fd) != 0) st = ss_fail(err, SS_ERR_IO, "saving %s: %s", path, strerror(errno));
    if (close(fd) != 0 && st == SS_OK) st = ss_fail(err, SS_ERR_IO, "saving %s: %s", path, strerror(errno));
done:
    free(js);
    free(pooler[0]), free(pooler[1]);
    if (have_base) ss_st_close(&base);
    free(t);
    return st;
}

/* ---- the folder ------------------------------------------------------------------ */

static int is_weight_file(const char *name) {
    static const char *const skip[] = {"model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack",
                                       "rust_model.ot", "model.onnx", "onnx", "openvino", ".git", ".cache"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (!strcmp(name, skip[i])) return 1;
    size_t n = strlen(name);
    return n > 4 && (!strcmp(name + n - 4, ".bin") || !strcmp(name + n - 3, ".h5") || !strcmp(name + n - 5, ".onnx"));
}

static ss_status copy_file(const char *src, const char *dst, ss_error *err) {
    size_t len;
    char *buf = ss_read_file(src, &len, err);
    if (!buf) return err ? err->code : SS_ERR_IO;
    int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ss_status st = SS_OK;
    if (fd < 0 || write_all(fd, buf, len) || fsync(fd)) st = ss_fail(err, SS_ERR_IO, "copying %s to %s: %s", src, dst, strerror(errno));
    if (fd >= 0) close(fd);
    free(buf);
    return st;
}

/* Copy dir's files (following symlinks) and subfolders, weights left out. */
static ss_status copy_tree(const char *src, const char *dst, int depth, ss_error *err) {
    if (depth > 4) return SS_OK;
    DIR *d = opendir(src);
    if (!d) return ss_fail(err, SS_ERR_IO, "reading folder %s: %s", src, strerror(errno));
    struct dirent *e;
    ss_status st = SS_OK;
    while (st == SS_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.' || is_weight_file(e->d_name)) continue;
        char s[4096], t[4096];
        ss_path_join(s, sizeof s, src, e->d_name);
        ss_path_join(t, sizeof t, dst, e->d_name);
        struct stat sb;
        if (stat(s, &sb) != 0) continue; /* a dangling link */
        if (S_ISDIR(sb.st_mode)) {
            if (mkdir(t, 0755) != 0 && errno != EEXIST) st = ss_fail(err, SS_ERR_IO, "creating %s: %s", t, strerror(errno));
            else st = copy_tree(s, t, depth + 1, err);
        } else if (S_ISREG(sb.st_mode)) {
            st = copy_file(s, t, err);
        }
    }
    closedir(d);
    return st;
}

static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[4096];
            ss_path_join(p, sizeof p, path, e->d_name);
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) remove_tree(p);
            else unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

static void fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

ss_status ss_train_save(const ss_transformer *tf, const char *base_dir, const char *out_dir, ss_error *err) {
    char tmp[4096], old[4096], p[4096], bw[4096];
    size_t ol = strlen(out_dir);
    while (ol > 1 && out_dir[ol - 1] == '/') ol--;
    snprintf(tmp, sizeof tmp, "%.*s.tmp-%d", (int)ol, out_dir, (int)getpid());
    snprintf(old, sizeof old, "%.*s.old-%d", (int)ol, out_dir, (int)getpid());
    remove_tree(tmp);
    if (mkdir(tmp, 0755) != 0) return ss_fail(err, SS_ERR_IO, "creating %s: %s", tmp, strerror(errno));
    ss_status st = copy_tree(base_dir, tmp, 0, err);
    if (st == SS_OK)
        st = ss_train_write_safetensors(tf, ss_path_join(p, sizeof p, tmp, "model.safetensors"),
                                        ss_path_join(bw, sizeof bw, base_dir, "model.safetensors"), err);
    if (st != SS_OK) {
        remove_tree(tmp);
        return st;
    }
    fsync_dir(tmp);
    char out[4096];
    snprintf(out, sizeof out, "%.*s", (int)ol, out_dir);
    int had_old = ss_path_exists(out);
    if (had_old && rename(out, old) != 0) {
        st = ss_fail(err, SS_ERR_IO, "replacing %s: %s", out, strerror(errno));
        remove_tree(tmp);
        return st;
    }
    if (rename(tmp, out) != 0) {
        st = ss_fail(err, SS_ERR_IO, "renaming %s to %s: %s", tmp, out, strerror(errno));
        if (had_old) rename(old, out);
        remove_tree(tmp);
        return st;
    }
    if (had_old) remove_tree(old);
    /* the parent folder records the rename */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", out);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) *slash = 0;
    else snprintf(parent, sizeof parent, "%s", slash ? "/" : ".");
    fsync_dir(parent);
    return SS_OK;
}
