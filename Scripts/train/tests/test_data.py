"""Data generators (torch-free): held-out split, fonts, crops, detector frames."""
import numpy as np
import pytest

import synth
import data_rec
import fonts_train


def _have_fonts():
    try:
        return len(fonts_train.training_fonts()) > 0
    except Exception:
        return False


needs_fonts = pytest.mark.skipif(not _have_fonts(), reason="training fonts not installed (Scripts/train/setup.sh)")


@needs_fonts
def test_training_fonts_exclude_held_out_and_draw_latin():
    fonts = fonts_train.training_fonts()
    assert not any(synth.is_held_out(f) for f in fonts)
    assert set(fonts) <= set(synth.list_fonts("train"))


@pytest.mark.skipif(len(fonts_train.families(fonts_train.training_fonts()) if _have_fonts() else []) < 20,
                    reason="fewer than 20 training families installed (run Scripts/train/setup.sh)")
def test_at_least_20_families():
    assert len(fonts_train.families(fonts_train.training_fonts())) >= 20


def test_normalize_crop_range_and_contrast():
    a = np.full((32, 40), 100, np.uint8)
    a[10:20, 5:30] = 110                      # very low contrast
    n = data_rec.normalize_crop(a)
    assert n.dtype == np.uint8 and n.shape == a.shape
    assert int(n.max()) - int(n.min()) > 30    # stretched
    flat = data_rec.normalize_crop(np.full((32, 8), 7, np.uint8))
    assert (flat == 128).all()


@needs_fonts
def test_crops_shape_labels_and_determinism():
    fonts = fonts_train.training_fonts()
    a1, l1 = data_rec.make_crop(np.random.default_rng(5), "train", fonts)
    a2, l2 = data_rec.make_crop(np.random.default_rng(5), "train", fonts)
    assert a1.shape[0] == 32 and 4 <= a1.shape[1] <= data_rec.MAX_WIDTH
    assert l1 == l2 and (a1 == a2).all()
    imgs, widths, labels = data_rec.make_batch(np.random.default_rng(6), 6, "train", fonts)
    assert imgs.shape[0] == 6 and imgs.shape[1] == 32 and imgs.shape[2] % 4 == 0
    assert all(set(l) <= set(data_rec.CHARSET) for l in labels)
    assert all(w <= imgs.shape[2] for w in widths)


@needs_fonts
def test_eval_split_uses_held_out_fonts_only():
    if not synth.list_fonts("eval"):
        pytest.skip("held-out fonts not installed")
    # pick_font(split='eval') only returns held-out fonts; training split refuses them.
    f = synth.pick_font(np.random.default_rng(0), "eval")
    assert synth.is_held_out(f)
    with pytest.raises(synth.HeldOutFontError):
        synth.pick_font(np.random.default_rng(0), "train", fonts=[f])


@needs_fonts
def test_detector_targets_round_trip_to_boxes():
    import sys
    from common import ROOT
    sys.path.insert(0, str(ROOT / "Scripts" / "eval"))
    import metrics
    import data_det
    fonts = fonts_train.training_fonts()
    rng = np.random.default_rng(11)
    tp = n = 0
    for _ in range(4):
        g, words = data_det.make_frame(rng, "train", fonts, p_empty=0.0)
        assert g.shape == (360, 640) and g.dtype == np.uint8
        k, h, ig, tiles = data_det.targets(words)
        assert k.shape == (90, 160) and tiles.shape == (9, 16)
        boxes = data_det.boxes_from_maps(k, h)
        a, b, _ = metrics.detection_counts(words, [dict(bbox=list(x[:4])) for x in boxes])
        tp, n = tp + a, n + b
    assert n == 0 or tp / n >= 0.8      # the target encoding itself loses few words


def test_separation_weights_mark_the_gap_between_two_words():
    import data_det
    h = 16.0
    words = [dict(text="AB", bbox=[100, 100, 160, 100 + h], height=h, care=True),
             dict(text="CD", bbox=[168, 100, 228, 100 + h], height=h, care=True)]   # an 8 px space
    k, _, _, _ = data_det.targets(words)
    w = data_det.separation_weights(words, k, weight=3.0)
    assert w.shape == k.shape
    assert (w[k > 0] == 1).all()                      # word kernels keep weight 1
    row = int(108 / data_det.STRIDE)                  # a row through both words
    # from the end of one kernel to the start of the next (the space and the shrunk ends) all weighted
    between = [c for c in range(k.shape[1]) if 152 < (c + 0.5) * data_det.STRIDE < 176]
    assert between and all(w[row, c] == 3.0 and k[row, c] == 0 for c in between)
    assert w[0, 0] == 1 and w[row, 0] == 1           # far from the words: 1
    # the kernels of the two words are apart: the box decoder gets two words back
    boxes = data_det.boxes_from_maps(k, np.full_like(k, np.log2(h)))
    assert len(boxes) == 2


def test_split_columns_matches_the_swift_decoders_choices():
    import data_det
    p = [0.9, 0.5, 0.9, 0.7, 0.9, 0.9]
    assert data_det.split_columns(p, 0.8) == [(0, 0), (2, 2), (4, 5)]
    assert data_det.split_columns(p, 0.6) == [(0, 0), (2, 5)]
    assert data_det.split_columns(p, 0.0) == [(0, 5)]
    assert data_det.split_columns([0.9, 0.1], 0.9) == [(0, 1)]


