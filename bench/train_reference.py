"""The peer of bench/train.sh: sentence-transformers 2.7.0's model.fit (torch 1.13 CPU) for a fixed number
of steps on the same data, model, batch size, max sequence length and loss as `semsearch train`:

    build/refvenv/bin/python bench/train_reference.py MODEL DATA LOSS BATCH STEPS THREADS

DATA: STSb's tab-separated file (sts-train.csv: columns 5, 6, score column 4 / 5) or a JSONL of
{"anchor", "positive"} objects. LOSS: mnrl (MultipleNegativesRankingLoss, NoDuplicatesDataLoader) or
cosine (CosineSimilarityLoss, shuffled DataLoader). fit's defaults otherwise (AdamW lr 2e-5, weight decay
0.01, WarmupLinear with 10% warmup, clip 1.0). The loss is wrapped to count the real (non-padding) tokens
of every step and to time it: steps/s and tokens/s are over the steps after the first two (warm-up:
allocator, thread pool), up to fit's return. Prints one line `ref steps S tokens T seconds X steps/s ...
tokens/s ... peak_rss_mb M` (peak RSS from getrusage: the whole process, Python and torch included)."""
import json
import math
import resource
import sys
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

from sentence_transformers import InputExample, SentenceTransformer, losses
from sentence_transformers.datasets import NoDuplicatesDataLoader

WARM = 2


class Timed(nn.Module):
    """Counts tokens and timestamps each step's start (fit calls loss_model(features, labels) once a step)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.starts, self.tokens = [], []

    def forward(self, features, labels):
        self.starts.append(time.perf_counter())
        self.tokens.append(int(sum(int(f["attention_mask"].sum()) for f in features)))
        return self.inner(features, labels)


def read(path):
    rows = []
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    o = json.loads(line)
                    rows.append((o["anchor"], o["positive"], 1.0))
    else:
        with open(path, encoding="utf-8") as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                rows.append((p[5], p[6], float(p[4]) / 5.0))
    return rows


def main():
    model_dir, data, loss_name, batch, steps, threads = sys.argv[1:7]
    batch, steps, threads = int(batch), int(steps), int(threads)
    torch.manual_seed(42)
    torch.set_num_threads(threads)
    model = SentenceTransformer(model_dir, device="cpu")
    rows = read(data)
    if loss_name == "mnrl":
        loader = NoDuplicatesDataLoader([InputExample(texts=[a, b]) for a, b, _ in rows], batch_size=batch)
        loss = losses.MultipleNegativesRankingLoss(model)
    else:
        loader = DataLoader([InputExample(texts=[a, b], label=s) for a, b, s in rows], shuffle=True, batch_size=batch)
        loss = losses.CosineSimilarityLoss(model)
    timed = Timed(loss)
    model.fit(train_objectives=[(loader, timed)], epochs=1, steps_per_epoch=steps,
              warmup_steps=math.ceil(0.1 * steps), show_progress_bar=False)
    t_end = time.perf_counter()
    n = len(timed.starts) - WARM
    secs = t_end - timed.starts[WARM]
    toks = sum(timed.tokens[WARM:])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("ref steps %d tokens %d seconds %.2f steps/s %.4f tokens/s %.1f peak_rss_mb %.0f"
          % (n, toks, secs, n / secs, toks / secs, rss), flush=True)


if __name__ == "__main__":
    main()
