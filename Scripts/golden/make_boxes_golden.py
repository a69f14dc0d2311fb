#!/usr/bin/env python3
"""Golden fixture for the Swift box extraction (Spotting.ScoreMapDecoder): random detector maps (blobs, and
lines broken into pieces) and the boxes the trainer's `data_det.boxes_from_maps` makes from them, with and
without word splitting, joining and a smallest splitting valley.

Writes Tests/SpottingTests/Fixtures/boxes.json. Run from the repository root with numpy and Pillow:
    .venv/bin/python Scripts/golden/make_boxes_golden.py
"""
import json, os, sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Scripts", "train"))
import data_det  # noqa: E402


def case(rng, h, w, blobs, split=None):
    score = np.clip(rng.normal(0.15, 0.1, (h, w)), 0, 1).astype(np.float32)
    log2h = rng.uniform(2.5, 5.5, (h, w)).astype(np.float32)
    for _ in range(blobs):
        y, x = rng.integers(0, h), rng.integers(0, w)
        bh, bw = rng.integers(1, 4), rng.integers(2, 12)
        score[y:y + bh, x:x + bw] = rng.uniform(0.55, 0.99, (min(bh, h - y), min(bw, w - x)))
    boxes = data_det.boxes_from_maps(score, log2h, thr=0.5, split=split)
    return {"width": w, "height": h, "score": score.ravel().tolist(), "log2Height": log2h.ravel().tolist(),
            "stride": data_det.STRIDE, "shrinkX": data_det.SHRINK_X, "threshold": 0.5, "split": split,
            "boxes": [list(map(float, b)) for b in boxes]}


def line_case(rng, h, w, lines, split, join, split_gap):
    """Text lines broken into pieces (runs of kernel cells with holes and dips), each line one word height."""
    score = np.clip(rng.normal(0.15, 0.1, (h, w)), 0, 1).astype(np.float32)
    log2h = rng.uniform(2.5, 5.5, (h, w)).astype(np.float32)
    for _ in range(lines):
        y, lh, x = int(rng.integers(0, h - 1)), float(rng.uniform(3.0, 5.0)), int(rng.integers(0, 4))
        rows = int(rng.integers(1, 3))
        while x < w:
            n = int(rng.integers(1, 9))
            run = rng.uniform(0.55, 0.99, (rows, min(n, w - x)))
            if n > 3 and rng.random() < 0.5:   # a dip above the threshold inside the run
                run[:, int(rng.integers(1, n - 1)) if n - 1 < w - x else 0] = rng.uniform(0.5, 0.6)
            score[y:y + rows, x:x + n] = run[:min(rows, h - y)]
            log2h[y:y + rows, x:x + n] = lh + rng.normal(0, 0.1, (min(rows, h - y), min(n, w - x)))
            x += n + int(rng.integers(0, 4))   # 0-3 empty columns: a hole in a word or a gap between words
    boxes = data_det.boxes_from_maps(score, log2h, thr=0.5, split=split, join=join, split_gap=split_gap)
    return {"width": w, "height": h, "score": score.ravel().tolist(), "log2Height": log2h.ravel().tolist(),
            "stride": data_det.STRIDE, "shrinkX": data_det.SHRINK_X, "threshold": 0.5, "split": split,
            "join": join, "splitGap": split_gap, "boxes": [list(map(float, b)) for b in boxes]}


def main():
    rng = np.random.default_rng(2020)
    cases = [case(rng, 12, 20, 4), case(rng, 23, 40, 12), case(rng, 5, 7, 3)]
    # Word splitting (data_det.split_columns) at two valley ratios: wide blobs, several touching.
    cases += [case(rng, 16, 48, 14, split=0.8), case(rng, 16, 48, 14, split=0.6), case(rng, 9, 30, 6, split=0.9)]
    # Pieces of lines joined (data_det.join_components), then split at valleys of a smallest width.
    cases += [line_case(rng, 20, 60, 5, split=0.8, join=0.3, split_gap=0.4),
              line_case(rng, 20, 60, 5, split=0.8, join=0.6, split_gap=None),
              line_case(rng, 14, 50, 4, split=None, join=0.3, split_gap=None),
              line_case(rng, 20, 60, 6, split=0.9, join=None, split_gap=0.6)]
    out = os.path.join(ROOT, "Tests", "SpottingTests", "Fixtures", "boxes.json")
    with open(out + ".tmp", "w") as f:
        json.dump({"made_by": "Scripts/golden/make_boxes_golden.py", "cases": cases}, f)
    os.replace(out + ".tmp", out)
    print(f"wrote {out}: {sum(len(c['boxes']) for c in cases)} boxes in {len(cases)} cases")
    # How much the split cases split: the same maps without splitting.
    for c in cases:
        if c["split"] is not None or c.get("join"):
            plain = data_det.boxes_from_maps(np.array(c["score"], np.float32).reshape(c["height"], c["width"]),
                                             np.array(c["log2Height"], np.float32).reshape(c["height"], c["width"]), thr=0.5)
            print(f"  split {c['split']} join {c.get('join')} gap {c.get('splitGap')}: {len(plain)} components -> {len(c['boxes'])} boxes")


if __name__ == "__main__":
    main()
