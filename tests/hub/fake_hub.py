#!/usr/bin/env python3
"""fake_hub.py — a tiny stand-in for the Hugging Face hub, for semsearch's tests.

Serves, on 127.0.0.1 only, the URL layout that huggingface_hub documents:

  GET /api/models/{org}/{name}/revision/{rev}[?blobs=true]
        -> {"id", "sha", "siblings": [{"rfilename", "size", "blobId", "lfs"?}]}
  GET /{org}/{name}/resolve/{rev}/{path}
        -> the file. "LFS" files (*.safetensors, *.bin) answer 302 to /cdn/...
           with X-Linked-Etag (sha256) and X-Linked-Size, like the real hub;
           small files are served directly with ETag = git blob sha1.
  Range requests (bytes=N- / bytes=N-M), 206/416; 404 with X-Error-Code
  (RepoNotFound, RevisionNotFound, EntryNotFound); 401 GatedRepo.

Repos are folders ROOT/{org}/{name}/. Revisions "main" and "v1.0" both serve
that folder. An optional ROOT/{org}/{name}/.fake_hub.json (never served) may hold
  {"gated": true}                                  -> needs --token
  {"files": {"path": {"sha256": "...", "size": N, "no_api_size": true,
                      "vanish": true, "pad_to": M}}} -> lie about a file (vanish:
                                                      listed, but 404 on download;
                                                      pad_to: the body is the file
                                                      padded with zeros to M bytes)
Options: --cut PATH:N  the next GET of PATH sends only N bytes then drops the
connection (repeatable; each applies once). --log FILE appends one line per request. The server prints its
port on stdout, then exits after --lifetime seconds at the latest.
"""
import argparse
import hashlib
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REVISIONS = {"main": "0123456789abcdef0123456789abcdef01234567",
             "v1.0": "89abcdef0123456789abcdef0123456789abcdef"}
