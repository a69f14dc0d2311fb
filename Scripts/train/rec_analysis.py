#!/usr/bin/env python3
"""Where a recogniser's errors are, and which exit confidence answers the most crops within a point.

Reads the held-out-font evaluation crops (`eval_rec.load_eval_set`, seed 20201) and prints, for the final head:
the edit-distance histogram, word accuracy by label kind (digits, letters, codes mixing both), by label length
and by crop width, the commonest one-character substitutions and the length errors. Then, for the exit head,
several confidences of a greedy CTC reading (the runtime's is `min_top`: the least top-class probability over
the time steps), each with its threshold chosen on a calibration set (--calibration-seed, --calibration-n) to
cost at most --max-drop points of word accuracy or of the LPCV score there, and measured on the evaluation set.

  .venv-train/bin/python Scripts/train/rec_analysis.py checkpoints/rec/shipped/best.pt [--n 1000] [--calibration-n 2000]
"""
from __future__ import annotations

import argparse
from collections import Counter, defaultdict

import numpy as np
import torch
import torch.nn.functional as F

import data_rec
import eval_rec
import models
from common import greedy_decode
from eval_rec import levenshtein
from exit_calibration import calibrate_threshold, per_crop


@torch.no_grad()
def readings(model, imgs, batch=64):
    """Final and exit readings per crop, and the exit head's confidences by name."""
    by_w = defaultdict(list)
    for i, a in enumerate(imgs):
        by_w[a.shape[1]].append(i)
    final, exit_ = [None] * len(imgs), [None] * len(imgs)
    conf = defaultdict(lambda: np.zeros(len(imgs)))
    for idx in by_w.values():
        for s in range(0, len(idx), batch):
            ii = idx[s:s + batch]
            out = model(torch.from_numpy(np.stack([imgs[i] for i in ii])).unsqueeze(1).float())
            fi, ei = out["final"].argmax(1).numpy(), out["exit"].argmax(1).numpy()
            for j, i in enumerate(ii):
                final[i], exit_[i] = greedy_decode(fi[j]), greedy_decode(ei[j])
            p = F.softmax(out["exit"], 1)                       # B x classes x T
            top2 = p.topk(2, dim=1).values
            top, second = top2[:, 0], top2[:, 1]
            emits = out["exit"].argmax(1) != 0
            entropy = -(p * p.clamp_min(1e-9).log()).sum(1)
            conf["min_top"][ii] = top.amin(1).numpy()
            conf["path_prob"][ii] = top.log().sum(1).exp().numpy()
            conf["geo_mean_top"][ii] = top.log().mean(1).exp().numpy()
            conf["min_margin"][ii] = (top - second).amin(1).numpy()
            conf["min_top_emitting"][ii] = torch.where(emits, top, torch.ones_like(top)).amin(1).numpy()
            conf["exp_neg_max_entropy"][ii] = torch.exp(-entropy.amax(1)).numpy()
    return final, exit_, dict(conf)


def kind(label):
    return "digits" if label.isdigit() else "letters" if label.isalpha() else "codes"


def deleted(truth, read):
    """The characters of `truth` a minimal alignment with `read` deletes, and whether each is one of a doubled letter."""
    n, k = len(truth), len(read)
    d = np.zeros((n + 1, k + 1), int)
    d[:, 0], d[0, :] = range(n + 1), range(k + 1)
    for i in range(1, n + 1):
        for j in range(1, k + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (truth[i - 1] != read[j - 1]))
    i, j, out = n, k, []
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + (truth[i - 1] != read[j - 1]):
            i, j = i - 1, j - 1
        elif i > 0 and d[i, j] == d[i - 1, j] + 1:
            c = truth[i - 1]
            out.append((c, (i >= 2 and truth[i - 2] == c) or (i < n and truth[i] == c)))
            i -= 1
        else:
            j -= 1
    return out[::-1]


