#!/usr/bin/env bash
# bench/server_embed.sh — dynamic batching in `semsearch serve`, measured with wrk
# on loopback: POST /embed from C concurrent clients sending ONE sentence per
# request, against the same sentences sent 32 per request by a few clients.
# Reports sentences/s for both and their ratio (the issue's goal: >= 80%).
# Not a test; it loads every core for 2 x ROUNDS x DURATION seconds.
#
#   bench/server_embed.sh [DURATION_S=10] [CLIENTS=64]
# env: SEMSEARCH (default build/semsearch), MODEL (default the bundled one), THREADS, ROUNDS (2)
set -euo pipefail
dur=${1:-10}
clients=${2:-64}
rounds=${ROUNDS:-2}   # single / batch runs interleaved, so that a change in the machine's load hits both
source "$(dirname "$0")/server_common.sh"
texts=$root/tests/golden/minilm_texts.jsonl   # STSb sentences, one JSON string per line
machine

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
start_server --max-queued 100000 "${extra[@]}"

run() { # name lua connections -> requests/s
    drain >&2
    wrk -t 2 -c "$3" -d "${dur}s" --timeout 30s --latency -s "$2" "$url" > "$tmp/$1.txt"
    awk '/Requests\/sec/ {print $2}' "$tmp/$1.txt"
}
curl -s --noproxy '*' -o /dev/null -XPOST "$url/embed" -H 'Content-Type: application/json' -d '{"inputs":"warm up"}'
for r in $(seq "$rounds"); do
    single=$(run single "$tmp/single.lua" "$clients")
    batch=$(run batch32 "$tmp/batch32.lua" 2)
    python3 -c "import sys; s, b = float(sys.argv[1]), 32 * float(sys.argv[2]); print(f'round $r: {sys.argv[3]} x 1 sentence {s:.1f}/s, 2 x 32 sentences {b:.1f}/s, ratio {s / b:.2f}')" "$single" "$batch" "$clients"
    echo "$single $batch" >> "$tmp/rounds"
done
metrics=$(curl -s --noproxy '*' "$url/metrics")
per_batch=$(awk '/^semsearch_batch_size_sum/ {s=$2} /^semsearch_batch_size_count/ {c=$2} END {printf "%.1f", s/c}' <<< "$metrics")
single=$(awk '{s += $1} END {print s / NR}' "$tmp/rounds")
batch=$(awk '{s += $2} END {print s / NR}' "$tmp/rounds")
python3 - "$single" "$batch" "$clients" "$dur" "$per_batch" "$tmp/single.txt" "$tmp/batch32.txt" <<'PY'
import sys, re
single, batch, clients, dur, per_batch = float(sys.argv[1]), float(sys.argv[2]) * 32, sys.argv[3], sys.argv[4], sys.argv[5]
def p(path, q):
    m = re.search(r"^\s+%s%%\s+(\S+)" % q, open(path).read(), re.M)
    return m.group(1) if m else "?"
print(f"/embed, {dur} s per run, mean of the rounds, wrk on loopback (latencies: the last round)")
print(f"  {clients} clients x 1 sentence/request : {single:8.1f} sentences/s  (p50 {p(sys.argv[6], 50)}, p99 {p(sys.argv[6], 99)})")
print(f"  2 clients x 32 sentences/request : {batch:8.1f} sentences/s  (p50 {p(sys.argv[7], 50)}, p99 {p(sys.argv[7], 99)})")
print(f"  ratio single/batch = {single / batch:.2f}   (goal >= 0.80; mean sequences per encoder batch over all runs: {per_batch})")
PY
echo "load after: $(uptime | sed 's/.*load average/load average/')"
