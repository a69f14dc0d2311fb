#!/usr/bin/env python3
"""Where a system's LPCV word score goes on the suite: each cared-for ground-truth word's referee distance
(1 - its share of the score) charged to what the system did with it, from a run's saved predictions.

  merged  a reported box covers more than half of this word and of another one (words joined)
  single  a reported box covers it and no other word (misread, or read right: distance 0)
  missed  no reported box covers half of it

Prints, per kind, the number of words and the points of the frame-word score they lose (the three add up
to 1 - accuracy), plus how many reported boxes cover no word.
  .venv/bin/python Scripts/eval/loss_breakdown.py eval-out/results [--system bitspot] [--suite eval-out/suite]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics import levenshtein, normalize  # noqa: E402


def covers(box, word_box) -> bool:
    """The reported box covers more than half of the word's box."""
    w = min(box[2], word_box[2]) - max(box[0], word_box[0])
    h = min(box[3], word_box[3]) - max(box[1], word_box[1])
    area = (word_box[2] - word_box[0]) * (word_box[3] - word_box[1])
    return w > 0 and h > 0 and w * h > 0.5 * area


def breakdown(frames: list[tuple[list[dict], list[dict]]]) -> dict:
    """frames: (cared-for ground truth, reported words with "text" and "bbox") per frame."""
    lost, count = Counter(), Counter()
    n = 0
    for gt, reported in frames:
        texts = [normalize(w["text"]) for w in reported]
        boxes = [w.get("bbox") for w in reported]
        hits_of = [[i for i, g in enumerate(gt) if b and covers(b, g["bbox"])] for b in boxes]
        count["boxes_covering_no_word"] += sum(1 for h in hits_of if not h)
        for i, g in enumerate(gt):
            t = normalize(g["text"])
            if not t:
                continue
            n += 1
            dist = min([min(levenshtein(t, r) / len(t), 1.0) for r in texts] or [1.0])
            mine = [h for h in hits_of if i in h]
            kind = "missed" if not mine else ("merged" if any(len(h) > 1 for h in mine) else "single")
            lost[kind] += dist
            count[kind] += 1
    return {"words": n, **{k: {"words": count[k], "points_lost": lost[k] / max(n, 1)} for k in ("merged", "single", "missed")},
            "boxes_covering_no_word": count["boxes_covering_no_word"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path, help="a Scripts/eval/run --out folder (its pred/synthetic/SYSTEM/*.json)")
    ap.add_argument("--system", default="bitspot")
    ap.add_argument("--suite", type=Path, default=Path(__file__).resolve().parents[2] / "eval-out" / "suite")
    args = ap.parse_args()
    preds = sorted((args.results / "pred" / "synthetic" / args.system).glob("*.json"))
    if not preds:
        sys.exit(f"loss_breakdown: no predictions under {args.results}/pred/synthetic/{args.system}")
    frames = []
    for p in preds:
        d = json.loads(p.read_text())
        gt = {}
        for line in (args.suite / d["item"] / "gt.jsonl").read_text().splitlines():
            o = json.loads(line)
            gt[o["frame"]] = [w for w in o["words"] if w.get("care", True)]
        frames += [(gt.get(f["frame"], []), f["words"]) for f in d["frames"]]
    r = breakdown(frames)
    print(f"{r['words']} ground-truth words in {len(frames)} frames ({args.system})")
    for k in ("merged", "single", "missed"):
        print(f"  {k:7s} {r[k]['words']:5d} words, {r[k]['points_lost']:.3f} of the score lost")
    print(f"  reported boxes covering no word: {r['boxes_covering_no_word']}")


if __name__ == "__main__":
    main()
