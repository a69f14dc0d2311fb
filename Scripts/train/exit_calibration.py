"""Choosing the recognizer's early-exit threshold on one set of crops for use on another (numpy only, so
the script tests run without torch). Used by eval_rec.py --calibrate-exit."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from metrics import levenshtein  # noqa: E402


def per_crop(preds, labels):
    """Per-crop exact match (0/1) and LPCV referee score (1 - min(lev/len, 1))."""
    exact = np.array([float(p == l) for p, l in zip(preds, labels)])
    lpcv = np.array([1 - min(levenshtein(l, p) / max(len(l), 1), 1.0) for p, l in zip(preds, labels)])
    return exact, lpcv


def calibrate_threshold(conf, exit_scores, final_scores, max_drop, grid=None, combine=None):
    """The lowest threshold of `grid` at which answering the crops with conf >= t by the exit costs at most
    `max_drop` points (of the per-crop scores' mean, x100) against the final head alone; 1.0 when none does.
    `combine(t)`: the per-crop scores at threshold t where the exits are not one head (then `conf` and
    `exit_scores` are not used)."""
    grid = np.round(np.arange(0.30, 1.0, 0.01), 2) if grid is None else grid
    base = final_scores.mean()
    if combine is None:
        combine = lambda t: np.where(conf >= t, exit_scores, final_scores)  # noqa: E731
    for t in grid:
        if (combine(t).mean() - base) * 100 >= -max_drop - 1e-9:
            return float(t)
    return 1.0
