"""Goldens for the training code (tests/train/*), the llm.c way: for fixed
seeds, dump the inputs, the outputs and the autograd gradients of PyTorch /
sentence-transformers 2.7.0, and let the C tests compare.

Run inside the reference venv:
    build/refvenv/bin/python tools/reference/make_train_goldens.py
Writes tests/golden/train/{kernels,losses,adamw}.bin.

File format (little endian), read by tests/train/golden.h:
    "SSTG" u32 version=1, u32 count, then per tensor:
    u32 name_len, name bytes, u32 dtype (0 f32, 1 i32), u32 ndim, u32 dims[ndim], data.
"""
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sentence_transformers import losses as st_losses
from sentence_transformers.models import Normalize, Pooling
from sentence_transformers.SentenceTransformer import SentenceTransformer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "golden", "train")


class Writer:
    def __init__(self):
        self.items = []

    def add(self, name, t):
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        if a.dtype.kind in "iub":
            a = a.astype("<i4")
            dt = 1
        else:
            a = a.astype("<f4")
            dt = 0
        self.items.append((name, dt, a))

    def save(self, fname):
        os.makedirs(OUT, exist_ok=True)
        path = os.path.join(OUT, fname)
        with open(path, "wb") as f:
            f.write(b"SSTG")
            f.write(struct.pack("<II", 1, len(self.items)))
            for name, dt, a in self.items:
                nb = name.encode()
                f.write(struct.pack("<I", len(nb)))
                f.write(nb)
                f.write(struct.pack("<II", dt, a.ndim))
                f.write(struct.pack("<%dI" % a.ndim, *a.shape))
                f.write(np.ascontiguousarray(a).tobytes())
        print("wrote", path, os.path.getsize(path), "bytes,", len(self.items), "tensors")


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_(True)


