#!/usr/bin/env python3
"""durability.py — kill -9 `semsearch serve` in the middle of a bulk load and
check that every acknowledged document survived.

Each trial: start the server on a free port (fresh data folder), create an
index (a keyword, a long and an 8-d dense_vector: explicit vectors, so no
embedding dominates), load --docs documents with the official elasticsearch
client's bulk helper (helpers.streaming_bulk — what helpers.bulk runs — so
that every item's answer is seen; chunks of --chunk, no client retries),
SIGKILL the server at a random moment, restart it on the same folder, then:

  * _count >= the number of acknowledged documents (items whose bulk
    response came back 2xx; more may be present: a batch committed whose
    response the kill cut off);
  * every acknowledged id is there, with its _source (mget, all of them);
  * spot GETs of --spot random acknowledged ids.

Losses must be 0. Short form (ctest, test_durability): --trials 3 --docs 3000.
Long form (by hand, issue 10): --trials 20 --docs 100000.

usage: build/servervenv/bin/python tests/server/durability.py --cli build/semsearch [--trials N] [--docs N]
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from elasticsearch import Elasticsearch, helpers
from elasticsearch.exceptions import ConnectionError as ESConnectionError
from elastic_transport import TransportError

ap = argparse.ArgumentParser()
ap.add_argument("--cli", required=True)
ap.add_argument("--model", default=None)
ap.add_argument("--trials", type=int, default=3)
ap.add_argument("--docs", type=int, default=3000)
ap.add_argument("--chunk", type=int, default=500)
ap.add_argument("--spot", type=int, default=50)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--keep", action="store_true", help="keep the data folders")
a = ap.parse_args()
seed = a.seed if a.seed is not None else int(time.time())
rng = random.Random(seed)
print(f"durability: seed {seed}, {a.trials} trials x {a.docs} docs, chunks of {a.chunk}", flush=True)

procs = []


def stop_all(*_):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def on_signal(sig, _frame):
    stop_all()
    sys.exit(128 + sig)


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)


def start(data):
    cmd = [a.cli, "serve", "--data", data, "--port", "0", "--log-level", "warn"]
    if a.model:
        cmd += ["--model", a.model]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    t0 = time.time()
    while time.time() - t0 < 120:
        line = p.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on http://[^ ]*:(\d+) \(", line)
        if m:
            return p, int(m.group(1))
    p.kill()
    p.wait()
    raise SystemExit("durability: the server did not start")


def doc(i):
    r = random.Random(i)
    return {"_index": "dur", "_id": f"d{i}",
            "_source": {"n": i, "tag": f"t{i % 10}", "v": [round(r.uniform(-1, 1), 4) for _ in range(8)]}}


def load(es, acked, errors, done):
    try:
        for ok, item in helpers.streaming_bulk(es, (doc(i) for i in range(a.docs)), chunk_size=a.chunk,
                                               raise_on_error=False, raise_on_exception=True, max_retries=0):
            info = item.get("index", {})
            if ok and 200 <= info.get("status", 0) < 300:
                acked.append(info["_id"])
            else:
                errors.append(item)
    except (ESConnectionError, TransportError, OSError):
        pass  # the server was killed: the batch in flight has no answer
    finally:
        done.set()


total_acked = total_losses = total_extra = 0
rate = None  # docs/s of the first trial, to pick kill moments inside the load
failures = []
for trial in range(a.trials):
    data = tempfile.mkdtemp(prefix="ss-durability-")
    try:
        p, port = start(data)
        es = Elasticsearch(f"http://127.0.0.1:{port}", request_timeout=60, max_retries=0, retry_on_timeout=False)
        es.indices.create(index="dur", mappings={"properties": {
            "n": {"type": "long"}, "tag": {"type": "keyword"},
            "v": {"type": "dense_vector", "dims": 8, "similarity": "l2_norm"}}})
        acked, errors, done = [], [], threading.Event()
        th = threading.Thread(target=load, args=(es, acked, errors, done))
        t0 = time.time()
        th.start()
        if rate is None:
            # first trial: measure the load rate on the first chunks, then kill in the middle of what is left
            while not done.is_set() and len(acked) < min(a.docs // 4, 5 * a.chunk):
                time.sleep(0.01)
            el = time.time() - t0
            rate = max(len(acked) / el, 1.0) if el > 0 else 1000.0
            delay = rng.uniform(0, max(0.05, (a.docs - len(acked)) / rate * 0.9))
        else:
            delay = rng.uniform(0.02, max(0.05, a.docs / rate * 0.95))
        done.wait(timeout=delay)
        killed_at = time.time() - t0
        was_done = done.is_set()
        p.send_signal(signal.SIGKILL)
        p.wait()
        th.join()
        es.close()
        n_acked = len(acked)
        if errors:
            failures.append(f"trial {trial}: {len(errors)} items failed during the load, first: {errors[0]}")
        # restart on the same folder and check
        p, port = start(data)
        es = Elasticsearch(f"http://127.0.0.1:{port}", request_timeout=120)
        count = es.count(index="dur")["count"]
        missing = []
        for k in range(0, n_acked, 2000):
            ids = acked[k:k + 2000]
            res = es.mget(index="dur", ids=ids)
            for d in res["docs"]:
                i = int(d["_id"][1:])
                if not d.get("found") or d["_source"] != doc(i)["_source"]:
                    missing.append(d["_id"])
        for _id in rng.sample(acked, min(a.spot, n_acked)):
            try:
                r = es.get(index="dur", id=_id)
                if r["_source"] != doc(int(_id[1:]))["_source"]:
                    missing.append(_id + " (GET: other _source)")
            except Exception as e:  # NotFoundError
                missing.append(f"{_id} (GET: {type(e).__name__})")
        losses = len(set(m.split(" ")[0] for m in missing))
        if count < n_acked:
            failures.append(f"trial {trial}: _count {count} < {n_acked} acknowledged")
        if missing:
            failures.append(f"trial {trial}: {losses} acknowledged documents lost, e.g. {missing[:5]}")
        total_acked += n_acked
        total_losses += losses
        total_extra += max(0, count - n_acked)
        print(f"trial {trial + 1}/{a.trials}: killed at {killed_at:.2f} s{' (load had finished)' if was_done else ''},"
              f" {n_acked} acknowledged, _count after restart {count}, lost {losses}", flush=True)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        es.close()
    finally:
        stop_all()
        if not a.keep:
            shutil.rmtree(data, ignore_errors=True)

print(f"durability: {a.trials} trials, {total_acked} documents acknowledged, {total_losses} lost, "
      f"{total_extra} present beyond the acknowledged (committed, answer cut off by the kill)")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures or total_losses else 0)
