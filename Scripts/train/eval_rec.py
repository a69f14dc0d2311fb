#!/usr/bin/env python3
"""Recognizer evaluation on held-out-font crops (fonts of Scripts/synth/fonts_eval.txt, never trained on).

The set is made by `data_rec.make_crop(rng, split='eval')` from a fixed seed (cached under data/),
each crop run at its own width (crops grouped by equal width, no padding), greedy CTC decoding.
Reported: word accuracy (exact match after LPCV normalisation), the LPCV referee score
(1 - mean min(lev/len, 1)), character error rate, per head; and the early exit: confidence =
min over time steps of the exit head's top probability; at threshold t a crop is answered by the
exit when confidence >= t, otherwise by the final head.

With --calibrate-exit SEED, the exit threshold is chosen on a second held-out-font set made from SEED (the
lowest threshold, in steps of 0.01, whose cost there is at most --max-drop points, once for the word accuracy
and once for the LPCV score) and the exit rate and cost at that threshold are then measured on the
evaluation set: an exit rate that does not come from choosing the threshold on the data it is reported on.

  .venv-train/bin/python Scripts/train/eval_rec.py checkpoints/rec/student/best.pt [--n 1000]
  .venv-train/bin/python Scripts/train/eval_rec.py CKPT --calibrate-exit 20202 [--max-drop 1] [--calibration-n 4000]

With --compare OTHER, both checkpoints read the same crops and the final heads are compared crop by crop:
the crops only one of them reads, and the exact two-sided sign test on those (paired.py). --seed picks
the set (default the reported set; the trainers' validation set is --seed 20211 --n 600).

  .venv-train/bin/python Scripts/train/eval_rec.py NEW.pt --compare checkpoints/rec/shipped/best.pt --seed 20211 --n 600
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from common import ROOT, greedy_decode
import data_rec
from exit_calibration import calibrate_threshold, per_crop

sys.path.insert(0, str(ROOT / "Scripts" / "eval"))
from metrics import levenshtein  # noqa: E402

EVAL_SEED = 20201


def load_eval_set(n=1000, seed=EVAL_SEED, cache=True):
    wide = "" if data_rec.MAX_WIDTH == 160 else f"_w{data_rec.MAX_WIDTH}"
    path = ROOT / "data" / f"rec_eval_s{seed}_n{n}{wide}.npz"
    if cache and path.exists():
        z = np.load(path, allow_pickle=False)
        imgs = [z[f"i{k}"] for k in range(n)]
        return imgs, [str(s) for s in z["labels"]]
    rng = np.random.default_rng(seed)
    imgs, labels = [], []
    while len(imgs) < n:
        a, l = data_rec.make_crop(rng, "eval", p_empty=0.0)
        if l:
            imgs.append(data_rec.normalize_crop(a))
            labels.append(l)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, labels=np.array(labels), **{f"i{k}": a for k, a in enumerate(imgs)})
    return imgs, labels


def score(preds, labels):
    exact, lpcv = per_crop(preds, labels)
    cer = sum(levenshtein(l, p) for p, l in zip(preds, labels)) / max(1, sum(len(l) for l in labels))
    return dict(word_acc=float(exact.mean()), lpcv_score=float(lpcv.mean()), cer=float(cer), n=len(labels))


EXITS = ("exit", "exit2")   # a recogniser's exit heads in the order they run (the second only in some files)


@torch.no_grad()
def run(model, imgs, dev="cpu", batch=64):
    """Predictions per head and exit confidences (min over steps of the max softmax), per crop, in order:
    (pred: head -> strings, conf: array n, or 2 x n for a network with a second exit)."""
    by_w = defaultdict(list)
    for i, a in enumerate(imgs):
        by_w[a.shape[1]].append(i)
    exits = list(EXITS if getattr(model, "late_exit_head", None) is not None else EXITS[:1])
    heads = ["final"] + exits
    pred = {h: [None] * len(imgs) for h in heads}
    conf = np.zeros((len(exits), len(imgs)))
    for w, idx in by_w.items():
        for s in range(0, len(idx), batch):
            ii = idx[s:s + batch]
            x = torch.from_numpy(np.stack([imgs[i] for i in ii])).unsqueeze(1).float().to(dev)
            out = model(x)
            for head in heads:
                ids = out[head].argmax(1).cpu().numpy()
                for j, i in enumerate(ii):
                    pred[head][i] = greedy_decode(ids[j])
            for k, head in enumerate(exits):
                conf[k, ii] = F.softmax(out[head], 1).amax(1).amin(1).cpu().numpy()
    return pred, conf[0] if len(exits) == 1 else conf


def exit_masks(conf, t):
    """Per exit head, the crops it answers at threshold t: the first exit whose confidence reaches t."""
    conf = np.atleast_2d(conf)
    left = np.ones(conf.shape[1], bool)
    masks = []
    for c in conf:
        use = left & (c >= t)
        masks.append(use)
        left &= ~use
    return masks


def cascade(per_head, conf, t):
    """Per-crop values (predictions or scores) of the heads that answer at threshold t: `per_head` maps
    'final', 'exit' (and 'exit2') to per-crop arrays or lists."""
    out = list(per_head["final"])
    for head, use in zip(EXITS, exit_masks(conf, t)):
        for i in np.nonzero(use)[0]:
            out[i] = per_head[head][i]
    return out


def evaluate(model, eval_set, dev="cpu", thresholds=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95), outputs=None):
    """Scores per head and at each exit threshold; `outputs`: `run`'s result for `eval_set` when already made."""
    imgs, labels = eval_set
    if outputs is None:
        was = model.training
        model.eval()
        outputs = run(model, imgs, dev)
        model.train(was)
    pred, conf = outputs
    r = {h: score(pred[h], labels) for h in pred}
    ex = []
    for t in thresholds:
        masks = exit_masks(conf, t)
        s = score(cascade(pred, conf, t), labels)
        row = dict(threshold=t, exit_rate=float(sum(m.mean() for m in masks)))
        if len(masks) > 1:
            row["exit_rates"] = {h: float(m.mean()) for h, m in zip(EXITS, masks)}
        ex.append(dict(row, **s))
    r["early_exit"] = ex
    return r