# ---------------------------------------------------------------------------------------------------------------
def kernels():
    torch.manual_seed(0)
    w = Writer()

    # LayerNorm with BERT's eps
    N, C = 6, 16
    x, g, b = leaf(N, C), leaf(C), leaf(C)
    dout = torch.randn(N, C)
    y = F.layer_norm(x, (C,), g, b, eps=1e-12)
    (y * dout).sum().backward()
    for n, t in [("ln.x", x), ("ln.w", g), ("ln.b", b), ("ln.dout", dout), ("ln.out", y), ("ln.dx", x.grad),
                 ("ln.dw", g.grad), ("ln.db", b.grad)]:
        w.add(n, t)

    # GELU, erf and tanh forms, over a wide range
    x = (torch.linspace(-6, 6, 97) + 0.01 * torch.randn(97)).requires_grad_(True)
    dout = torch.randn(97)
    (F.gelu(x) * dout).sum().backward()
    w.add("gelu.x", x)
    w.add("gelu.dout", dout)
    w.add("gelu.dx", x.grad)
    x2 = x.detach().clone().requires_grad_(True)
    (F.gelu(x2, approximate="tanh") * dout).sum().backward()
    w.add("gelu_tanh.dx", x2.grad)

    # softmax with scale and padding mask, the way HF BERT applies its extended mask
    R, n, scale = 4, 7, 0.125
    s = leaf(R, n, scale=3.0)
    mask = torch.ones(R, n, dtype=torch.int32)
    for r, L in enumerate([7, 5, 3, 1]):
        mask[r, L:] = 0
    ext = (1.0 - mask.float()) * torch.finfo(torch.float32).min
    p = torch.softmax(s * scale + ext, dim=-1)
    dp = torch.randn(R, n)
    (p * dp).sum().backward()
    for nm, t in [("sm.s", s), ("sm.mask", mask), ("sm.p", p), ("sm.dp", dp), ("sm.ds", s.grad)]:
        w.add(nm, t)
    w.add("sm.scale", torch.tensor([scale]))

    # multi-head attention over a padded batch (HF BertSelfAttention's arithmetic), plus an additive
    # per-(head, query, key) bias as MPNet's relative position bias
    B, Lm, nh, d = 3, 6, 2, 4
    H = nh * d
    lens = [6, 4, 2]
    q, k, v = leaf(B, Lm, H), leaf(B, Lm, H), leaf(B, Lm, H)
    bias = leaf(B, nh, Lm, Lm)
    am = torch.zeros(B, Lm, dtype=torch.int32)
    for i, L in enumerate(lens):
        am[i, :L] = 1
    ext = (1.0 - am.float())[:, None, None, :] * torch.finfo(torch.float32).min

    def heads(t):
        return t.view(B, Lm, nh, d).permute(0, 2, 1, 3)

    sc = heads(q) @ heads(k).transpose(-1, -2) / math.sqrt(d) + bias + ext
    P = torch.softmax(sc, dim=-1)
    ctx = (P @ heads(v)).permute(0, 2, 1, 3).reshape(B, Lm, H)
    dctx = torch.randn(B, Lm, H) * am[:, :, None].float()  # padded query rows carry no gradient
    (ctx * dctx).sum().backward()
    for nm, t in [("att.q", q), ("att.k", k), ("att.v", v), ("att.bias", bias), ("att.lens", torch.tensor(lens)),
                  ("att.p", P), ("att.ctx", ctx), ("att.dctx", dctx), ("att.dq", q.grad), ("att.dk", k.grad),
                  ("att.dv", v.grad), ("att.dbias", bias.grad)]:
        w.add(nm, t)

    # Linear
    m, kk, nn_ = 5, 7, 3
    x, W, bb = leaf(m, kk), leaf(nn_, kk), leaf(nn_)
    dout = torch.randn(m, nn_)
    (F.linear(x, W, bb) * dout).sum().backward()
    for nm, t in [("lin.x", x), ("lin.w", W), ("lin.b", bb), ("lin.dout", dout), ("lin.dx", x.grad),
                  ("lin.dw", W.grad), ("lin.db", bb.grad)]:
        w.add(nm, t)

    # Embedding (repeated ids sum)
    V, He = 10, 4
    table = leaf(V, He)
    ids = torch.tensor([3, 1, 3, 0, 9, 3, 1, 5, 5, 2, 7, 3])
    dout = torch.randn(len(ids), He)
    (F.embedding(ids, table) * dout).sum().backward()
    w.add("emb.ids", ids)
    w.add("emb.dout", dout)
    w.add("emb.dtable", table.grad)

    # Pooling: sentence-transformers' own module, all six modes at once over a padded batch
    B, Lm, Hp = 3, 5, 6
    lens = [5, 3, 1]
    h = leaf(B, Lm, Hp)
    am = torch.zeros(B, Lm, dtype=torch.int64)
    for i, L in enumerate(lens):
        am[i, :L] = 1
    pool = Pooling(Hp, pooling_mode_cls_token=True, pooling_mode_max_tokens=True, pooling_mode_mean_tokens=True,
                   pooling_mode_mean_sqrt_len_tokens=True, pooling_mode_weightedmean_tokens=True,
                   pooling_mode_lasttoken=True)
    # h * 1.0: a non-leaf, as a transformer output (Pooling writes -1e9 into it in place)
    out = pool({"token_embeddings": h * 1.0, "attention_mask": am})["sentence_embedding"]
    dout = torch.randn(*out.shape)
    (out * dout).sum().backward()
    for nm, t in [("pool.h", h), ("pool.lens", torch.tensor(lens)), ("pool.out", out), ("pool.dout", dout),
                  ("pool.dh", h.grad)]:
        w.add(nm, t)

    # Normalize (sentence-transformers' module = F.normalize(p=2, dim=1))
    x = leaf(4, 8)
    y = Normalize()({"sentence_embedding": x})["sentence_embedding"]
    dy = torch.randn(4, 8)
    (y * dy).sum().backward()
    w.add("norm.x", x)
    w.add("norm.dy", dy)
    w.add("norm.dx", x.grad)

    w.save("kernels.bin")


# ---------------------------------------------------------------------------------------------------------------
class FakeModel(nn.Module):
    """Stands in for a SentenceTransformer: a feature dict {"emb": tensor} "encodes" to that tensor, so the
    loss classes of sentence-transformers run their own code on given embeddings."""

    def forward(self, features):
        e = features["emb"]
        return {"sentence_embedding": e, "token_embeddings": e}


def run_loss(loss, embs, labels):
    # input_ids only for CachedMNRL, which sizes its mini-batches by it
    feats = [{"emb": e, "input_ids": torch.zeros(e.shape[0], 1, dtype=torch.long)} for e in embs]
    out = loss(feats, labels)
    out.backward()
    return out


