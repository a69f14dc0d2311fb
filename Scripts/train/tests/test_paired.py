"""The paired comparison of eval_rec.py --compare (paired.py: numpy, no model)."""
import numpy as np
import pytest

from paired import compare, sign_test


def test_sign_test_exact_values():
    assert sign_test(0, 0) == 1.0
    assert sign_test(0, 5) == pytest.approx(2 / 32)        # all five discordant crops one way
    assert sign_test(5, 0) == sign_test(0, 5)              # two-sided: symmetric
    assert sign_test(3, 3) == 1.0
    # 1 vs 9: 2 * (1 + 10) / 1024
    assert sign_test(1, 9) == pytest.approx(22 / 1024)
    # session 13's comparison, 66 vs 56 discordant crops: not significant
    assert 0.40 < sign_test(66, 56) < 0.45


def test_compare_counts_discordant_crops():
    a = np.array([1, 1, 0, 0, 1, 0], dtype=bool)
    b = np.array([1, 0, 1, 0, 0, 0], dtype=bool)
    r = compare(a, b)
    assert (r["n"], r["only_a"], r["only_b"]) == (6, 2, 1)
    assert r["acc_a"] == pytest.approx(0.5) and r["acc_b"] == pytest.approx(1 / 3)
    assert r["sign_test_p"] == pytest.approx(1.0)          # 2 vs 1: 2 * (1 + 3) / 8 = 1


def test_compare_refuses_different_lengths():
    with pytest.raises(ValueError):
        compare(np.ones(3), np.ones(4))
