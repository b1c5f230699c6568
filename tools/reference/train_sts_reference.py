"""The reference for docs/training.md's STS run: sentence-transformers 2.7.0's model.fit with the settings
`semsearch train` uses (CosineSimilarityLoss, score / 5, batch 16, 1 epoch, lr 2e-5, warmup 10% of the steps,
weight decay 0.01, max_grad_norm 1), then EmbeddingSimilarityEvaluator on sts-dev.

    build/refvenv/bin/python tools/reference/train_sts_reference.py OUT_DIR [EPOCHS]

Prints the dev Spearman x100 before and after. The shuffling differs from semsearch's (torch's RNG vs
xoshiro256**), so the two runs see the same data in different orders."""
import math
import os
import sys
import time

import torch
from torch.utils.data import DataLoader

from sentence_transformers import InputExample, SentenceTransformer, losses
from sentence_transformers.evaluation import EmbeddingSimilarityEvaluator, SimilarityFunction

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = "/work/shared/data/stsbenchmark"


def read(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            rows.append((p[5], p[6], float(p[4]) / 5.0))
    return rows


def main():
    out = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    torch.manual_seed(42)
    torch.set_num_threads(2)
    model = SentenceTransformer(os.path.join(ROOT, "models", "all-MiniLM-L6-v2"), device="cpu")
    train = [InputExample(texts=[a, b], label=s) for a, b, s in read(os.path.join(DATA, "sts-train.csv"))]
    dev = read(os.path.join(DATA, "sts-dev.csv"))
    ev = EmbeddingSimilarityEvaluator([a for a, _, _ in dev], [b for _, b, _ in dev], [s for _, _, s in dev],
                                      main_similarity=SimilarityFunction.COSINE)
    print("before: spearman %.2f" % (100 * ev(model)), flush=True)
    loader = DataLoader(train, shuffle=True, batch_size=16)
    warmup = math.ceil(len(loader) * epochs * 0.1)
    t0 = time.time()
    model.fit(train_objectives=[(loader, losses.CosineSimilarityLoss(model))], epochs=epochs, warmup_steps=warmup,
              show_progress_bar=False)
    print("trained %d steps in %.1f s" % (len(loader) * epochs, time.time() - t0), flush=True)
    model.save(out)
    print("after: spearman %.2f" % (100 * ev(model)), flush=True)


if __name__ == "__main__":
    main()
