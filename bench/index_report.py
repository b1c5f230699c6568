#!/usr/bin/env python3
"""Recall/QPS table (QPS at recall@10 >= 0.90 / 0.95 / 0.99) and plot from
DIR/ours.jsonl + DIR/peers.jsonl.  usage: index_report.py DIR [PNG]"""
import json, sys

D = sys.argv[1]
png = sys.argv[2] if len(sys.argv) > 2 else None
rows = []
for f in ("ours.jsonl", "peers.jsonl"):
    try:
        rows += [json.loads(l) for l in open(f"{D}/{f}") if l.strip()]
    except FileNotFoundError:
        pass
search = [r for r in rows if r["kind"] == "search"]
series = {}
for r in search:
    series.setdefault((r["lib"], r["config"], r["threads"]), []).append((r["recall"], r["qps"], r["ef"]))

def qps_at(pts, target):
    ok = [q for rc, q, _ in pts if rc >= target]
    return max(ok) if ok else None

TARGETS = (0.90, 0.95, 0.99)
label = {("semsearch", "fp32"): "semsearch HNSW fp32", ("semsearch", "int8"): "semsearch HNSW int8+rescore",
         ("semsearch", "binary"): "semsearch HNSW binary+rescore", ("hnswlib", "fp32"): "hnswlib fp32",
         ("faiss", "fp32"): "FAISS HNSWFlat fp32", ("faiss", "int8"): "FAISS HNSWSQ8+refine int8"}
builds = {(r["lib"], r["config"]): r for r in rows if r["kind"] == "build"}
lines = ["| index | threads | build s | B/vector (RSS) | QPS @0.90 | QPS @0.95 | QPS @0.99 | max recall |",
         "|---|---|---|---|---|---|---|---|"]
for (lib, cfg, th), pts in sorted(series.items(), key=lambda s: (s[0][2], s[0][0] != "semsearch", s[0][0], s[0][1])):
    b = builds.get((lib, cfg), {})
    q = [qps_at(pts, t) for t in TARGETS]
    lines.append(f"| {label.get((lib, cfg), lib + ' ' + cfg)} | {th} | {b.get('build_s', 0):.1f} | "
                 f"{b.get('rss_bytes_per_vector', 0):.0f} | " + " | ".join(f"{x:,.0f}" if x else "—" for x in q) +
                 f" | {max(p[0] for p in pts):.4f} |")
# (semsearch config, peer) pairs compared, in the ratio and the paired sections
PAIRS = ((("semsearch", "fp32"), ("hnswlib", "fp32")), (("semsearch", "fp32"), ("faiss", "fp32")),
         (("semsearch", "int8"), ("faiss", "int8")), (("semsearch", "int8"), ("hnswlib", "fp32")),
         (("semsearch", "binary"), ("hnswlib", "fp32")), (("semsearch", "binary"), ("faiss", "fp32")))
lines.append("")
lines.append("Ratios at equal recall (same run):")
for th in sorted({k[2] for k in series}):
    for ours, peer in PAIRS:
        a, b = series.get(ours + (th,)), series.get(peer + (th,))
        if not a or not b:
            continue
        rs = []
        for t in TARGETS:
            x, y = qps_at(a, t), qps_at(b, t)
            rs.append(f"{x / y:.2f}x" if x and y else "—")
        lines.append(f"- {th} thread(s): {label[ours]} vs {label[peer]}: " + " / ".join(rs) + " at 0.90 / 0.95 / 0.99")
# paired ratios: the same ef measured in the same round (robust to load drift)
lines.append("")
lines.append("Paired per-ef ratios (same ef, same measurement round; median over ef, and recall of each side):")
for th in sorted({k[2] for k in series}):
    for ours, peer in PAIRS:
        a, b = series.get(ours + (th,)), series.get(peer + (th,))
        if not a or not b:
            continue
        bd = {ef: (rc, q) for rc, q, ef in b}
        pr = sorted((ef, q / bd[ef][1], rc, bd[ef][0]) for rc, q, ef in a if ef in bd)
        if not pr:
            continue
        rs = sorted(p[1] for p in pr)
        med = rs[len(rs) // 2]
        worse = sum(1 for p in pr if p[2] + 0.002 < p[3])
        lines.append(f"- {th} thread(s): {label[ours]} / {label[peer]}: median {med:.2f}x (min {rs[0]:.2f}x, "
                     f"max {rs[-1]:.2f}x over {len(pr)} ef values; lower recall than the peer at {worse} of them)")
ex = [r for r in rows if r["kind"] in ("exact-scan", "exact-batched")]
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
    ths = sorted({k[2] for k in series})
    fig, axes = plt.subplots(1, len(ths), figsize=(6.5 * len(ths), 5), squeeze=False)
    style = {"semsearch": "-", "hnswlib": "--", "faiss": ":"}
    for ax, th in zip(axes[0], ths):
        for (lib, cfg, t), pts in sorted(series.items()):
            if t != th:
                continue
            pts = sorted(pts)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style.get(lib, "-"), marker="o", ms=3,
                    label=label.get((lib, cfg), lib + " " + cfg))
        for t in TARGETS:
            ax.axvline(t, color="grey", lw=0.5)
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries per second")
        ax.set_xlim(0.8, 1.001)
        ax.set_title(f"{th} thread(s)")
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("semsearch vs hnswlib vs FAISS (M=16, efC=100), real MiniLM embeddings, same machine/run")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print("wrote", png)