def calibrated_exit(model, calibration_set, eval_set, max_drop=1.0, dev="cpu", eval_outputs=None):
    """Thresholds chosen on `calibration_set` (per metric), measured on `eval_set` (`eval_outputs`: `run`'s
    result for it when already made)."""
    model.eval()
    scored = []
    for (imgs, labels), outputs in ((calibration_set, None), (eval_set, eval_outputs)):
        pred, conf = outputs if outputs is not None else run(model, imgs, dev)
        per = {h: per_crop(p, labels) for h, p in pred.items()}
        scored.append(dict(conf=conf, **{m: {h: per[h][k] for h in per} for k, m in enumerate(("word_acc", "lpcv_score"))}))
    cal, ev = scored
    out = []
    for metric in ("word_acc", "lpcv_score"):
        # one threshold for every exit: the cascade's per-crop score at each candidate threshold
        t = calibrate_threshold(cal["conf"], None, cal[metric]["final"], max_drop,
                                combine=lambda t: np.array(cascade(cal[metric], cal["conf"], t)))
        row = dict(calibrated_on=metric, threshold=t, exit_rate=float(sum(m.mean() for m in exit_masks(ev["conf"], t))))
        for m in ("word_acc", "lpcv_score"):
            f = ev[m]["final"]
            row[m] = float(np.mean(cascade(ev[m], ev["conf"], t)))
            row[m + "_drop_points"] = (row[m] - float(f.mean())) * 100
        out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--max-width", type=int, default=data_rec.MAX_WIDTH,
                    help="widest crop in pixels at 32 high, wider ones squeezed (default %(default)s, as in training)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calibrate-exit", type=int, metavar="SEED",
                    help="choose the exit threshold on a second set of --n crops made from SEED, report it on the evaluation set")
    ap.add_argument("--max-drop", type=float, default=1.0, help="points the exit may cost on the calibration set (default 1)")
    ap.add_argument("--calibration-n", type=int, help="crops in the calibration set (default: --n)")
    ap.add_argument("--seed", type=int, default=EVAL_SEED,
                    help=f"seed of the held-out-font crops (default {EVAL_SEED}, the reported set)")
    ap.add_argument("--compare", type=Path, metavar="OTHER",
                    help="a second checkpoint: compare the final heads crop by crop on the same crops (sign test)")
    args = ap.parse_args()
    data_rec.MAX_WIDTH = args.max_width
    torch.set_num_threads(args.threads)
    import json
    import models
    from export import load_model

    if args.compare is not None and args.calibrate_exit is not None:
        ap.error("--compare and --calibrate-exit are separate runs")
    m, _ = load_model(args.checkpoint)
    if args.calibrate_exit is not None and args.calibrate_exit == args.seed:
        ap.error(f"--calibrate-exit needs a seed other than the evaluation set's ({args.seed})")
    eval_set = load_eval_set(args.n, seed=args.seed)
    outputs = run(m, eval_set[0])
    if args.compare is not None:
        from paired import compare
        labels = eval_set[1]
        other = run(load_model(args.compare)[0], eval_set[0])[0]["final"]
        r = compare([p == l for p, l in zip(outputs[0]["final"], labels)], [p == l for p, l in zip(other, labels)])
        print(f"{args.n} crops (seed {args.seed}): {args.checkpoint} {r['acc_a']:.3f}, {args.compare} {r['acc_b']:.3f}; "
              f"read only by the first {r['only_a']}, only by the second {r['only_b']}; "
              f"two-sided sign test p = {r['sign_test_p']:.3f}")
        return
    r = evaluate(m, eval_set, outputs=outputs)
    if args.calibrate_exit is not None:
        calibration_set = load_eval_set(args.calibration_n or args.n, seed=args.calibrate_exit)
        r["calibrated_exit"] = calibrated_exit(m, calibration_set, eval_set, args.max_drop, eval_outputs=outputs)
    r["params_bytes"] = models.param_bytes(m)
    r["ops"] = m.op_counts()
    r["binary_channels"] = m.binary_channels()
    print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
