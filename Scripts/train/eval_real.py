#!/usr/bin/env python3
"""The whole pipeline in PyTorch on the 16 real LPCV 2020 frames (../shared/data/real-dev; never
trained on): grey 1280 x 720 frame -> 640 x 360 -> detector -> word boxes -> crops cut from the
full-resolution frame (box grown by 0.1 h left/right, 0.08 h top/bottom) -> 32 px high ->
`data_rec.normalize_crop` -> recognizer (early exit when its confidence >= --exit-thr, else final head).

Reports the LPCV 2020 referee word score (1 - mean over ground-truth words of min(lev / len, 1)),
word precision / recall, and the detector's early exit on the 4 no-text frames.

  .venv-train/bin/python Scripts/train/eval_real.py --det checkpoints/det/student/best.pt \\
      --rec checkpoints/rec/student/best.pt [--save-vis runs/real-vis]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from common import REAL_DEV, ROOT, greedy_decode
import data_det
import data_rec
from export import load_model

sys.path.insert(0, str(ROOT / "Scripts" / "eval"))
import metrics  # noqa: E402


@torch.no_grad()
def read_frame(det, rec, gray, det_thr=0.5, exit_thr=None, tile_thr=None):
    H, W = gray.shape
    small = np.asarray(Image.fromarray(gray).resize((data_det.FRAME_W, data_det.FRAME_H), Image.BOX))
    out = det(torch.from_numpy(small.copy()).float()[None, None])
    tile_max = float(torch.sigmoid(out["tiles"]).max())
    if tile_thr is not None and tile_max < tile_thr:
        return [], tile_max, 0
    prob = torch.sigmoid(out["maps"][0, 0]).numpy()
    boxes = data_det.boxes_from_maps(prob, out["maps"][0, 1].numpy(), det_thr, split=data_det.WORD_SPLIT,
                                     join=data_det.WORD_JOIN, split_gap=data_det.SPLIT_GAP)
    sx, sy = W / data_det.FRAME_W, H / data_det.FRAME_H
    words, n_exit = [], 0
    for x0, y0, x1, y1, _ in boxes:
        x0, x1, y0, y1 = x0 * sx, x1 * sx, y0 * sy, y1 * sy
        h = y1 - y0
        bx0, bx1 = int(max(0, x0 - 0.1 * h)), int(min(W, x1 + 0.1 * h))
        by0, by1 = int(max(0, y0 - 0.08 * h)), int(min(H, y1 + 0.08 * h))
        if bx1 - bx0 < 2 or by1 - by0 < 2:
            continue
        crop = data_rec.normalize_crop(data_rec.resize_to_height(gray[by0:by1, bx0:bx1]))
        r = rec(torch.from_numpy(crop).float()[None, None])
        head = "final"
        if exit_thr is not None:
            conf = float(F.softmax(r["exit"], 1).amax(1).amin())
            if conf >= exit_thr:
                head = "exit"
                n_exit += 1
        text = greedy_decode(r[head][0].argmax(0).numpy())
        if text:
            words.append(dict(text=text, bbox=[bx0, by0, bx1, by1]))
    return words, tile_max, n_exit


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--det", type=Path, required=True)
    ap.add_argument("--rec", type=Path, required=True)
    ap.add_argument("--det-thr", type=float, default=0.5)
    ap.add_argument("--exit-thr", type=float)
    ap.add_argument("--tile-thr", type=float)
    ap.add_argument("--save-vis", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    det, _ = load_model(args.det)
    rec, _ = load_model(args.rec)
    labels = json.loads((REAL_DEV / "labels.json").read_text())["frames"]
    dists, tp, n_gt, n_rep, per = [], 0, 0, 0, {}
    for name in sorted(labels):
        gt = [w for s in labels[name]["signs"] for w in s]
        gray = np.asarray(Image.open(REAL_DEV / "frames" / name).convert("L"))
        words, tile_max, n_exit = read_frame(det, rec, gray, args.det_thr, args.exit_thr, args.tile_thr)
        rep = [w["text"] for w in words]
        d = metrics.referee_distances(gt, rep)
        dists += d
        tp += metrics.word_matches(gt, rep)
        n_gt += len(gt)
        n_rep += len(rep)
        per[name] = dict(gt=gt, reported=rep, score=None if not d else 1 - float(np.mean(d)),
                         tile_max=tile_max, rec_exits=n_exit)
        print(f"{name}: score {per[name]['score']}  tile max {tile_max:.2f}  gt {' '.join(gt)} | read {' '.join(rep)}")
        if args.save_vis:
            from PIL import ImageDraw
            args.save_vis.mkdir(parents=True, exist_ok=True)
            im = Image.fromarray(gray).convert("RGB")
            dr = ImageDraw.Draw(im)
            for w in words:
                dr.rectangle(w["bbox"], outline=(255, 0, 0), width=2)
                dr.text((w["bbox"][0], max(0, w["bbox"][1] - 12)), w["text"], fill=(255, 0, 0))
            im.save(args.save_vis / name.replace(".jpg", ".png"))
    P, R, F1 = metrics.prf(tp, n_gt, n_rep)
    summary = dict(lpcv_word_score=1 - float(np.mean(dists)), word_precision=P, word_recall=R, word_f1=F1,
                   n_gt_words=n_gt, n_reported=n_rep, frames=per)
    print(json.dumps({k: v for k, v in summary.items() if k != "frames"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
