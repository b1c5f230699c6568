"""Goldens for MSE training (tests/train/test_mse.c): one step on a fixed batch, the loss and every parameter gradient
of the student, dropout off (as make_train_goldens.model_grads), for
  mse_teacher.bin  sentence-transformers' MSELoss to a teacher's embeddings (model distillation / the multilingual
                   ParallelSentencesDataset form): the teacher (tests/models/mpnet-mean-normalize) embeds the source
                   sentences; the student (tests/models/bert-mean-normalize) embeds sources AND targets, both pulled
                   to the teacher's embedding of the source: one MSELoss batch of 2B sentences.
  mse_pair.bin     the TransformerLearningProject seed's embedding-to-embedding form: MSE(model(query),
                   model(description)), both sides trained.

Run inside the reference venv:
    build/refvenv/bin/python tools/reference/make_mse_golden.py
"""
import os

import torch

from make_train_goldens import ANCHORS, POSITIVES, ROOT, Writer
from sentence_transformers import losses as st_losses
from sentence_transformers.SentenceTransformer import SentenceTransformer


def dump_grads(w, model, ids):
    n = 0
    for pname, prm in model.named_parameters():
        short = pname.split("auto_model.", 1)[1]
        g = prm.grad
        if g is None:
            continue
        if short.endswith("word_embeddings.weight"):
            g = g[ids]
        w.add("grad." + short, g)
        n += 1
    return n


def teacher():
    torch.manual_seed(3)
    w = Writer()
    student = SentenceTransformer(os.path.join(ROOT, "tests", "models", "bert-mean-normalize"), device="cpu")
    teach = SentenceTransformer(os.path.join(ROOT, "tests", "models", "mpnet-mean-normalize"), device="cpu")
    student.eval()
    target = torch.tensor(teach.encode(ANCHORS))  # what the trainer's teacher pass computes
    texts = ANCHORS + POSITIVES
    labels = torch.cat([target, target])
    f = student.tokenize(texts)
    for i, cols in enumerate([ANCHORS, POSITIVES]):
        g = student.tokenize(cols)
        w.add("col%d.input_ids" % i, g["input_ids"])
        w.add("col%d.attention_mask" % i, g["attention_mask"])
    w.add("teacher", target)
    loss = st_losses.MSELoss(student)([dict(f)], labels)
    loss.backward()
    w.add("loss", loss.reshape(1))
    ids = torch.unique(f["input_ids"].flatten())
    w.add("word_rows", ids)
    n = dump_grads(w, student, ids)
    print("mse to teacher: loss", loss.item(), n, "tensors")
    w.save("mse_teacher.bin")


def pair():
    torch.manual_seed(3)
    w = Writer()
    model = SentenceTransformer(os.path.join(ROOT, "tests", "models", "bert-mean-normalize"), device="cpu")
    model.eval()
    feats = [model.tokenize(c) for c in (ANCHORS, POSITIVES)]
    for i, g in enumerate(feats):
        w.add("col%d.input_ids" % i, g["input_ids"])
        w.add("col%d.attention_mask" % i, g["attention_mask"])
    u, v = (model(dict(g))["sentence_embedding"] for g in feats)
    loss = torch.nn.MSELoss()(u, v)
    loss.backward()
    w.add("loss", loss.reshape(1))
    ids = torch.unique(torch.cat([g["input_ids"].flatten() for g in feats]))
    w.add("word_rows", ids)
    n = dump_grads(w, model, ids)
    print("mse pair: loss", loss.item(), n, "tensors")
    w.save("mse_pair.bin")


if __name__ == "__main__":
    teacher()
    pair()
