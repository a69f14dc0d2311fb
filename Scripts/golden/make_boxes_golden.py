#!/usr/bin/env python3
"""Golden fixture for the Swift box extraction (Spotting.ScoreMapDecoder): random detector maps and the
boxes the trainer's `data_det.boxes_from_maps` makes from them.

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


def main():
    rng = np.random.default_rng(2020)
    cases = [case(rng, 12, 20, 4), case(rng, 23, 40, 12), case(rng, 5, 7, 3)]
    # Word splitting (data_det.split_columns) at two valley ratios: wide blobs, several touching.
    cases += [case(rng, 16, 48, 14, split=0.8), case(rng, 16, 48, 14, split=0.6), case(rng, 9, 30, 6, split=0.9)]
    out = os.path.join(ROOT, "Tests", "SpottingTests", "Fixtures", "boxes.json")
    with open(out + ".tmp", "w") as f:
        json.dump({"made_by": "Scripts/golden/make_boxes_golden.py", "cases": cases}, f)
    os.replace(out + ".tmp", out)
    print(f"wrote {out}: {sum(len(c['boxes']) for c in cases)} boxes in {len(cases)} cases")
    # How much the split cases split: the same maps without splitting.
    for c in cases:
        if c["split"] is not None:
            plain = data_det.boxes_from_maps(np.array(c["score"], np.float32).reshape(c["height"], c["width"]),
                                             np.array(c["log2Height"], np.float32).reshape(c["height"], c["width"]), thr=0.5)
            print(f"  split {c['split']}: {len(plain)} components -> {len(c['boxes'])} boxes")


if __name__ == "__main__":
    main()
