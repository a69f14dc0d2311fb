"""Detector words matched and broken into pieces, per held-out font face (session 26).

Regenerates the held-out frames (`eval_det.load_eval_set`'s seed and count) while recording the face
`synth.pick_font` draws for each sign, checks they equal the stored set, runs the detector as `bitspot spot`
does (the network's boxes, then the second look with spot's defaults; `--no-second-look`: boxes alone) and
counts per face: cared-for words, the share some box matches at IoU 0.5, words "in pieces" (unmatched, with
two or more boxes narrower than the word centred inside it), those piece boxes, and the words over 27 px
with how many of them are matched.

  .venv-train/bin/python Scripts/train/det_by_face.py checkpoints/det/shipped/best.pt --n 300 --seed 20204
"""
from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np
import torch

from common import ROOT  # noqa: F401  (puts Scripts/ on sys.path)
import data_det
import eval_det   # puts Scripts/eval on sys.path
import metrics
import models
import synth


def frames_with_faces(n, seed):
    """The held-out frames of `load_eval_set(n, seed)` with the face of each sign: (frames, words, faces)."""
    drawn, real = [], synth.pick_font

    def spy(rng, split="train", fonts=None):
        drawn.append(real(rng, split, fonts))
        return drawn[-1]
    synth.pick_font = spy
    try:
        rng = np.random.default_rng(seed)
        frames, words, faces = [], [], []
        for _ in range(n):
            drawn.clear()
            g, w = data_det.make_frame(rng, "eval")
            frames.append(g)
            words.append(w)
            faces.append(list(drawn))
    finally:
        synth.pick_font = real
    stored = eval_det.load_eval_set(n, seed)[0]
    if any(not np.array_equal(a, b) for a, b in zip(frames, stored)):
        raise SystemExit(f"the regenerated frames differ from data/det_eval_s{seed}_n{n}.npz: "
                         "data_det.make_frame changed its defaults; delete the stored set to start afresh")
    return frames, words, faces


def by_face(model, frames, words, faces, look):
    stat = collections.defaultdict(collections.Counter)
    with torch.no_grad():
        for g, w, fs in zip(frames, words, faces):
            _, boxes = eval_det._detect(model, g, "cpu", 0.5, split=data_det.WORD_SPLIT, join=data_det.WORD_JOIN,
                                        split_gap=data_det.SPLIT_GAP)
            if look is not None:
                boxes, _, _ = eval_det.second_look(model, g, boxes, look, "cpu", 0.5, data_det.WORD_SPLIT)
            boxes = [b[:4] for b in boxes]
            for x in w:
                if not x["care"]:
                    continue
                s = stat[synth.family_of(fs[x["sign"]])]
                best = max((metrics.iou(x["bbox"], b) for b in boxes), default=0.0)
                x0, y0, x1, y1 = x["bbox"]
                inside = [b for b in boxes if x0 <= (b[0] + b[2]) / 2 <= x1 and y0 <= (b[1] + b[3]) / 2 <= y1
                          and b[2] - b[0] < 0.8 * (x1 - x0)]
                s["words"] += 1
                s["matched"] += best >= 0.5
                s["pieces"] += best < 0.5 and len(inside) >= 2
                s["piece_boxes"] += len(inside) if best < 0.5 and len(inside) >= 2 else 0
                s["big"] += x["height"] > 27
                s["big_matched"] += x["height"] > 27 and best >= 0.5
    return stat


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=eval_det.EVAL_SEED)
    ap.add_argument("--no-second-look", action="store_true", help="score the network's boxes alone")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if not args.checkpoint.is_file():
        ap.error(f"{args.checkpoint}: no such checkpoint")
    torch.set_num_threads(args.threads)
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model = models.from_cfg(ck["cfg"])
    model.load_state_dict(ck["model"], strict=False)
    model.eval()
    stat = by_face(model, *frames_with_faces(args.n, args.seed), None if args.no_second_look else eval_det.SecondLook())
    print(f"{'face':24s} words matched pieces piece_boxes >27px matched")
    total = collections.Counter()
    for face, s in sorted(stat.items(), key=lambda kv: -kv[1]["words"]):
        total.update(s)
        print(f"{face:24s} {s['words']:5d} {s['matched'] / s['words']:7.2f} {s['pieces']:6d} {s['piece_boxes']:11d} "
              f"{s['big']:5d} {s['big_matched']:7d}")
    print(f"{'all':24s} {total['words']:5d} {total['matched'] / max(total['words'], 1):7.2f} {total['pieces']:6d} "
          f"{total['piece_boxes']:11d} {total['big']:5d} {total['big_matched']:7d}")


if __name__ == "__main__":
    main()
