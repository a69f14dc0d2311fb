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


def case(rng, h, w, blobs):
    score = np.clip(rng.normal(0.15, 0.1, (h, w)), 0, 1).astype(np.float32)
    log2h = rng.uniform(2.5, 5.5, (h, w)).astype(np.float32)
    for _ in range(blobs):
        y, x = rng.integers(0, h), rng.integers(0, w)
        bh, bw = rng.integers(1, 4), rng.integers(2, 12)
        score[y:y + bh, x:x + bw] = rng.uniform(0.55, 0.99, (min(bh, h - y), min(bw, w - x)))
    boxes = data_det.boxes_from_maps(score, log2h, thr=0.5)
    return {"width": w, "height": h, "score": score.ravel().tolist(), "log2Height": log2h.ravel().tolist(),
            "stride": data_det.STRIDE, "shrinkX": data_det.SHRINK_X, "threshold": 0.5,
            "boxes": [list(map(float, b)) for b in boxes]}


def main():
    rng = np.random.default_rng(2020)
    cases = [case(rng, 12, 20, 4), case(rng, 23, 40, 12), case(rng, 5, 7, 3)]
    out = os.path.join(ROOT, "Tests", "SpottingTests", "Fixtures", "boxes.json")
    with open(out + ".tmp", "w") as f:
        json.dump({"made_by": "Scripts/golden/make_boxes_golden.py", "cases": cases}, f)
    os.replace(out + ".tmp", out)
    print(f"wrote {out}: {sum(len(c['boxes']) for c in cases)} boxes in {len(cases)} cases")


if __name__ == "__main__":
    main()
