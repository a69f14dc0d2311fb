"""Crop-by-crop comparison of two models on the same crops (numpy only, so the script tests run without
torch). Used by eval_rec.py --compare: with two models near 79 % on 600-1000 crops, a point or two of
difference is within what another seed gives; the exact two-sided sign test on the crops only one model
reads says whether a difference is more than that."""
from __future__ import annotations

from math import comb

import numpy as np


def sign_test(only_a, only_b):
    """Exact two-sided sign test p-value for `only_a` successes against `only_b` (the discordant pairs)."""
    m = only_a + only_b
    if m == 0:
        return 1.0
    k = min(only_a, only_b)
    return min(1.0, 2 * sum(comb(m, i) for i in range(k + 1)) / 2 ** m)


def compare(correct_a, correct_b):
    """Accuracies, discordant counts and the sign test for two per-crop 0/1 arrays over the same crops."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"per-crop results differ in length: {a.shape} vs {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    return dict(n=int(a.size), acc_a=float(a.mean()), acc_b=float(b.mean()), only_a=only_a, only_b=only_b,
                sign_test_p=sign_test(only_a, only_b))