LFS_SUFFIXES = (".safetensors", ".bin")


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Hub:
    def __init__(self, root, token, cuts, log):
        self.root = os.path.abspath(root)
        self.token = token
        self.cuts = list(cuts)
        self.log = log
        self.lock = threading.Lock()

    def repo_dir(self, repo):
        parts = repo.split("/")
        if len(parts) != 2 or any(p in ("", ".", "..") for p in parts):
            return None
        d = os.path.join(self.root, *parts)
        return d if os.path.isdir(d) else None

    def overrides(self, d):
        p = os.path.join(d, ".fake_hub.json")
        if os.path.exists(p):
            with open(p) as f:
                return json.load(f)
        return {}

    def files(self, d):
        out = []
        for base, dirs, names in os.walk(d):
            dirs.sort()
            for n in sorted(names):
                full = os.path.join(base, n)
                rel = os.path.relpath(full, d).replace(os.sep, "/")
                if rel == ".fake_hub.json":
                    continue
                out.append(rel)
        return out

    def take_cut(self, path):
        with self.lock:
            for i, (p, n) in enumerate(self.cuts):
                if p == path:
                    del self.cuts[i]
                    return n
            return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-hub/1.0"

    def log_message(self, fmt, *args):  # quiet
        pass

    def note(self, status):
        hub = self.server.hub
        if hub.log:
            with hub.lock, open(hub.log, "a") as f:
                f.write("%s %s %d range=%s auth=%s\n" % (
                    self.command, self.path, status, self.headers.get("Range", "-"),
                    "yes" if self.headers.get("Authorization") else "no"))

    def reply(self, status, body=b"", headers=None, ctype="application/json"):
        self.note(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, msg):
        self.reply(status, json.dumps({"error": msg}).encode(),
                   {"X-Error-Code": code, "X-Error-Message": msg})

    def authorized(self, d):
        hub = self.server.hub
        if not hub.overrides(d).get("gated"):
            return True
        return self.headers.get("Authorization") == "Bearer %s" % hub.token and hub.token

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        hub = self.server.hub
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        if path.startswith("/api/models/"):
            return self.api(path[len("/api/models/"):], urllib.parse.parse_qs(url.query))
        if path.startswith("/cdn/"):
            rest = path[len("/cdn/"):]
            org, name, rel = rest.split("/", 2)
            d = hub.repo_dir(org + "/" + name)
            if d is None:
                return self.error(404, "EntryNotFound", "no such blob")
            return self.send_file(d, rel, {})
        parts = path.lstrip("/").split("/", 4)
        if len(parts) < 5 or parts[2] != "resolve":
            return self.error(404, "RepoNotFound", "Repository Not Found")
        org, name, _, rev, rel = parts
        d = hub.repo_dir(org + "/" + name)
        if d is None:
            return self.error(404, "RepoNotFound", "Repository Not Found for url: " + self.path)
        if not self.authorized(d):
            return self.error(401, "GatedRepo", "Access to model %s/%s is restricted." % (org, name))
        if rev not in REVISIONS:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        full = os.path.join(d, rel)
        ov = hub.overrides(d).get("files", {}).get(rel, {})
        if rel == ".fake_hub.json" or not os.path.isfile(full) or ov.get("vanish"):
            return self.error(404, "EntryNotFound", "Entry not found")
        with open(full, "rb") as f:
            data = f.read()
        if rel.endswith(LFS_SUFFIXES):
            sha = ov.get("sha256", hashlib.sha256(data).hexdigest())
            loc = "/cdn/%s/%s/%s" % (org, name, urllib.parse.quote(rel))
            return self.reply(302, b"", {"Location": loc, "X-Linked-Etag": '"%s"' % sha,
                                         "X-Linked-Size": str(ov.get("size", len(data))),
                                         "ETag": '"%s"' % sha, "X-Repo-Commit": REVISIONS[rev]})
        return self.send_file(d, rel, {"ETag": '"%s"' % git_blob_sha1(data),
                                       "X-Repo-Commit": REVISIONS[rev]})

    def send_file(self, d, rel, headers):
        full = os.path.join(d, rel)
        if not os.path.isfile(full):
            return self.error(404, "EntryNotFound", "Entry not found")
        with open(full, "rb") as f:
            data = f.read()
        pad = self.server.hub.overrides(d).get("files", {}).get(rel, {}).get("pad_to", 0)
        if pad > len(data):
            data += b"\0" * (pad - len(data))
        size = len(data)
        status, start, end = 200, 0, size
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a)
            end = int(b) + 1 if b else size
            if start >= size:
                return self.reply(416, b"", {"Content-Range": "bytes */%d" % size})
            end = min(end, size)
            status = 206
            headers = dict(headers, **{"Content-Range": "bytes %d-%d/%d" % (start, end - 1, size)})
        body = data[start:end]
        cut = self.server.hub.take_cut(rel) if self.command == "GET" else None
        self.note(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        for k, v in headers.items():
            self.send_header(k, v)
        if cut is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        # In pieces, so that a client that hangs up early is seen (and logged).
        sent = 0
        try:
            while sent < len(body):
                self.wfile.write(body[sent:sent + 65536])
                sent += min(65536, len(body) - sent)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            hub = self.server.hub
            if hub.log:
                with hub.lock, open(hub.log, "a") as f:
                    f.write("ABORTED %s after %d of %d bytes\n" % (self.path, sent, len(body)))

    def api(self, rest, query):
        hub = self.server.hub
        parts = rest.split("/")
        if len(parts) < 2:
            return self.error(404, "RepoNotFound", "Repository Not Found")
        repo = "/".join(parts[:2])
        rev = "main"
        if len(parts) >= 4 and parts[2] == "revision":
            rev = "/".join(parts[3:])
        elif len(parts) != 2:
            return self.error(404, "RepoNotFound", "Repository Not Found")
        d = hub.repo_dir(repo)
        if d is None:
            return self.error(404, "RepoNotFound", "Repository Not Found for url: " + self.path)
        if not self.authorized(d):
            return self.error(401, "GatedRepo", "Access to model %s is restricted." % repo)
        if rev not in REVISIONS:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        blobs = query.get("blobs", ["false"])[0] == "true"
        ovs = hub.overrides(d).get("files", {})
        siblings = []
        for rel in hub.files(d):
            with open(os.path.join(d, rel), "rb") as f:
                data = f.read()
            s = {"rfilename": rel}
            ov = ovs.get(rel, {})
            if blobs:
                if not ov.get("no_api_size"):
                    s["size"] = ov.get("size", len(data))
                s["blobId"] = git_blob_sha1(data)
                if rel.endswith(LFS_SUFFIXES):
                    s["lfs"] = {"sha256": ov.get("sha256", hashlib.sha256(data).hexdigest()),
                                "size": ov.get("size", len(data)), "pointerSize": 134}
            siblings.append(s)
        body = {"_id": "fake", "id": repo, "modelId": repo, "sha": REVISIONS[rev],
                "private": False, "gated": bool(hub.overrides(d).get("gated")),
                "library_name": "sentence-transformers", "siblings": siblings}
        self.reply(200, json.dumps(body).encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default="")
    ap.add_argument("--cut", action="append", default=[])
    ap.add_argument("--log", default="")
    ap.add_argument("--lifetime", type=float, default=300)
    a = ap.parse_args()
    cuts = []
    for c in a.cut:
        p, _, n = c.rpartition(":")
        cuts.append((p, int(n)))
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.hub = Hub(a.root, a.token, cuts, a.log)
    t = threading.Timer(a.lifetime, lambda: os._exit(3))
    t.daemon = True
    t.start()
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
