#!/usr/bin/env python3
"""Recall/QPS table (QPS at recall@10 >= 0.90 / 0.95 / 0.99), ratios and plot
from DIR/ours.jsonl + DIR/peers.jsonl (+ DIR/env.json from index_compare.py).
With several semsearch builds in ours.jsonl (index_compare.py SS_LIBS=a=..,b=..)
it also prints the ratio of every build to the first, per config.
usage: index_report.py DIR [PNG]"""
import json, os, sys

D = sys.argv[1]
png = sys.argv[2] if len(sys.argv) > 2 else None
rows, ours_libs = [], []
for f in ("ours.jsonl", "peers.jsonl"):
    try:
        for l in open(f"{D}/{f}"):
            if not l.strip():
                continue
            r = json.loads(l)
            rows.append(r)
            if f == "ours.jsonl" and r["kind"] != "exact-scan" and r["kind"] != "exact-batched" \
                    and r["lib"] not in ours_libs:
                ours_libs.append(r["lib"])
    except FileNotFoundError:
        pass
try:
    env = json.load(open(f"{D}/env.json"))
except FileNotFoundError:
    env = {}
search = [r for r in rows if r["kind"] == "search"]
# METRIC=cpu: QPS per process CPU second (index_compare.py's qps_cpu), the
# figure a loaded machine moves least for 1 thread; default wall-clock QPS
METRIC = "qps_cpu" if os.environ.get("METRIC") == "cpu" else "qps"
series = {}
for r in search:
    series.setdefault((r["lib"], r["config"], r["threads"]), []).append((r["recall"], r.get(METRIC, r["qps"]), r["ef"]))


def qps_at(pts, target):
    ok = [q for rc, q, _ in pts if rc >= target]
    return max(ok) if ok else None


TARGETS = (0.90, 0.95, 0.99)
CFG = {"fp32": "fp32", "fp16": "fp16+rescore", "int8": "int8+rescore", "binary": "binary+rescore"}
PEER = {("hnswlib", "fp32"): "hnswlib fp32", ("hnswlib-debian", "fp32"): "hnswlib 0.6.2 (Debian) fp32",
        ("faiss", "fp32"): "FAISS HNSWFlat fp32", ("faiss", "int8"): "FAISS HNSWSQ8+refine",
        ("usearch", "fp32"): "usearch f32", ("usearch", "int8"): "usearch i8"}


def label(lib, cfg):
    if lib in ours_libs:
        return f"{lib} HNSW {CFG.get(cfg, cfg)}"
    return PEER.get((lib, cfg), f"{lib} {cfg}")


builds = {(r["lib"], r["config"]): r for r in rows if r["kind"] == "build"}
lines = []
if env:
    v = env.get("versions", {})
    lines.append(f"Run of {env.get('date')}: CPU {env.get('cpu')} ({env.get('cpus')} online CPUs; "
                 f"{' '.join(env.get('isa', []))}); {env.get('n')} x {env.get('dim')} base, "
                 f"{env.get('queries')} queries, best of {env.get('reps')}; load at start "
                 f"{' / '.join(f'{x:.1f}' for x in env.get('load_start', []))}; QPS = {METRIC}")
    lines.append("Versions: " + ", ".join(f"{k} {v[k]}" for k in v if k not in ours_libs))
    lines.append("")
lines += ["| index | threads | build s | B/vector (RSS) | QPS @0.90 | QPS @0.95 | QPS @0.99 | max recall |",
          "|---|---|---|---|---|---|---|---|"]
for (lib, cfg, th), pts in sorted(series.items(), key=lambda s: (s[0][2], s[0][0] not in ours_libs, s[0][0], s[0][1])):
    b = builds.get((lib, cfg), {})
    q = [qps_at(pts, t) for t in TARGETS]
    bs = f"{b['build_s']:.1f}" if b and th == min(k[2] for k in series) else ""
    rss = f"{b['rss_bytes_per_vector']:,.0f}" if bs else ""
    lines.append(f"| {label(lib, cfg)} | {th} | {bs} | {rss} | " +
                 " | ".join(f"{x:,.0f}" if x else "—" for x in q) + f" | {max(p[0] for p in pts):.4f} |")

peers = sorted({(k[0], k[1]) for k in series if k[0] not in ours_libs})
threads = sorted({k[2] for k in series})


def ratio_str(a, b):
    rs = []
    for t in TARGETS:
        x, y = qps_at(a, t), qps_at(b, t)
        rs.append(f"{x / y:.2f}x" if x and y else "—")
    return " / ".join(rs)


