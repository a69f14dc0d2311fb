"""rec_analysis.py (needs torch): the exit confidences agree with the runtime's (min_top) and with each other's definitions."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import models  # noqa: E402
from rec_analysis import deleted, kind, readings  # noqa: E402


def test_label_kinds():
    assert [kind(s) for s in ("1234", "PAWNEE", "B056")] == ["digits", "letters", "codes"]


def test_confidences_of_a_random_recogniser():
    torch.manual_seed(0)
    model = models.Recognizer(binary=True).eval()
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (32, w)).astype(np.float32) for w in (64, 96, 64)]
    final, exit_, conf = readings(model, imgs)
    assert len(final) == len(exit_) == 3 and all(isinstance(s, str) for s in final + exit_)
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(imgs[1])[None, None])["exit"], 1)[0]   # classes x T
    top = p.max(0).values
    assert np.isclose(conf["min_top"][1], float(top.min()), rtol=1e-5)
    assert np.isclose(conf["path_prob"][1], float(top.prod()), rtol=1e-4)
    # Every confidence is a probability-like score in [0, 1]; the path probability never exceeds the least step.
    for c in conf.values():
        assert c.shape == (3,) and np.all((c >= 0) & (c <= 1 + 1e-6))
    assert np.all(conf["path_prob"] <= conf["min_top"] + 1e-6)
    assert np.all(conf["min_top_emitting"] >= conf["min_top"] - 1e-6)


def test_deleted_characters():
    assert deleted("UNSCREW", "UNSCRW") == [("E", False)]
    assert deleted("BALLOON", "BALON") == [("L", True), ("O", True)]
    assert deleted("ABC", "ABC") == [] and deleted("AB", "XAB") == []