def test_boxes_from_maps_splits_two_joined_words():
    import data_det
    row = np.array([[0.1, 0.9, 0.9, 0.9, 0.9, 0.6, 0.95, 0.95, 0.95, 0.1]], np.float32)
    h = np.full_like(row, 3.0)
    assert len(data_det.boxes_from_maps(row, h)) == 1
    boxes = sorted(data_det.boxes_from_maps(row, h, split=0.8))
    assert len(boxes) == 2
    s = data_det.SHRINK_X * 8
    assert abs(boxes[0][0] - (4 - s)) < 1e-9 and abs(boxes[0][2] - (20 + s)) < 1e-9
    assert abs(boxes[1][0] - (24 - s)) < 1e-9 and abs(boxes[1][2] - (36 + s)) < 1e-9


def test_split_columns_min_width_matches_the_swift_decoder():
    import data_det
    p = [0.9, 0.5, 0.9, 0.5, 0.5, 0.9]
    assert data_det.split_columns(p, 0.8, min_width=2) == [(0, 2), (4, 5)]
    assert data_det.split_columns(p, 0.8, min_width=3) == [(0, 5)]
    assert data_det.split_columns([0.5, 0.5, 0.9, 0.9], 0.8, min_width=2) == [(0, 3)]


def test_boxes_from_maps_joins_the_pieces_of_one_line_only():
    import data_det
    w = 12
    score = np.zeros((2, w), np.float32)
    score[0, [0, 1, 2, 3, 5, 6, 7, 8, 11]] = 0.9
    log2h = np.full((2, w), 4.0, np.float32)   # 16-pixel words
    assert len(data_det.boxes_from_maps(score, log2h)) == 3
    joined = sorted(data_det.boxes_from_maps(score, log2h, join=0.3))
    assert len(joined) == 2 and joined[0][0] == -8 and joined[0][2] == 44
    assert len(data_det.boxes_from_maps(score, log2h, join=0.5)) == 1
    score[0, 5:9], score[1, 5:9] = 0, 0.9    # a row lower: the same line
    assert len(data_det.boxes_from_maps(score, log2h, join=0.3)) == 2
    log2h[1, 5:9] = 5                        # twice as tall: another line
    assert len(data_det.boxes_from_maps(score, log2h, join=0.3)) == 3
    row = np.array([[0.9, 0.9, 0.9, 0, 0.9, 0.9, 0.9]], np.float32)   # 8-pixel words one empty column apart
    assert len(data_det.boxes_from_maps(row, np.full_like(row, 3.0), join=0.5)) == 1
    assert len(data_det.boxes_from_maps(row, np.full_like(row, 3.0), split=0.8, join=0.5)) == 2


def test_split_gap_keeps_narrow_dips_in_one_word():
    import data_det
    row = np.array([[0.9, 0.9, 0.55, 0.9, 0.9, 0.9, 0.55, 0.55, 0.55, 0.9, 0.9]], np.float32)
    h = np.full_like(row, 5.0)   # 32-pixel word
    counts = [len(data_det.boxes_from_maps(row, h, split=0.8, split_gap=g)) for g in (None, 0.3, 0.4, 0.5)]
    assert counts == [3, 2, 2, 1]


@needs_fonts
def test_detector_frames_take_monospace_letter_spaced_and_taller_text(monkeypatch):
    import data_det
    fonts = fonts_train.training_fonts()
    if not synth.monospace(fonts):
        pytest.skip("no monospace training faces")
    drawn = []
    real = synth.render_sign

    def spy(rng, lines, font, *a, **kw):
        drawn.append((font, kw.get("tracking", 0.0)))
        return real(rng, lines, font, *a, **kw)
    monkeypatch.setattr(synth, "render_sign", spy)
    rng = np.random.default_rng(5)
    heights = []
    for _ in range(12):
        _, words = data_det.make_frame(rng, "train", fonts, p_empty=0.0, mono=1.0, tracking=1.0, max_text_h=80.0)
        heights += [w["height"] for w in words]
    assert drawn and all(synth.is_monospace(f) and 0.1 <= t <= 0.5 for f, t in drawn)
    assert max(heights) > 40          # beyond the default's 40 px
    drawn.clear()
    for _ in range(4):
        data_det.make_frame(rng, "train", fonts, p_empty=0.0)
    assert drawn and all(t == 0.0 for _, t in drawn)      # by default no letter spacing


def test_train_det_refuses_bad_data_options(tmp_path):
    import subprocess, sys
    pytest.importorskip("torch")
    from common import ROOT
    for bad in (["--mono-share", "1.5"], ["--tracking-share", "-0.1"], ["--max-text-height", "4"]):
        r = subprocess.run([sys.executable, str(ROOT / "Scripts/train/train_det.py"), "--stage", "student",
                            "--out", str(tmp_path / "x"), *bad], capture_output=True, text=True)
        assert r.returncode == 2 and ("expected" in r.stderr or "shares" in r.stderr), r.stderr
        assert not (tmp_path / "x").exists()
