#!/usr/bin/env python3
"""Detector evaluation on held-out-font synthetic 640 x 360 frames (fixed seed, cached under data/):
word precision/recall at IoU 0.5 (Scripts/eval/metrics.detection_counts, 'don't care' words excluded)
from `data_det.boxes_from_maps` (pieces of a line joined, then split at wide valleys: the pipeline's defaults); early exit: a frame is skipped when every tile's text probability
is below t; reported per t: share of no-text frames skipped and the word recall kept; and per word height
(`by_height`), the share of words some reported box matches at IoU 0.5.

  .venv-train/bin/python Scripts/train/eval_det.py checkpoints/det/student/best.pt [--n 100] [--split 0 0.7 0.8] [--join 0] [--split-gap 0]
      [--second-look [--zoom-split 5] [--zoom-max-height 20] [--zoom-margin 0.7] [--zoom-small 12]]

With --second-look it also looks again at boxes as `bitspot spot` does (`SecondLook`, with spot's defaults): the
detector as the pipeline runs it (windows resized by the ffmpeg program as spot's swscale does; on two 800 x 450
suite frames its boxes were spot's within 0.05 px). The pipeline also drops boxes under 8 frame pixels, which
this does not.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from common import ROOT
import data_det

sys.path.insert(0, str(ROOT / "Scripts" / "eval"))
import metrics  # noqa: E402

EVAL_SEED = 20202


def load_eval_set(n=100, seed=EVAL_SEED):
    path = ROOT / "data" / f"det_eval_s{seed}_n{n}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        return list(z["frames"]), json.loads(str(z["words"]))
    rng = np.random.default_rng(seed)
    frames, words = [], []
    for _ in range(n):
        g, w = data_det.make_frame(rng, "eval")
        frames.append(g)
        words.append([dict(text=x["text"], bbox=x["bbox"], care=x["care"]) for x in w])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, frames=np.stack(frames), words=json.dumps(words))
    return frames, words


@dataclass
class SecondLook:
    """`bitspot spot`'s second look at boxes (`TextSpotter.detect`, docs/spot-output.md; its defaults): a box at
    least `aspect` of its heights wide and under `max_height` px high (None: any height), or under `small` px
    high whatever its width (None: never), is cut from the frame with `margin` heights around it, scaled to
    `height` px high and detected again (neither joining nor the smallest valley width). The words found whose
    centres lie in the box replace a long box when there are two or more, and a small box always (none
    found: it is dropped). Heights are in the detector input's pixels."""
    aspect: float | None = 5.0
    height: float = 20.0
    max_height: float | None = 20.0
    margin: float = 0.7
    small: float | None = 12.0

    def kind(self, box):
        h, w = box[3] - box[1], box[2] - box[0]
        if self.small is not None and h < self.small:
            return "small"
        if self.aspect is not None and w >= self.aspect * h and h < (self.max_height or float("inf")):
            return "long"
        return None


def _detect(model, g, dev, thr, **decoding):
    out = model(torch.tensor(g, dtype=torch.float32)[None, None].to(dev))
    prob = torch.sigmoid(out["maps"][0, 0]).cpu().numpy()
    hmap = out["maps"][0, 1].cpu().numpy()
    boxes = data_det.boxes_from_maps(prob, hmap, thr, stride=model.cfg.get("out_stride", data_det.STRIDE), **decoding)
    return out, boxes


def _cut(g, x0, y0, w, h):
    """The frame's pixels in the rectangle at (x0, y0); outside the frame the nearest edge pixel repeats."""
    ys = np.clip(np.arange(y0, y0 + h), 0, g.shape[0] - 1)
    xs = np.clip(np.arange(x0, x0 + w), 0, g.shape[1] - 1)
    return g[ys][:, xs]


def _round(v):
    """Swift's `rounded()`: halves away from zero (Python's `round` takes halves to even)."""
    return int(np.sign(v) * np.floor(abs(v) + 0.5))


_FFMPEG = shutil.which("ffmpeg")
_WARNED = False


