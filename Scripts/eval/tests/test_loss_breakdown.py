import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from loss_breakdown import breakdown  # noqa: E402


def test_each_word_is_charged_to_what_was_done_with_it():
    gt = [dict(text="EXIT", bbox=[0, 0, 40, 10]), dict(text="ROOM", bbox=[50, 0, 90, 10]),
          dict(text="B056", bbox=[0, 20, 40, 30]), dict(text="LAB", bbox=[200, 200, 230, 210])]
    reported = [dict(text="EXITROOM", bbox=[0, 0, 90, 10]),     # two words joined
                dict(text="B05", bbox=[0, 20, 40, 30]),         # one misread letter of four
                dict(text="NOISE", bbox=[300, 300, 340, 310])]  # covers nothing
    r = breakdown([(gt, reported)])
    assert r["words"] == 4
    assert r["merged"]["words"] == 2 and abs(r["merged"]["points_lost"] - (1.0 + 1.0) / 4) < 1e-9
    assert r["single"]["words"] == 1 and abs(r["single"]["points_lost"] - 0.25 / 4) < 1e-9
    assert r["missed"]["words"] == 1 and abs(r["missed"]["points_lost"] - 1.0 / 4) < 1e-9
    assert r["boxes_covering_no_word"] == 1