def error_report(preds, labels, imgs):
    d = [levenshtein(l, p) for p, l in zip(preds, labels)]
    print(f"final head: word accuracy {np.mean([x == 0 for x in d]):.3f} on {len(labels)} crops")
    print("edit distance (4 = 4 or more):", dict(sorted(Counter(min(x, 4) for x in d).items())))
    groups = {"kind": lambda i: kind(labels[i]), "length (10 = 10+)": lambda i: min(len(labels[i]), 10),
              "width / 32 px": lambda i: imgs[i].shape[1] // 32}
    for name, key in groups.items():
        g = defaultdict(list)
        for i, x in enumerate(d):
            g[key(i)].append(x == 0)
        print(f"by {name}:", ", ".join(f"{k} {np.mean(v):.3f} (n {len(v)})" for k, v in sorted(g.items())))
    subs = Counter((a, b) for p, l, x in zip(preds, labels, d) if x == 1 and len(p) == len(l)
                   for a, b in zip(l, p) if a != b)
    print("one-character substitutions (truth -> read):", ", ".join(f"{a}->{b} {n}" for (a, b), n in subs.most_common(12)))
    dels = [c for p, l in zip(preds, labels) if p != l for c in deleted(l, p)]
    print(f"deleted characters: {len(dels)}, {sum(t for _, t in dels)} of them doubled letters;",
          ", ".join(f"{c} {n}" for c, n in Counter(c for c, _ in dels).most_common(10)))
    print("length read - true, errors only:", dict(sorted(Counter(len(p) - len(l) for p, l, x in zip(preds, labels, d) if x).items())))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--max-width", type=int, default=data_rec.MAX_WIDTH,
                    help="widest crop in pixels at 32 high, wider ones squeezed (default %(default)s, as in training)")
    ap.add_argument("--calibration-seed", type=int, default=20202)
    ap.add_argument("--calibration-n", type=int, default=2000)
    ap.add_argument("--max-drop", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    data_rec.MAX_WIDTH = args.max_width
    torch.set_num_threads(args.threads)
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model = models.from_cfg(ck["cfg"])
    model.load_state_dict(ck["model"])
    model.eval()
    ev_imgs, ev_labels = eval_rec.load_eval_set(args.n)
    cal_imgs, cal_labels = eval_rec.load_eval_set(args.calibration_n, seed=args.calibration_seed)
    ev, cal = readings(model, ev_imgs), readings(model, cal_imgs)
    error_report(ev[0], ev_labels, ev_imgs)

    scores = []
    for (final, exit_, _), labels in ((cal, cal_labels), (ev, ev_labels)):
        fw, fl = per_crop(final, labels)
        ew, el = per_crop(exit_, labels)
        scores.append({"word_acc": (ew, fw), "lpcv_score": (el, fl)})
    print(f"\nexit head on the evaluation crops: word accuracy {scores[1]['word_acc'][0].mean():.3f} "
          f"(final {scores[1]['word_acc'][1].mean():.3f}); calibration set {args.calibration_n} crops, seed "
          f"{args.calibration_seed} (final {scores[0]['word_acc'][1].mean():.3f})")
    print("confidence            calibrated on  threshold  exit rate  word acc (points)   LPCV score (points)")
    for name in cal[2]:
        grid = np.unique(np.quantile(cal[2][name], np.linspace(0, 1, 201)))
        for metric in ("word_acc", "lpcv_score"):
            t = calibrate_threshold(cal[2][name], *scores[0][metric], args.max_drop, grid=grid)
            use = ev[2][name] >= t
            row = []
            for m in ("word_acc", "lpcv_score"):
                e, f = scores[1][m]
                v = np.where(use, e, f).mean()
                row.append(f"{v:.4f} ({(v - f.mean()) * 100:+.2f})")
            print(f"{name:21s} {metric:14s} {t:9.4f}  {use.mean():9.3f}  {row[0]:18s}  {row[1]}")


if __name__ == "__main__":
    main()