def resize_like_spot(a, width, height):
    """Grey image `a` resized as `bitspot spot` resizes (`Raster.resized`: swscale, area when shrinking either
    side, else bilinear, bit-exact), through the ffmpeg program; without it, PIL's bilinear (boxes may then
    differ from spot's by a few pixels on small text)."""
    global _WARNED
    if _FFMPEG is None:
        if not _WARNED:
            print("eval_det: no ffmpeg program on PATH; the second look resizes with PIL, so its boxes may differ from "
                  "spot's by a few pixels (apt-get install ffmpeg)", file=sys.stderr)
            _WARNED = True
        return np.asarray(Image.fromarray(a).resize((width, height), Image.BILINEAR))
    flags = "area" if width < a.shape[1] or height < a.shape[0] else "bilinear"
    out = subprocess.run([_FFMPEG, "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{a.shape[1]}x{a.shape[0]}",
                          "-i", "-", "-vf", f"scale={width}:{height}:flags={flags}+bitexact+accurate_rnd",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         input=np.ascontiguousarray(a, dtype=np.uint8).tobytes(), capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(height, width)


def zoom_in(model, g, box, look, dev="cpu", thr=0.5, split=data_det.WORD_SPLIT):
    """The boxes the second look finds inside `box` (x0, y0, x1, y1, ...) of grey frame `g`, in g's pixels, and
    the window's pixel count: the window is 8-aligned in height, 32-aligned in width, at most 1024 wide, cut
    and resized as `TextSpotter.zoomIn` does (its rounding, swscale through `resize_like_spot`)."""
    x0, y0, x1, y1 = box[:4]
    bh, bw = y1 - y0, x1 - x0
    wh = int(np.ceil(look.height * (1 + 2 * look.margin) / 8)) * 8
    zoom = look.height / bh
    span = bw + 2 * look.margin * bh
    if span * zoom > 1024:
        zoom = 1024 / span
    ww = max(32, min(1024, int(np.ceil(span * zoom / 32)) * 32))
    sw, sh = max(2, _round(ww / zoom)), max(2, _round(wh / zoom))
    sx0, sy0 = _round((x0 + x1) / 2 - sw / 2), _round((y0 + y1) / 2 - sh / 2)
    window = resize_like_spot(_cut(g, sx0, sy0, sw, sh), ww, wh)
    _, found = _detect(model, window, dev, thr, split=split)
    fx, fy = sw / ww, sh / wh
    parts = []
    for b in found:
        nb = (sx0 + b[0] * fx, sy0 + b[1] * fy, sx0 + b[2] * fx, sy0 + b[3] * fy, b[4])
        cx, cy = (nb[0] + nb[2]) / 2, (nb[1] + nb[3]) / 2
        if x0 <= cx <= x1 and y0 <= cy <= y1:
            parts.append(nb)
    return parts, ww * wh


def second_look(model, g, boxes, look, dev="cpu", thr=0.5, split=data_det.WORD_SPLIT):
    """`boxes` after the second look (`SecondLook`), the number of boxes looked at and the windows' pixels."""
    out, looked, pixels = [], 0, 0
    for b in boxes:
        kind = look.kind(b)
        if kind is None:
            out.append(b)
            continue
        parts, px = zoom_in(model, g, b, look, dev, thr, split)
        looked, pixels = looked + 1, pixels + px
        out += parts if len(parts) >= 2 or kind == "small" else [b]
    return out, looked, pixels


@torch.no_grad()
def evaluate(model, eval_set, dev="cpu", thr=0.5, exit_thresholds=(0.05, 0.1, 0.2, 0.3, 0.5), split=data_det.WORD_SPLIT,
             join=data_det.WORD_JOIN, split_gap=data_det.SPLIT_GAP, scale=1.0, look=None):
    """Word precision/recall of `model` on `eval_set`; `scale` runs the detector on each frame resized by that
    factor (bilinear; 1.25: 640 x 360 renders at the shipped detector's 800 x 450) and scales its boxes back;
    `look` (a `SecondLook`, None: none) looks again at boxes as `bitspot spot` does."""
    frames, words = eval_set
    model.eval()
    tp = n_gt = n_rep = 0
    looked = look_pixels = 0
    tile_max, per_frame, heights = [], [], []
    for g, w in zip(frames, words):
        if scale != 1.0:
            size = (round(g.shape[1] * scale), round(g.shape[0] * scale))
            g = np.asarray(Image.fromarray(g).resize(size, Image.BILINEAR))
        out, boxes = _detect(model, g, dev, thr, split=split, join=join, split_gap=split_gap)
        if look is not None:
            boxes, n, px = second_look(model, g, boxes, look, dev, thr, split)
            looked, look_pixels = looked + n, look_pixels + px
        reported = [[v / scale for v in x[:4]] for x in boxes]
        a, b, c = metrics.detection_counts(w, [dict(bbox=x) for x in reported])
        tp, n_gt, n_rep = tp + a, n_gt + b, n_rep + c
        for x in w:
            if x["care"] and x["bbox"] is not None:
                best = max((metrics.iou(x["bbox"], r) for r in reported), default=0.0)
                heights.append((x["bbox"][3] - x["bbox"][1], best))
        tile_max.append(float(torch.sigmoid(out["tiles"]).max()))
        per_frame.append((a, b, any(x["care"] for x in w)))
    P, R, F1 = metrics.prf(tp, n_gt, n_rep)
    tile_max = np.array(tile_max)
    has_text = np.array([p[2] for p in per_frame])
    ex = []
    for t in exit_thresholds:
        skip = tile_max < t
        kept_tp = sum(p[0] for p, s in zip(per_frame, skip) if not s)
        ex.append(dict(threshold=t, no_text_skipped=float(skip[~has_text].mean()) if (~has_text).any() else None,
                       text_frames_skipped=float(skip[has_text].mean()) if has_text.any() else None,
                       recall_with_exit=kept_tp / max(n_gt, 1)))
    r = dict(precision=P or 0.0, recall=R or 0.0, f1=F1 or 0.0, tp=tp, n_gt=n_gt, n_rep=n_rep, early_exit=ex,
             frames=len(frames), by_height=by_height(heights))
    if look is not None:
        r["second_look"] = dict(asdict(look), boxes=looked, window_pixels_per_frame=look_pixels / max(len(frames), 1))
    return r


HEIGHT_BINS = (0, 8, 12, 18, 27, float("inf"))   # word heights in frame pixels


def by_height(heights, bins=HEIGHT_BINS, thr=0.5):
    """Per word-height bin (`heights`: (height, best IoU of any reported box) per cared-for word): the words
    and the share whose best box reaches IoU `thr` (not one-to-one: a box over two words counts for neither
    at 0.5, since it is twice either's width)."""
    out = []
    for lo, hi in zip(bins, bins[1:]):
        ious = [v for h, v in heights if lo <= h < hi]
        out.append(dict(height=f"{lo}-{hi:g}" if hi != float("inf") else f">={lo}", words=len(ious),
                        matched=sum(v >= thr for v in ious) / len(ious) if ious else None))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=EVAL_SEED,
                    help=f"seed of the held-out-font frames (default {EVAL_SEED}, the card's set; the card's larger set: 20204)")
    ap.add_argument("--thr", type=float, default=0.5)
    ap.add_argument("--split", type=float, nargs="*", default=[data_det.WORD_SPLIT],
                    help="word-split valley ratios to score, the last one reported in full (data_det.split_columns; 0: none; default: bitspot spot's --word-split default)")
    ap.add_argument("--join", type=float, default=data_det.WORD_JOIN,
                    help="join pieces of one line at most this many word heights apart (data_det.join_components; 0: never; default: bitspot spot's --word-join default)")
    ap.add_argument("--split-gap", type=float, default=data_det.SPLIT_GAP,
                    help="a split needs a valley at least this many word heights wide (0: one column; default: bitspot spot's --split-gap default)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="run the detector on the frames resized by this factor and scale the boxes back "
                         "(1.25: the 640 x 360 renders at the shipped detector's 800 x 450; default 1)")
    d = SecondLook()
    ap.add_argument("--second-look", action="store_true",
                    help="look again at boxes as bitspot spot does (SecondLook, spot's defaults; the --zoom-* options change "
                         "them): the detector as the pipeline runs it (default: the network's boxes alone, as the model "
                         "card's detector figures before session 25)")
    ap.add_argument("--zoom-split", type=float, default=d.aspect, metavar="ASPECT",
                    help=f"with --second-look: long boxes are those at least this many heights wide (0: none; default {d.aspect:g})")
    ap.add_argument("--zoom-height", type=float, default=d.height, metavar="PX",
                    help=f"height the second look scales a box to (default {d.height:g})")
    ap.add_argument("--zoom-max-height", type=float, default=d.max_height, metavar="PX",
                    help=f"only long boxes under this height are looked at again (0: any; default {d.max_height:g})")
    ap.add_argument("--zoom-margin", type=float, default=d.margin, metavar="HEIGHTS",
                    help=f"frame around a box the second look takes, in box heights each side (default {d.margin:g})")
    ap.add_argument("--zoom-small", type=float, default=d.small, metavar="PX",
                    help=f"boxes under this height are looked at too and kept only as the words found there (0: never; default {d.small:g})")
    args = ap.parse_args()
    if not 0.25 <= args.scale <= 4:
        ap.error(f"--scale {args.scale}: expected 0.25 to 4")
    if args.zoom_split < 0 or args.zoom_small < 0 or args.zoom_max_height < 0 or not 4 <= args.zoom_height <= 100 \
            or not 0 <= args.zoom_margin <= 3:
        ap.error("--zoom-split, --zoom-small and --zoom-max-height must be >= 0, --zoom-height 4 to 100, --zoom-margin 0 to 3")
    look = None
    if args.second_look:
        look = SecondLook(aspect=args.zoom_split or None, height=args.zoom_height, max_height=args.zoom_max_height or None,
                          margin=args.zoom_margin, small=args.zoom_small or None)
    torch.set_num_threads(1)
    import models
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    m = models.from_cfg(ck["cfg"])
    m.load_state_dict(ck["model"])
    eval_set = load_eval_set(args.n, args.seed)
    for split in args.split[:-1]:
        r = evaluate(m, eval_set, thr=args.thr, split=split or None, join=args.join, split_gap=args.split_gap,
                     scale=args.scale, look=look)
        print(f"split {split}: P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f}", flush=True)
    r = evaluate(m, eval_set, thr=args.thr, split=(args.split[-1] or None) if args.split else None, join=args.join,
                 split_gap=args.split_gap, scale=args.scale, look=look)
    r["split"] = args.split[-1] if args.split else None
    r["join"], r["split_gap"], r["scale"] = args.join, args.split_gap, args.scale
    r["params_bytes"] = models.param_bytes(m)
    r["ops"] = m.op_counts()
    print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