def losses():
    torch.manual_seed(1)
    w = Writer()
    model = FakeModel()
    B, D = 4, 8

    def case(name, make_loss, n_cols, labels=None, scale=1.0, b=B):
        embs = [leaf(b, D, scale=scale) for _ in range(n_cols)]
        loss = make_loss()
        out = run_loss(loss, embs, labels if labels is not None else torch.zeros(b))
        w.add(name + ".loss", out.reshape(1))
        for i, e in enumerate(embs):
            w.add("%s.e%d" % (name, i), e)
            w.add("%s.g%d" % (name, i), e.grad)
        if labels is not None:
            w.add(name + ".labels", labels.float())

    case("mnrl", lambda: st_losses.MultipleNegativesRankingLoss(model), 2)
    case("mnrl3", lambda: st_losses.MultipleNegativesRankingLoss(model), 3)
    case("mnsrl", lambda: st_losses.MultipleNegativesSymmetricRankingLoss(model), 2)
    case("cosine", lambda: st_losses.CosineSimilarityLoss(model), 2, labels=torch.rand(B))
    case("contrastive", lambda: st_losses.ContrastiveLoss(model), 2, labels=torch.tensor([1, 0, 1, 0]))
    case("online", lambda: st_losses.OnlineContrastiveLoss(model), 2,
         labels=torch.tensor([1, 0, 1, 0, 0, 1, 0, 1]), b=8)
    # triplets: rows 0-1 have far negatives (hinge inactive), rows 2-3 near ones (active)
    a = torch.randn(B, D)
    p = a + 0.1 * torch.randn(B, D)
    n = torch.randn(B, D) * torch.tensor([4.0, 4.0, 0.3, 0.3])[:, None]
    embs = [t.clone().requires_grad_(True) for t in (a, p, n)]
    out = run_loss(st_losses.TripletLoss(model), embs, torch.zeros(B))
    w.add("triplet.loss", out.reshape(1))
    for i, e in enumerate(embs):
        w.add("triplet.e%d" % i, e)
        w.add("triplet.g%d" % i, e.grad)
    case("cosent", lambda: st_losses.CoSENTLoss(model), 2, labels=torch.tensor([0.1, 0.9, 0.4, 0.4]))
    # MSELoss: the embedding against given target embeddings (labels)
    tgt = torch.randn(B, D)
    e = leaf(B, D)
    out = run_loss(st_losses.MSELoss(model), [e], tgt)
    w.add("mse.loss", out.reshape(1))
    w.add("mse.e0", e)
    w.add("mse.g0", e.grad)
    w.add("mse.target", tgt)
    # the TransformerLearningProject seed's objective: nn.MSELoss between two trained embeddings
    e0, e1 = leaf(B, D), leaf(B, D)
    out = nn.MSELoss()(e0, e1)
    out.backward()
    w.add("msepair.loss", out.reshape(1))
    for i, e in enumerate([e0, e1]):
        w.add("msepair.e%d" % i, e)
        w.add("msepair.g%d" % i, e.grad)
    # Matryoshka around MNRL, dims 8/4/2 with weights 1/0.5/0.25
    case("matry", lambda: st_losses.MatryoshkaLoss(model, st_losses.MultipleNegativesRankingLoss(model), [8, 4, 2],
                                                   [1.0, 0.5, 0.25]), 2)
    # CachedMNRL (GradCache) with mini-batches of 2 over a batch of 6 with hard negatives: the same loss and
    # embedding gradients as MNRL
    case("cached", lambda: st_losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=2), 3, b=6)
    w.save("losses.bin")


# ---------------------------------------------------------------------------------------------------------------
def adamw():
    """10 steps of model.fit's optimiser on two small parameter tensors: torch.optim.AdamW with the no_decay
    groups, clip_grad_norm_(1.0), WarmupLinear from SentenceTransformer._get_scheduler; given gradients."""
    torch.manual_seed(2)
    w = Writer()
    n_dec, n_nod, steps, warm = 12, 5, 10, 3
    pd = nn.Parameter(torch.randn(n_dec))
    pn = nn.Parameter(torch.randn(n_nod))
    w.add("p0.decay", pd)
    w.add("p0.nodecay", pn)
    lr, wd = 1e-2, 0.01  # lr larger than fit's 2e-5 so that 10 steps move the parameters measurably
    opt = torch.optim.AdamW([{"params": [pd], "weight_decay": wd}, {"params": [pn], "weight_decay": 0.0}], lr=lr)
    sched = SentenceTransformer._get_scheduler(opt, scheduler="WarmupLinear", warmup_steps=warm, t_total=steps)
    for t in range(steps):
        sc = 2.0 if t % 2 == 0 else 0.05  # every other step the norm exceeds 1 and clipping acts
        pd.grad = torch.randn(n_dec) * sc
        pn.grad = torch.randn(n_nod) * sc
        w.add("g%d.decay" % t, pd.grad)
        w.add("g%d.nodecay" % t, pn.grad)
        w.add("lr%d" % t, torch.tensor([opt.param_groups[0]["lr"]]))
        norm = torch.nn.utils.clip_grad_norm_([pd, pn], 1.0)
        w.add("norm%d" % t, norm.reshape(1))
        opt.step()
        opt.zero_grad()
        sched.step()
        w.add("p%d.decay" % (t + 1), pd)
        w.add("p%d.nodecay" % (t + 1), pn)
    w.add("hyper", torch.tensor([lr, wd, 0.9, 0.999, 1e-8, float(warm), float(steps), 1.0]))
    w.save("adamw.bin")


