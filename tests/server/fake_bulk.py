#!/usr/bin/env python3
"""fake_bulk.py — a tiny Elasticsearch-like _bulk endpoint with injected faults,
for test_push: proves that `semsearch push` retries 429s and resumes after the
target dies mid-stream.

  --record FILE       append the _id of every item answered 201 (one per line, fsynced)
  --reply-429 N       answer the first N _bulk requests with a whole-request 429
  --item-429 N        in the next N successful _bulk responses, item 0 is a 429 (es_rejected_execution_exception)
  --item-error ID     the item with this _id always fails with 400 mapper_parsing_exception
  --die-after N       on _bulk request number N+1 (counting every one), exit at once without answering

  --port N            listen on N (default 0: any free port)

Prints "port N" on stdout once listening."""
import argparse, json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--record", required=True)
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--reply-429", type=int, default=0)
ap.add_argument("--item-429", type=int, default=0)
ap.add_argument("--item-error", default=None)
ap.add_argument("--die-after", type=int, default=-1)
a = ap.parse_args()
state = {"bulks": 0, "r429": a.reply_429, "i429": a.item_429}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj, extra=None):
        b = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.send_header("X-Elastic-Product", "Elasticsearch")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def do_PUT(self):
        m = json.loads(self.body())
        assert m["mappings"]["properties"]["embedding"]["type"] == "dense_vector"
        self.reply(200, {"acknowledged": True, "shards_acknowledged": True, "index": self.path.strip("/")})

    def do_POST(self):
        b = self.body()
        if not self.path.endswith("/_bulk"):
            return self.reply(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
        state["bulks"] += 1
        if a.die_after >= 0 and state["bulks"] > a.die_after:
            os._exit(3)  # mid-stream: the request is never answered
        if state["r429"] > 0:
            state["r429"] -= 1
            return self.reply(429, {"error": {"type": "es_rejected_execution_exception", "reason": "queue full"},
                                    "status": 429}, {"Retry-After": "0"})
        lines = [l for l in b.split(b"\n") if l.strip()]
        items, ok = [], []
        for i in range(0, len(lines), 2):
            act = json.loads(lines[i])["index"]
            src = json.loads(lines[i + 1])
            _id = act["_id"]
            assert len(src["embedding"]) == 384, "vector missing"
            if i == 0 and state["i429"] > 0:
                state["i429"] -= 1
                items.append({"index": {"_index": act["_index"], "_id": _id, "status": 429, "error": {
                    "type": "es_rejected_execution_exception", "reason": "rejected"}}})
            elif _id == a.item_error:
                items.append({"index": {"_index": act["_index"], "_id": _id, "status": 400, "error": {
                    "type": "mapper_parsing_exception", "reason": "failed to parse field [year]"}}})
            else:
                items.append({"index": {"_index": act["_index"], "_id": _id, "status": 201, "result": "created"}})
                ok.append(_id)
        with open(a.record, "a") as f:
            for _id in ok:
                f.write(_id + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.reply(200, {"took": 1, "errors": len(ok) != len(items), "items": items})


srv = HTTPServer(("127.0.0.1", a.port), H)
print("port", srv.server_address[1], flush=True)
srv.serve_forever()
