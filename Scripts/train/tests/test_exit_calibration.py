"""The exit threshold calibration of eval_rec.py (exit_calibration.py: numpy, no model)."""
import numpy as np

from exit_calibration import calibrate_threshold, per_crop


def test_per_crop_scores():
    exact, lpcv = per_crop(["ABC", "AB", ""], ["ABC", "ABC", "XY"])
    assert exact.tolist() == [1.0, 0.0, 0.0]
    assert np.allclose(lpcv, [1.0, 2 / 3, 0.0])


def test_threshold_is_the_lowest_within_the_budget():
    # Ten crops: the final head reads all; the exit misreads the two least confident ones.
    conf = np.array([0.95, 0.9, 0.9, 0.85, 0.8, 0.8, 0.75, 0.7, 0.4, 0.35])
    final = np.ones(10)
    exit_ = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], dtype=float)
    # Any threshold above 0.4 costs nothing; 0.36-0.40 lets in one misread crop (10 points), 0.35 two.
    assert calibrate_threshold(conf, exit_, final, max_drop=1.0) == 0.41
    assert calibrate_threshold(conf, exit_, final, max_drop=10.0) == 0.36
    assert calibrate_threshold(conf, exit_, final, max_drop=20.0) == 0.30


def test_no_threshold_within_the_budget():
    conf = np.array([0.99, 0.99])
    assert calibrate_threshold(conf, np.zeros(2), np.ones(2), max_drop=1.0) == 1.0


def test_threshold_for_a_cascade_of_exits():
    """`combine`: the per-crop scores at each threshold come from the caller (two exits, one threshold)."""
    final = np.ones(4)
    seen = []

    def combine(t):   # a second exit that misreads one crop at thresholds under 0.5
        seen.append(t)
        return np.array([1, 1, 1, 0 if t < 0.5 else 1], dtype=float)

    assert calibrate_threshold(None, None, final, max_drop=1.0, combine=combine) == 0.5
    assert seen[0] == 0.30 and seen[-1] == 0.5
