# bench/server_common.sh — sourced by bench/server_*.sh: wrk (installed with
# apt-get when missing and we are root), the machine description every
# benchmark prints (CPU model, ISA, cores, load), and one `semsearch serve`
# started on a free port and always stopped (trap).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${SEMSEARCH:-$root/build/semsearch}
[ -x "$bin" ] || { echo "$(basename "$0"): $bin not built (cmake --build build --target semsearch)" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "$(basename "$0"): installing wrk (apt-get)" >&2
        apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; }
    fi
    command -v wrk >/dev/null || { echo "$(basename "$0"): wrk not found (apt-get install wrk)" >&2; exit 1; }
fi
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

machine() {
    local model isa
    model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    isa=$(grep -m1 -o -w -E 'avx2|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|amx_tile|amx_bf16|amx_int8' /proc/cpuinfo | sort -u | tr '\n' ' ' || true)
    [ -n "$isa" ] || isa=$(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx2|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|amx_tile|amx_bf16|amx_int8' | tr '\n' ' ')
    echo "machine: $model, $(nproc) cores, ISA: $isa"
    echo "load: $(uptime | sed 's/.*load average/load average/')"
}

# start_server [serve args...]: sets pid, port, url
start_server() {
    "$bin" serve --port 0 --data "$tmp/data" --log-level warn "$@" > "$tmp/server.out" 2> "$tmp/server.err" &
    pid=$!
    for _ in $(seq 600); do grep -q listening "$tmp/server.out" 2>/dev/null && break; sleep 0.1; done
    port=$(sed -n 's/.*:\([0-9]*\) (model.*/\1/p' "$tmp/server.out")
    [ -n "$port" ] || { echo "$(basename "$0"): server did not start: $(cat "$tmp/server.err")" >&2; exit 1; }
    url=http://127.0.0.1:$port
}

server_rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }

# wrk_run NAME LUA CONNECTIONS DURATION -> "qps p50 p99" (latencies as wrk prints them)
wrk_run() {
    local threads=$(( $3 < 2 ? 1 : 2 ))
    wrk -t "$threads" -c "$3" -d "${4}s" --timeout 30s --latency -s "$2" "$url" > "$tmp/$1.txt" 2>&1
    local qps p50 p99 errs
    qps=$(awk '/Requests\/sec/ {print $2}' "$tmp/$1.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$tmp/$1.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$tmp/$1.txt")
    errs=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print "sock:" $0}' "$tmp/$1.txt" | tr '\n' ' ')
    echo "$qps $p50 $p99 ${errs:-0}"
}

# drain: wait until the server has finished what a wrk run left behind. wrk
# stops after its duration, but requests already received still run (a
# handler is not interrupted when its client goes away): with 64 connections
# that is up to 64 slow searches, which would be charged to the next run.
# Done = the server's request counter (/metrics) unchanged for 1 s.
drain() {
    local prev=-1 cur t0=$SECONDS
    while [ $((SECONDS - t0)) -lt 120 ]; do
        cur=$(curl -s --noproxy '*' --max-time 10 "$url/metrics" | awk '/^semsearch_http_requests_total/ && !/route="\/metrics"/ {s += $NF} END {print s + 0}')
        [ "$cur" = "$prev" ] && return 0
        prev=$cur
        sleep 1
    done
    echo "drain: the server was still busy after 120 s" >&2
}
