#!/usr/bin/env python3
"""Detector tile regions, simulated: what `bitspot spot`'s tile regions (SpotterSettings.tileRegionThreshold,
Sources/BitNet/Executor+Region.swift) cost in precision/recall and save in computed cells.

The Swift runtime computes the layers after the tile head exactly on the selected tiles (plus the halo
their 3x3 kernels read) and writes "no text" elsewhere, so masking a full run's score map to the selected
tiles gives the same boxes. For each threshold and growth: P/R/F1 at IoU 0.5 on the held-out-font frames
(eval_det.load_eval_set) and the share of the later layers' cells computed (the selection grown by the
4-cell halo of the four 3x3 binary convolutions after the head).

  .venv-train/bin/python Scripts/train/eval_regions.py checkpoints/det/student/best.pt [--n 100]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
import data_det  # noqa: E402
import models  # noqa: E402
from eval_det import load_eval_set  # noqa: E402

sys.path.insert(0, str(ROOT / "Scripts" / "eval"))
import metrics  # noqa: E402

HALO = 4  # cells: four 3x3 binary convolutions after the tile head


def dilate(a: np.ndarray, ry: int, rx: int) -> np.ndarray:
    """Binary dilation by a (2 ry + 1) x (2 rx + 1) rectangle."""
    out = np.zeros_like(a)
    p = np.pad(a, ((ry, ry), (rx, rx)))
    for dy in range(2 * ry + 1):
        for dx in range(2 * rx + 1):
            out |= p[dy:dy + a.shape[0], dx:dx + a.shape[1]]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--thresholds", default="0.05,0.1,0.2,0.3")
    ap.add_argument("--grow", default="0,1", help="tiles added left and right of each selected tile")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    m = models.from_cfg(ck["cfg"])
    m.load_state_dict(ck["model"], strict=False)
    m.eval()
    frames, words = load_eval_set(args.n)
    outs = []
    with torch.no_grad():
        for g in frames:
            o = m(torch.from_numpy(g).float()[None, None])
            outs.append((torch.sigmoid(o["maps"][0, 0]).numpy(), o["maps"][0, 1].numpy(),
                         torch.sigmoid(o["tiles"][0, 0]).numpy()))
    k = models.DET_TILE // data_det.STRIDE

    def score(select):
        tp = n_gt = n_rep = 0
        share = []
        for (p, h, t), w in zip(outs, words):
            cells = select(p, t)
            share.append(dilate(cells, HALO, HALO).mean() if cells.any() else 0.0)
            boxes = data_det.boxes_from_maps(np.where(cells, p, 0.0), h, 0.5, split=data_det.WORD_SPLIT,
                                             join=data_det.WORD_JOIN, split_gap=data_det.SPLIT_GAP)
            a, b, c = metrics.detection_counts(w, [dict(bbox=list(x[:4])) for x in boxes])
            tp, n_gt, n_rep = tp + a, n_gt + b, n_rep + c
        P, R, F = metrics.prf(tp, n_gt, n_rep)
        return dict(precision=round(P or 0, 4), recall=round(R or 0, 4), f1=round(F or 0, 4),
                    cells_computed=round(float(np.mean(share)), 4))

    rows = [dict(threshold=None, grow=None, **score(lambda p, t: np.ones_like(p, dtype=bool)))]
    for thr in [float(x) for x in args.thresholds.split(",")]:
        for grow in [int(x) for x in args.grow.split(",")]:
            def select(p, t, thr=thr, grow=grow):
                tiles = dilate(t >= thr, 0, grow)
                return np.kron(tiles, np.ones((k, k), bool))[:p.shape[0], :p.shape[1]]
            rows.append(dict(threshold=thr, grow=grow, **score(select)))
    for r in rows:
        label = "whole frame" if r["threshold"] is None else f"t {r['threshold']:.2f} grow {r['grow']}"
        print(f"{label:16s} P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} cells computed {r['cells_computed']:.3f}")
    print(json.dumps(dict(checkpoint=str(args.checkpoint), frames=len(frames), rows=rows)))


if __name__ == "__main__":
    main()
