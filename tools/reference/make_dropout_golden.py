"""Golden for training with dropout ON (tests/train/test_dropout.c), the llm.c way with the SAME masks on
both sides: this script reimplements semsearch's mask generator (src/model/transformer.c: one xoshiro256**
stream per mask row, seeded by ss_tf_dropout_key(seed, site, layer, row) through splitmix64; kept when
uniform24 >= p) and replaces every nn.Dropout of the HF model with a module that multiplies by exactly those
masks (scaled by 1/(1-p)), at the places BertModel / MPNetModel apply dropout:
  site 0  embeddings.dropout                      rows: packed token t, [H]
  site 1  attention probabilities (self.dropout)  rows: sequence * heads + head, [L, L]
  site 2  attention output dropout                rows: packed token t, [H]
  site 3  FFN output dropout (output.dropout)     rows: packed token t, [H]
Then one MNRL step on the same 4 (anchor, positive) pairs as make_train_goldens.model_grads: the embeddings,
the loss and every parameter gradient (model.train() semantics, dropout p from config.json).

Run inside the reference venv:
    build/refvenv/bin/python tools/reference/make_dropout_golden.py
Writes tests/golden/train/{bert,mpnet}_dropout.bin (format: make_train_goldens.py).
"""
import os

import numpy as np
import torch
from torch import nn

from make_train_goldens import ANCHORS, POSITIVES, ROOT, Writer
from sentence_transformers import losses as st_losses
from sentence_transformers.SentenceTransformer import SentenceTransformer

M64 = (1 << 64) - 1
SEED = 1234  # the C test's drop_seed (train step range q0 = 0: no q0 term)


def splitmix64(x):
    """(new state, output) of splitmix64 on uint64 numpy arrays."""
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(M64)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


def rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


def masks(site, layer, rows, n, p):
    """[len(rows), n] uint8 masks, one xoshiro256** stream per row."""
    with np.errstate(over="ignore"):
        _, mixed = splitmix64(np.array([SEED], dtype=np.uint64))
        key = (mixed[0] ^ np.uint64(site << 56) ^ np.uint64(layer << 40)) ^ np.asarray(rows, dtype=np.uint64)
        s = []
        for _ in range(4):
            key, out = splitmix64(key)
            s.append(out)
        s0, s1, s2, s3 = s
        pf = float(np.float32(p))
        m = np.empty((len(rows), n), dtype=np.uint8)
        for i in range(n):
            out = rotl(s1 * np.uint64(5), 7) * np.uint64(9)
            t = s1 << np.uint64(17)
            s2 ^= s0
            s3 ^= s1
            s1 ^= s2
            s0 ^= s3
            s2 ^= t
            s3 = rotl(s3, 45)
            m[:, i] = ((out >> np.uint64(40)).astype(np.float64) / 16777216.0) >= pf
    return m


class MaskDrop(nn.Module):
    """Multiplies by the current column's precomputed mask times 1/(1-p) (float32, as the C code)."""

    def __init__(self, state, key, p):
        super().__init__()
        self.state, self.key = state, key
        self.keep = float(np.float32(1.0) / (np.float32(1.0) - np.float32(p)))

    def forward(self, x):
        m = self.state["masks"][self.state["col"]][self.key]
        assert m.shape == x.shape, (self.key, m.shape, x.shape)
        return x * m * self.keep


