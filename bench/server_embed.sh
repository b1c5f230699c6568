#!/usr/bin/env bash
# bench/server_embed.sh — dynamic batching in `semsearch serve`, measured with wrk
# on loopback: POST /embed from C concurrent clients sending ONE sentence per
# request, against the same sentences sent 32 per request by a few clients.
# Reports sentences/s for both and their ratio (the issue's goal: >= 80%).
# Not a test; it loads every core for 2 x DURATION seconds.
#
#   bench/server_embed.sh [DURATION_S=10] [CLIENTS=64]
# env: SEMSEARCH (default build/semsearch), MODEL (default the bundled one), THREADS
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dur=${1:-10}
clients=${2:-64}
bin=${SEMSEARCH:-$root/build/semsearch}
texts=$root/tests/golden/minilm_texts.jsonl   # STSb sentences, one JSON string per line
command -v wrk >/dev/null || { echo "server_embed.sh: wrk not found (apt-get install wrk)" >&2; exit 1; }
[ -x "$bin" ] || { echo "server_embed.sh: $bin not built (cmake --build build --target semsearch)" >&2; exit 1; }
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

# Lua for wrk: each request takes the next sentence(s) from a shared list.
python3 - "$texts" "$tmp" <<'PY'
import json, sys
texts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][:2048]
texts = [t for t in texts if t][:1024]
lua = lambda n: """
local texts = {%s}
local i = 0
request = function()
  local batch = {}
  for k = 1, %d do i = i %% #texts + 1; batch[k] = texts[i] end
  local body = '{"inputs":[' .. table.concat(batch, ',') .. ']}'
  return wrk.format("POST", "/embed", {["Content-Type"] = "application/json"}, body)
end
""" % (",".join("[==[" + json.dumps(t) + "]==]" for t in texts), n)
open(sys.argv[2] + "/single.lua", "w").write(lua(1))
open(sys.argv[2] + "/batch32.lua", "w").write(lua(32))
PY

extra=()
[ -n "${MODEL:-}" ] && extra+=(--model "$MODEL")
[ -n "${THREADS:-}" ] && extra+=(--threads "$THREADS")
"$bin" serve --port 0 --data "$tmp/data" --log-level warn --max-queued 100000 "${extra[@]}" > "$tmp/out" &
pid=$!
for _ in $(seq 600); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\) (model.*/\1/p' "$tmp/out")
[ -n "$port" ] || { echo "server_embed.sh: server did not start" >&2; exit 1; }
url=http://127.0.0.1:$port

run() { # name lua connections -> requests/s
    wrk -t 2 -c "$3" -d "${dur}s" --timeout 30s --latency -s "$2" "$url" > "$tmp/$1.txt"
    awk '/Requests\/sec/ {print $2}' "$tmp/$1.txt"
}
curl -s --noproxy '*' -o /dev/null -XPOST "$url/embed" -H 'Content-Type: application/json' -d '{"inputs":"warm up"}'
single=$(run single "$tmp/single.lua" "$clients")
batch=$(run batch32 "$tmp/batch32.lua" 2)
metrics=$(curl -s --noproxy '*' "$url/metrics")
per_batch=$(awk '/^semsearch_batch_size_sum/ {s=$2} /^semsearch_batch_size_count/ {c=$2} END {printf "%.1f", s/c}' <<< "$metrics")
python3 - "$single" "$batch" "$clients" "$dur" "$per_batch" "$tmp/single.txt" "$tmp/batch32.txt" <<'PY'
import sys, re
single, batch, clients, dur, per_batch = float(sys.argv[1]), float(sys.argv[2]) * 32, sys.argv[3], sys.argv[4], sys.argv[5]
def p(path, q):
    m = re.search(r"^\s+%s%%\s+(\S+)" % q, open(path).read(), re.M)
    return m.group(1) if m else "?"
print(f"/embed, {dur} s each, wrk on loopback")
print(f"  {clients} clients x 1 sentence/request : {single:8.1f} sentences/s  (p50 {p(sys.argv[6], 50)}, p99 {p(sys.argv[6], 99)})")
print(f"  2 clients x 32 sentences/request : {batch:8.1f} sentences/s  (p50 {p(sys.argv[7], 50)}, p99 {p(sys.argv[7], 99)})")
print(f"  ratio single/batch = {single / batch:.2f}   (mean sequences per encoder batch over both runs: {per_batch})")
PY
