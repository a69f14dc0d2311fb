"""Markdown table and SVG plot (accuracy against modelled energy per frame) of a results dict."""
from __future__ import annotations

import math
from html import escape

COLS = [("accuracy", "accuracy", 3), ("f1", "F1", 3), ("cer", "CER", 3), ("det_recall", "det R", 3),
        ("det_precision", "det P", 3), ("qa_accuracy", "LPCV QA", 3), ("cpu_ms_per_frame", "ms/frame", 0),
        ("mj_per_frame", "mJ/frame*", 0), ("lpcv_score", "LPCV score*", 1)]


def _f(v, d):
    if v is None:
        return "n/a"
    return f"{v:,.{d}f}" if d == 0 or abs(v) >= 1000 else f"{v:.{d}f}"


def markdown(results: dict) -> str:
    lines = []
    for set_name, s in results["sets"].items():
        lines.append(f"### {set_name}: {len(s['items'])} item(s), {s['frames']} sampled frames")
        lines.append("")
        lines.append("| system | " + " | ".join(c[1] for c in COLS) + " |")
        lines.append("| --- | " + " | ".join("---:" for _ in COLS) + " |")
        for row in s["rows"].values():
            if not row.get("available"):
                lines.append(f"| {row['label']} | " + " | ".join("" for _ in COLS[:-1]) + f" | {row['note']} |")
                continue
            lines.append(f"| {row['label']} | " + " | ".join(_f(row.get(k), d) for k, _, d in COLS) + " |")
        lines.append("")
    lines.append(f"accuracy: LPCV 2020 referee word score (1 - mean over ground-truth words of min Levenshtein / length, "
                 f"capped at 1); F1: exact normalised words; CER over ground-truth characters; det: IoU >= 0.5 (synthetic only); "
                 f"LPCV QA: referee score of the answers to questions.txt. ms/frame: CPU time of one thread per processed frame. "
                 f"*modelled, not measured: energy = CPU time x {results['one_core_watts']:.2f} W (profile "
                 f"`{results['profile']}`: {results['profile_info']['source']}); LPCV score = accuracy / total modelled Wh. "
                 f"Only ratios between rows of one run mean anything. Machine: {results['machine']['cpu']}, "
                 f"{results['machine']['cores']} cores; run took {results.get('wall_s', '?')} s.")
    return "\n".join(lines) + "\n"


def svg(results: dict, w: int = 640, h: int = 400) -> str:
    pts = []
    for set_name, s in results["sets"].items():
        for row in s["rows"].values():
            if row.get("available") and row.get("accuracy") is not None and row.get("mj_per_frame"):
                pts.append((set_name, row["label"].split(" (")[0], row["mj_per_frame"], row["accuracy"]))
    L, R, T, B = 70, 20, 30, 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="14">Accuracy vs modelled energy per frame</text>']
    if not pts:
        out.append(f'<text x="{w / 2}" y="{h / 2}" text-anchor="middle">no results</text></svg>')
        return "\n".join(out)
    xs = [p[2] for p in pts]
    lo, hi = math.floor(math.log10(min(xs))) , math.ceil(math.log10(max(xs)) + 1e-9)
    if hi == lo:
        hi += 1

    def X(v):
        return L + (math.log10(v) - lo) / (hi - lo) * (w - L - R)

    def Y(a):
        return h - B - a * (h - T - B)

    out.append(f'<line x1="{L}" y1="{h - B}" x2="{w - R}" y2="{h - B}" stroke="black"/>')
    out.append(f'<line x1="{L}" y1="{T}" x2="{L}" y2="{h - B}" stroke="black"/>')
    for e in range(lo, hi + 1):
        for m in ((1, 2, 5) if e < hi else (1,)):
            x = X(m * 10 ** e)
            out.append(f'<line x1="{x:.1f}" y1="{h - B}" x2="{x:.1f}" y2="{h - B + 5}" stroke="black"/>')
            out.append(f'<text x="{x:.1f}" y="{h - B + 18}" text-anchor="middle">{m * 10 ** e:g}</text>')
    for a in (0, 0.25, 0.5, 0.75, 1.0):
        y = Y(a)
        out.append(f'<line x1="{L - 5}" y1="{y:.1f}" x2="{w - R}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{L - 8}" y="{y + 4:.1f}" text-anchor="end">{a:.2f}</text>')
    out.append(f'<text x="{(L + w - R) / 2}" y="{h - 12}" text-anchor="middle">modelled mJ per frame (log scale; profile {escape(results["profile"])})</text>')
    out.append(f'<text x="16" y="{(T + h - B) / 2}" text-anchor="middle" transform="rotate(-90 16 {(T + h - B) / 2})">LPCV accuracy</text>')
    colors = {"synthetic": "#1f77b4", "real-dev": "#d62728"}
    for set_name, label, x, a in pts:
        c = colors.get(set_name, "#555")
        cx, cy = X(x), Y(a)
        if set_name == "real-dev":
            out.append(f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{c}"/>')
        else:
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{c}"/>')
        right = cx > L + 0.6 * (w - L - R)
        out.append(f'<text x="{cx + (-8 if right else 8):.1f}" y="{cy - 8:.1f}" text-anchor="{"end" if right else "start"}">'
                   f'{escape(label)} ({escape(set_name)})</text>')
    out.append(f'<text x="{w - R}" y="{h - B - 28}" text-anchor="end" fill="#1f77b4">● synthetic suite</text>')
    out.append(f'<text x="{w - R}" y="{h - B - 12}" text-anchor="end" fill="#d62728">■ 16 real frames</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