def make(name, fname):
    torch.manual_seed(3)
    w = Writer()
    path = os.path.join(ROOT, "tests", "models", name)
    model = SentenceTransformer(path, device="cpu")
    model.eval()  # the real Dropouts off; MaskDrop applies the C masks instead
    hf = model[0].auto_model
    cfg = hf.config
    ph, pa = cfg.hidden_dropout_prob, cfg.attention_probs_dropout_prob
    H, nh, nl = cfg.hidden_size, cfg.num_attention_heads, cfg.num_hidden_layers
    mpnet = cfg.model_type == "mpnet"
    cols = [ANCHORS, POSITIVES]
    feats = [model.tokenize(c) for c in cols]
    B = len(ANCHORS)
    lens = [f["attention_mask"].sum(1).tolist() for f in feats]
    seq_len = [lens[c][i] for c in range(2) for i in range(B)]  # packed sequence q = c*B + i
    off = np.concatenate([[0], np.cumsum(seq_len)]).astype(np.int64)
    T = int(off[-1])
    state = {"col": 0, "masks": []}
    n_dropped = 0
    hid = {0: masks(0, 0, range(T), H, ph)}
    for l in range(nl):
        hid[(2, l)] = masks(2, l, range(T), H, ph)
        hid[(3, l)] = masks(3, l, range(T), H, ph)
    att = {}
    for l in range(nl):
        for q in range(2 * B):
            L = seq_len[q]
            att[(l, q)] = masks(1, l, [q * nh + h for h in range(nh)], L * L, pa).reshape(nh, L, L)
    for c in range(2):
        Lp = feats[c]["input_ids"].shape[1]
        per = {}

        def padded_hidden(m):
            out = np.ones((B, Lp, H), dtype=np.float32)
            for i in range(B):
                q = c * B + i
                out[i, : seq_len[q]] = m[off[q]: off[q + 1]]
            return torch.from_numpy(out)

        per["emb"] = padded_hidden(hid[0])
        for l in range(nl):
            per[("ao", l)] = padded_hidden(hid[(2, l)])
            per[("fo", l)] = padded_hidden(hid[(3, l)])
            a = np.ones((B, nh, Lp, Lp), dtype=np.float32)
            for i in range(B):
                q = c * B + i
                L = seq_len[q]
                a[i, :, :L, :L] = att[(l, q)]
            per[("att", l)] = torch.from_numpy(a)
        state["masks"].append(per)
    n_dropped = int(sum((1 - m).sum() for m in hid.values()) + sum((1 - m).sum() for m in att.values()))
    hf.embeddings.dropout = MaskDrop(state, "emb", ph)
    for l, layer in enumerate(hf.encoder.layer):
        if mpnet:
            layer.attention.attn.dropout = MaskDrop(state, ("att", l), pa)
            layer.attention.dropout = MaskDrop(state, ("ao", l), ph)
        else:
            layer.attention.self.dropout = MaskDrop(state, ("att", l), pa)
            layer.attention.output.dropout = MaskDrop(state, ("ao", l), ph)
        layer.output.dropout = MaskDrop(state, ("fo", l), ph)
    # the loss calls the model once per column, in order
    model.register_forward_pre_hook(lambda mod, inp: state.__setitem__("col", state["ncall"] % 2)
                                    or state.__setitem__("ncall", state["ncall"] + 1))
    state["ncall"] = 0
    for i, f in enumerate(feats):
        w.add("col%d.input_ids" % i, f["input_ids"])
        w.add("col%d.attention_mask" % i, f["attention_mask"])
    with torch.no_grad():
        for i, f in enumerate(feats):
            w.add("col%d.embedding" % i, model(dict(f))["sentence_embedding"])
    loss_fn = st_losses.MultipleNegativesRankingLoss(model)
    loss = loss_fn([dict(f) for f in feats], torch.zeros(B))
    loss.backward()
    w.add("loss", loss.reshape(1))
    w.add("drop_seed_p", torch.tensor([float(SEED), ph, pa]))
    w.add("n_dropped", torch.tensor([n_dropped], dtype=torch.int32))
    ids = torch.unique(torch.cat([f["input_ids"].flatten() for f in feats]))
    w.add("word_rows", ids)
    for pname, prm in model.named_parameters():
        short = pname.split("auto_model.", 1)[1]
        g = prm.grad
        if g is None:
            continue
        if short.endswith("word_embeddings.weight"):
            g = g[ids]
        w.add("grad." + short, g)
    print(name, "loss with dropout", loss.item(), "masked elements", n_dropped)
    w.save(fname)


if __name__ == "__main__":
    make("bert-mean-normalize", "bert_dropout.bin")
    make("mpnet-mean-normalize", "mpnet_dropout.bin")