# ---------------------------------------------------------------------------------------------------------------
ANCHORS = ["how do plants make food", "what is the capital of france?",
           "Fine-tuning a sentence model in C, without PyTorch.", "cats"]
POSITIVES = ["Photosynthesis turns light, water and carbon dioxide into sugar.", "Paris",
             "semsearch trains BERT-style encoders on two CPU cores", "A small domesticated carnivorous mammal."]


def model_grads(name, fname, loss_name="mnrl", steps=10, lr=1e-3, warm=2, sample=0):
    """The full model, llm.c's test_gpt2 way: one batch, dropout off (eval mode), the loss and every parameter
    gradient; then `steps` of fit's optimiser (AdamW with no_decay groups, clip 1.0, WarmupLinear) on the same
    batch, with the loss before each step. The word-embedding gradient is stored only for the rows the batch
    uses (all others are zero) to keep the file small."""
    torch.manual_seed(3)
    w = Writer()
    path = os.path.join(ROOT, "tests", "models", name)
    if not os.path.isdir(path):
        path = os.path.join(ROOT, "models", name)
    model = SentenceTransformer(path, device="cpu")
    model.eval()
    cols = [ANCHORS, POSITIVES]
    feats = [model.tokenize(c) for c in cols]
    for i, f in enumerate(feats):
        w.add("col%d.input_ids" % i, f["input_ids"])
        w.add("col%d.attention_mask" % i, f["attention_mask"])
    if loss_name == "mnrl":
        loss_fn = st_losses.MultipleNegativesRankingLoss(model)
        labels = torch.zeros(len(ANCHORS))
    else:
        loss_fn = st_losses.CosineSimilarityLoss(model)
        labels = torch.tensor([0.9, 0.8, 0.7, 0.1])
        w.add("labels", labels)
    with torch.no_grad():
        for i, f in enumerate(feats):
            w.add("col%d.embedding" % i, model(dict(f))["sentence_embedding"])
    loss = loss_fn([dict(f) for f in feats], labels)
    loss.backward()
    w.add("loss", loss.reshape(1))
    ids = torch.unique(torch.cat([f["input_ids"].flatten() for f in feats]))
    w.add("word_rows", ids)
    names = []
    for pname, prm in model.named_parameters():
        short = pname.split("auto_model.", 1)[1]
        g = prm.grad
        if g is None:  # the HF pooler: not part of a sentence embedding (AdamW skips it too)
            continue
        names.append(short)
        if short.endswith("word_embeddings.weight"):
            assert torch.count_nonzero(g.abs().sum(1)) <= len(ids)
            g = g[ids]
        if sample:  # a big model: the tensor's norm and `sample` elements at fixed pseudo-random positions
            flat = g.flatten()
            idx = (torch.arange(sample, dtype=torch.int64) * 2654435761) % flat.numel()
            w.add("gidx." + short, idx)
            w.add("gnorm." + short, torch.linalg.norm(flat).reshape(1))
            g = flat[idx]
        w.add("grad." + short, g)
    # the optimiser: model.fit's groups
    no_decay = ["bias", "LayerNorm.bias", "LayerNorm.weight"]
    params = list(model.named_parameters())
    groups = [{"params": [p for n, p in params if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
              {"params": [p for n, p in params if any(nd in n for nd in no_decay)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=lr)
    sched = SentenceTransformer._get_scheduler(opt, scheduler="WarmupLinear", warmup_steps=warm, t_total=steps)
    model.zero_grad()
    step_losses = []
    for t in range(steps):
        loss = loss_fn([dict(f) for f in feats], labels)
        step_losses.append(loss.item())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        sched.step()
    w.add("step_losses", torch.tensor(step_losses))
    w.add("hyper", torch.tensor([lr, float(warm), float(steps)]))
    print(name, loss_name, "loss", step_losses[0], "->", step_losses[-1], "params", len(names))
    w.save(fname)


if __name__ == "__main__":
    kernels()
    losses()
    adamw()
    model_grads("bert-mean-normalize", "bert_mnrl.bin", "mnrl")
    model_grads("bert-mean-normalize", "bert_cosine.bin", "cosine")
    model_grads("mpnet-mean-normalize", "mpnet_mnrl.bin", "mnrl")
    # the real all-MiniLM-L6-v2 (models/ symlink): sampled gradients, fit's lr 2e-5
    model_grads("all-MiniLM-L6-v2", "minilm_mnrl.bin", "mnrl", lr=2e-5, warm=2, sample=256)
