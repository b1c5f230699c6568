"""Real, unchanged clients against a running `semsearch serve` (started by
test_server_clients.c, which passes --port): openai's embeddings.create,
huggingface_hub's InferenceClient.feature_extraction and the elasticsearch
client's info() / cluster.health() / ping(). Vectors must equal
`semsearch embed`'s output (max |diff| <= 1e-6). Exit status = verdict."""
import argparse
import json
import os
import subprocess
import sys

# The clients honour proxy variables; this test talks to loopback only.
for k in list(os.environ):
    if k.lower() in ("http_proxy", "https_proxy", "all_proxy"):
        del os.environ[k]
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

import elasticsearch  # noqa: E402
from elasticsearch import Elasticsearch  # noqa: E402

if "--only-es" not in sys.argv:  # the elasticsearch 9.x venv has only that client
    import numpy as np  # noqa: E402
    from huggingface_hub import InferenceClient  # noqa: E402
    from openai import OpenAI  # noqa: E402

TEXTS = [
    "What is AI?",
    "Artificial Intelligence aims to build machines that think.",
    "The quick brown fox jumps over the lazy dog.",
    "Café crème brûlée 東京 🙂",
    "A longer sentence about semantic search engines written in C, with vector indexes and an HTTP server.",
]

checks = failures = 0


def check(cond, what):
    global checks, failures
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)
    else:
        print(f"ok: {what}")


def cli_embed(cli, model, extra):
    out = subprocess.run([cli, "embed", "--model", model, *extra], input="\n".join(TEXTS) + "\n",
                         capture_output=True, text=True, check=True).stdout
    return np.array([json.loads(line) for line in out.splitlines()], dtype=np.float32)


def maxdiff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cli")
    ap.add_argument("--model")
    ap.add_argument("--only-es", action="store_true", help="only the elasticsearch client checks")
    a = ap.parse_args()
    base = f"http://127.0.0.1:{a.port}"
    if not a.only_es:
        embedding_clients(a, base)
    es_client(base)
    print(f"test_clients.py ({'elasticsearch ' + elasticsearch.__versionstr__ if a.only_es else 'all clients'}): "
          f"{checks} checks, {failures} failed")
    return 1 if failures or checks == 0 else 0


def embedding_clients(a, base):
    ref = cli_embed(a.cli, a.model, [])
    ref64 = cli_embed(a.cli, a.model, ["--truncate-dim", "64", "--normalize"])

    # openai: default request (the client asks for base64 and decodes it), float, dimensions
    oa = OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    r = oa.embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS)
    got = np.array([d.embedding for d in r.data], dtype=np.float32)
    d = maxdiff(got, ref)
    check(d <= 1e-6, f"openai embeddings.create (base64 on the wire) vs semsearch embed: max |diff| {d:.3g}")
    check([x.index for x in r.data] == list(range(len(TEXTS))), "openai: data[i].index in order")
    check(r.usage.prompt_tokens > 0 and r.usage.total_tokens == r.usage.prompt_tokens, f"openai usage {r.usage}")
    check(r.model == "all-MiniLM-L6-v2", f"openai: model echoed ({r.model})")
    r = oa.embeddings.create(model="m", input=TEXTS, encoding_format="float")
    d = maxdiff([x.embedding for x in r.data], ref)
    check(d <= 1e-6, f"openai encoding_format=float: max |diff| {d:.3g}")
    r = oa.embeddings.create(model="m", input=TEXTS, dimensions=64)
    d = maxdiff([x.embedding for x in r.data], ref64)
    check(d <= 1e-6, f"openai dimensions=64 vs semsearch embed --truncate-dim 64 --normalize: max |diff| {d:.3g}")
    r = oa.embeddings.create(model="m", input=TEXTS[0])
    check(len(r.data) == 1 and maxdiff(r.data[0].embedding, ref[0]) <= 1e-6, "openai: a single string input")
    try:
        oa.embeddings.create(model="m", input=[[1, 2, 3]])
        check(False, "openai: token-id input raises BadRequestError")
    except Exception as e:  # openai.BadRequestError
        check(type(e).__name__ == "BadRequestError", f"openai: token-id input raises {type(e).__name__}")

    # huggingface_hub: InferenceClient(base_url).feature_extraction posts to POST /
    hf = InferenceClient(base_url=base)
    worst = 0.0
    for i, t in enumerate(TEXTS):
        v = hf.feature_extraction(t)
        worst = max(worst, maxdiff(np.asarray(v).reshape(-1), ref[i]))
    check(worst <= 1e-6, f"huggingface_hub feature_extraction vs semsearch embed: max |diff| {worst:.3g}")
    v = hf.feature_extraction(TEXTS[0], normalize=False)
    n = float(np.linalg.norm(np.asarray(v).reshape(-1)))
    check(abs(n - 1.0) > 1e-3, f"huggingface_hub normalize=False gives the raw pooled vector (norm {n:.3f})")



def es_client(base):
    # elasticsearch 8.x / 9.x: product check passes (X-Elastic-Product), info / health / ping
    es = Elasticsearch(base, request_timeout=30)
    info = es.info()
    check(info["version"]["number"].startswith("8.") and info["tagline"] == "You Know, for Search",
          f"elasticsearch {elasticsearch.__versionstr__} info(): {info['version']['number']}")
    h = es.cluster.health()
    check(h["status"] == "green" and h["number_of_nodes"] == 1, f"elasticsearch cluster.health(): {h['status']}")
    check(es.ping() is True, "elasticsearch ping() (HEAD /)")
    try:
        es.perform_request("GET", "/_no_such_api/x", headers={"accept": "application/json"})
        check(False, "elasticsearch: unknown route raises BadRequestError")
    except elasticsearch.BadRequestError as e:
        check(e.meta.status == 400 and "no handler found" in str(e), f"elasticsearch: unknown route -> {e.meta.status}")


if __name__ == "__main__":
    sys.exit(main())