if len(ours_libs) > 1:
    ref = ours_libs[0]
    lines.append("")
    lines.append(f"Builds against {ref} at equal recall (QPS ratio at 0.90 / 0.95 / 0.99; build time ratio):")
    for other in ours_libs[1:]:
        for cfg in CFG:
            for th in threads:
                a, b = series.get((ref, cfg, th)), series.get((other, cfg, th))
                if a and b:
                    lines.append(f"- {cfg}, {th} thread(s): {ref} / {other} = {ratio_str(a, b)}")
            ba, bb = builds.get((ref, cfg)), builds.get((other, cfg))
            if ba and bb:
                lines.append(f"- {cfg} build: {ref} {ba['build_s']:.1f} s / {other} {bb['build_s']:.1f} s = "
                             f"{ba['build_s'] / bb['build_s']:.2f}x")

lines.append("")
lines.append("Ratios at equal recall (same run; QPS ratio at 0.90 / 0.95 / 0.99):")
for ours in ours_libs:
    for cfg in CFG:
        for th in threads:
            a = series.get((ours, cfg, th))
            if not a:
                continue
            for p in peers:
                b = series.get(p + (th,))
                if b:
                    lines.append(f"- {th} thread(s): {label(ours, cfg)} vs {label(*p)}: {ratio_str(a, b)}")
            # the best peer at each target (any peer config: a user picks the fastest)
            best = []
            for t in TARGETS:
                cands = [(qps_at(series[p + (th,)], t) or 0, label(*p)) for p in peers if p + (th,) in series]
                cands = [c for c in cands if c[0]]
                x = qps_at(a, t)
                if cands and x:
                    q, who = max(cands)
                    best.append(f"{x / q:.2f}x ({who})")
                else:
                    best.append("—")
            if peers:
                lines.append(f"- {th} thread(s): **{label(ours, cfg)} vs the best peer: " + " / ".join(best) + "**")

lines.append("")
lines.append("Paired per-ef ratios (same ef, same measurement round; median over ef, and recall of each side):")
for ours in ours_libs:
    for cfg in CFG:
        for th in threads:
            a = series.get((ours, cfg, th))
            for p in ([(o, cfg) for o in ours_libs if o != ours] + peers):
                b = series.get(p + (th,))
                if not a or not b:
                    continue
                bd = {ef: (rc, q) for rc, q, ef in b}
                pr = sorted((ef, q / bd[ef][1], rc, bd[ef][0]) for rc, q, ef in a if ef in bd)
                if not pr:
                    continue
                rs = sorted(x[1] for x in pr)
                med = rs[len(rs) // 2]
                worse = sum(1 for x in pr if x[2] + 0.002 < x[3])
                lines.append(f"- {th} thread(s): {label(ours, cfg)} / {label(*p)}: median {med:.2f}x (min {rs[0]:.2f}x, "
                             f"max {rs[-1]:.2f}x over {len(pr)} ef values; lower recall than it at {worse} of them)")
ex = [r for r in rows if r["kind"] in ("exact-scan", "exact-batched")]
if ex:
    lines.append("")
for r in ex:
    extra = f", {r['gbs']:.2f} GB/s" if "gbs" in r else ""
    if "read_bw_gbs" in r:
        extra += f" = {100 * r['gbs'] / r['read_bw_gbs']:.0f}% of measured read bandwidth {r['read_bw_gbs']:.2f} GB/s"
    lines.append(f"- exact {r['kind']} {r['lib']} {r['threads']} thread(s): {r['qps']:,.1f} QPS{extra}")
exq = {(r["lib"], r["kind"], r["threads"]): r["qps"] for r in ex}
for kind in ("exact-scan", "exact-batched"):
    for th in sorted({r["threads"] for r in ex}):
        a, b = exq.get(("semsearch", kind, th)), exq.get(("faiss", kind, th))
        if a and b:
            lines.append(f"- {kind}, {th} thread(s): semsearch / FAISS IndexFlatIP = {a / b:.2f}x")
text = "\n".join(lines)
print(text)
open(f"{D}/report.md", "w").write(text + "\n")

if png:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(threads), figsize=(6.5 * len(threads), 5), squeeze=False)
    for ax, th in zip(axes[0], threads):
        for (lib, cfg, t), pts in sorted(series.items()):
            if t != th:
                continue
            pts = sorted(pts)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "-" if lib in ours_libs else "--", marker="o", ms=3,
                    lw=1.8 if lib in ours_libs else 1.0, label=label(lib, cfg))
        for t in TARGETS:
            ax.axvline(t, color="grey", lw=0.5)
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries per process-CPU second" if METRIC == "qps_cpu" else "queries per second")
        ax.set_xlim(0.85, 1.001)
        ax.set_title(f"{th} thread(s)")
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7)
    sub = f"{env.get('cpu', '')}, {env.get('date', '')}" if env else ""
    fig.suptitle(f"HNSW M=16 efC=100, real MiniLM embeddings, one interleaved run ({sub})", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    print("wrote", png)
