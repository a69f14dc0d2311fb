import os
import sys

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
import synth  # noqa: E402
from synth import fonts  # noqa: E402

HAVE_EVAL_FONTS = bool(fonts.list_fonts("eval"))
needs_eval_fonts = pytest.mark.skipif(not HAVE_EVAL_FONTS, reason="apt-get install fonts-urw-base35 fonts-crosextra-carlito fonts-crosextra-caladea")


def any_font():
    for split in ("eval", "train"):
        fl = fonts.list_fonts(split)
        if fl:
            return fl[0]
    pytest.skip("no fonts installed")


# ---- fonts -----------------------------------------------------------------------------------

def test_eval_list_names_the_three_packages():
    pkgs, fams = fonts.eval_spec()
    assert set(pkgs) == {"fonts-urw-base35", "fonts-crosextra-carlito", "fonts-crosextra-caladea"}
    assert {"Carlito", "Caladea", "Nimbus Sans", "URW Gothic"} <= set(fams)


@needs_eval_fonts
def test_train_split_never_holds_an_eval_font():
    train = fonts.list_fonts("train")
    ev = fonts.list_fonts("eval")
    assert not set(train) & set(ev)
    for f in train:
        assert not fonts.is_held_out(f)
    rng = np.random.default_rng(0)
    for _ in range(50):
        if train:
            assert not fonts.is_held_out(fonts.pick_font(rng, "train"))
        assert fonts.is_held_out(fonts.pick_font(rng, "eval"))


@needs_eval_fonts
def test_pick_font_refuses_held_out_for_training():
    held = fonts.list_fonts("eval")
    with pytest.raises(fonts.HeldOutFontError):
        fonts.pick_font(np.random.default_rng(0), "train", fonts=[held[0]])
    with pytest.raises(fonts.HeldOutFontError):
        fonts.check_split(held[-1], "train")
    # Type 1 copies of the URW fonts are held out too (by path and by family).
    t1 = [f for f in fonts.held_out_files() if f.endswith(".pfb")]
    if t1:
        assert fonts.is_held_out(t1[0])


# ---- words -----------------------------------------------------------------------------------

def test_normalize_lpcv():
    assert synth.normalize("Hello, World!") == "HELLOWORLD"
    assert synth.normalize("b056") == "B056"
    assert synth.normalize("don't") == "DONT"
    assert synth.normalize("--") == ""


def test_room_codes_and_lines_are_clean_and_deterministic():
    rng = np.random.default_rng(3)
    codes = [synth.room_code(rng) for _ in range(200)]
    assert all(c == synth.normalize(c) and c for c in codes)
    a = synth.sign_lines(np.random.default_rng(7))
    b = synth.sign_lines(np.random.default_rng(7))
    assert a == b and 1 <= len(a) <= 6
    assert all(synth.normalize(w) for line in a for w in line)


def test_dictionary_is_alphabetic():
    words = synth.load_dictionary()
    assert len(words) > 30
    assert all(w.isalpha() and w.isascii() for w in words[:1000])


# ---- rendering -------------------------------------------------------------------------------

def _render(seed, font=None, **kw):
    rng = np.random.default_rng(seed)
    font = font or any_font()
    lines = synth.sign_lines(rng)
    return synth.render_sign(rng, lines, font, border=False, **kw), lines


def test_render_is_deterministic():
    (a, wa), _ = _render(11)
    (b, wb), _ = _render(11)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert [w.to_json() for w in wa] == [w.to_json() for w in wb]


@pytest.mark.parametrize("seed", range(6))
def test_word_boxes_hug_the_rendered_ink(seed):
    rng = np.random.default_rng(100 + seed)
    fl = fonts.list_fonts("eval") or fonts.list_fonts("train")
    if not fl:
        pytest.skip("no fonts")
    font = fl[int(rng.integers(len(fl)))]
    lines = synth.sign_lines(rng)
    img, words = synth.render_sign(rng, lines, font, size=40, border=False, fg=(0, 0, 0), bg=(255, 255, 255))
    assert [w.text for w in words] == [w for line in lines for w in line]
    alpha = np.asarray(img.getchannel("A"))
    arr = np.where(alpha == 255, np.asarray(img.convert("L")), 255)   # plate only (rounded corners are transparent)
    # Every word's own ink lies inside its box (2 px slack) and fills it (box at most 3 px + 10 % bigger).
    for w in words:
        x0, y0, x1, y1 = w.bbox
        ink = synth.ink_bbox(img, (x0 - 3, y0 - 3, x1 + 3, y1 + 3), (255, 255, 255))
        assert ink is not None, w.text
        assert ink[0] >= x0 - 2 and ink[1] >= y0 - 2 and ink[2] <= x1 + 2 and ink[3] <= y1 + 2, (w.text, ink, w.bbox)
        assert (ink[2] - ink[0]) >= (x1 - x0) * 0.9 - 3 and (ink[3] - ink[1]) >= (y1 - y0) * 0.9 - 3, (w.text, ink, w.bbox)
    # No ink outside the union of word boxes.
    mask = np.zeros(arr.shape, bool)
    for w in words:
        x0, y0, x1, y1 = [int(round(v)) for v in w.bbox]
        mask[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x1 + 2] = True
    assert not ((arr < 128) & ~mask).any()


def test_placed_boxes_follow_the_sign_into_the_scene():
    rng = np.random.default_rng(5)
    font = any_font()
    img, words = synth.render_sign(rng, [["EXIT", "B056"], ["Stairs"]], font, size=48, border=False,
                                   fg=(0, 0, 0), bg=(255, 255, 255))
    scene = Image.new("RGB", (800, 600), (255, 255, 255))
    quad = synth.sign_quad(rng, img.size, (400, 300), 200, tilt_deg=8, persp=0.15)
    placed = synth.place_on(scene, img, words, quad)
    assert [w.text for w in placed] == ["EXIT", "B056", "Stairs"]
    for w in placed:
        x0, y0, x1, y1 = w.bbox
        ink = synth.ink_bbox(scene, (x0 - 4, y0 - 4, x1 + 4, y1 + 4), (255, 255, 255))
        assert ink is not None
        # ink of this word lies inside its projected box (plus resampling slack)
        assert ink[0] >= x0 - 3 and ink[1] >= y0 - 3 and ink[2] <= x1 + 3 and ink[3] <= y1 + 3, (w.text, ink, w.bbox)


def test_camera_projection_matches_the_rendered_frame():
    rng = np.random.default_rng(9)
    font = any_font()
    img, words = synth.render_sign(rng, [["ROOM", "3074"]], font, size=60, border=False, fg=(0, 0, 0), bg=(255, 255, 255))
    world = Image.new("RGB", (1600, 1000), (255, 255, 255))
    placed = synth.place_on(world, img, words, synth.sign_quad(rng, img.size, (800, 500), 150, tilt_deg=0, persp=0))
    M = synth.pose((780, 510), 1.3, 5.0, (640, 480))
    frame = synth.render_view(world, M, (640, 480))
    for w in synth.project(placed, M, (640, 480)):
        assert w.extra["visible"] > 0.99
        x0, y0, x1, y1 = w.bbox
        ink = synth.ink_bbox(frame, (x0 - 4, y0 - 4, x1 + 4, y1 + 4), (255, 255, 255))
        assert ink is not None
        assert ink[0] >= x0 - 3 and ink[1] >= y0 - 3 and ink[2] <= x1 + 3 and ink[3] <= y1 + 3


def test_scene_camera_degrade_are_deterministic():
    def run(seed):
        rng = np.random.default_rng(seed)
        sc = synth.make_scene(rng, 320, 240)
        path = synth.camera_path(rng, 5, sc.size, (160, 120))
        fr = np.asarray(synth.render_view(sc, path[-1], (160, 120)))
        return synth.degrade(rng, fr), path
    (a, pa), (b, pb) = run(4), run(4)
    assert np.array_equal(a, b) and np.array_equal(pa, pb)
    (c, _) = run(5)
    assert not np.array_equal(a, c)


def test_every_scene_kind_renders():
    rng = np.random.default_rng(0)
    for kind in synth.SCENE_KINDS:
        im = synth.make_scene(rng, 200, 150, kind=kind)
        assert im.size == (200, 150) and im.mode == "RGB"


def test_degradations_keep_shape_and_type():
    rng = np.random.default_rng(1)
    a = (rng.random((90, 120, 3)) * 255).astype(np.uint8)
    for p in [{"motion": (6, 2)}, {"defocus": 1.5}, {"contrast": 0.3, "brightness": 20}, {"noise": 6},
              {"gray": True}, {"jpeg": 30}, synth.random_params(rng, 2.0)]:
        b = synth.degrade(rng, a, p)
        assert b.shape == a.shape and b.dtype == np.uint8
    assert synth.motion_blur(a, 6, 2, exact=False).shape == a.shape
    assert isinstance(synth.degrade(rng, Image.fromarray(a)), Image.Image)


def test_crop_word_is_rectified_to_height():
    (img, words), _ = _render(2)
    crop = synth.crop_word(img, words[0], height=32)
    assert crop.size[1] == 32 and crop.size[0] >= 8


def test_plateless_text_keeps_boxes_and_only_letters_are_opaque():
    font = any_font()
    a, wa = synth.render_sign(np.random.default_rng(8), [["PUSH"], ["Door"]], font, size=40, border=False)
    b, wb = synth.render_sign(np.random.default_rng(8), [["PUSH"], ["Door"]], font, size=40, border=False, plate=False)
    assert [w.to_json() for w in wa] == [w.to_json() for w in wb]
    alpha = np.asarray(b.getchannel("A"))
    assert alpha.max() == 255 and (alpha == 0).mean() > 0.5
    for w in wb:   # the letters are opaque somewhere inside every box
        x0, y0, x1, y1 = [int(v) for v in w.bbox]
        assert alpha[y0:y1, x0:x1].max() > 200


@pytest.mark.parametrize("motion", synth.MOTIONS)
def test_camera_never_looks_outside_the_world(motion):
    world = Image.new("L", (900, 500), 255)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        path = synth.camera_path(rng, 40, world.size, (640, 360), motion)
        for M in path[::3]:
            assert np.asarray(synth.render_view(world, M, (640, 360))).min() > 0


def _ink_columns(img, box):
    """Columns of `box` holding ink (dark pixels on the white plate)."""
    a = np.asarray(img.convert("L"))
    x0, y0, x1, y1 = [int(round(v)) for v in box]
    return (a[max(0, y0):y1 + 1, max(0, x0):x1 + 1] < 128).any(0)


def _gaps(cols):
    """Lengths of the runs of empty columns between inked ones."""
    idx = np.flatnonzero(cols)
    d = np.diff(idx) - 1
    return d[d > 0]


def test_monospace_faces_are_told_from_proportional_ones():
    mono = [f for f in fonts.list_fonts("eval") + fonts.list_fonts("train") if "Mono" in fonts.family_of(f)]
    prop = [f for f in fonts.list_fonts("eval") + fonts.list_fonts("train")
            if fonts.family_of(f) in ("Nimbus Sans", "DejaVu Sans", "Carlito", "Liberation Sans")]
    if not mono or not prop:
        pytest.skip("no monospace and proportional faces installed")
    assert synth.is_monospace(mono[0]) and not synth.is_monospace(prop[0])
    assert synth.monospace([prop[0], mono[0]]) == (mono[0],)


def test_letter_spaced_words_keep_their_boxes_and_wider_spaces():
    font = any_font()
    lines = [["EXIT", "B056"], ["Personnel"]]
    kw = dict(size=40, border=False, fg=(0, 0, 0), bg=(255, 255, 255), padding=0.5, word_spacing=1.0,
              line_spacing=1.2, align="left", rounded=0.0)
    plain, wp = synth.render_sign(np.random.default_rng(1), lines, font, **kw)
    same, ws = synth.render_sign(np.random.default_rng(1), lines, font, tracking=0.0, **kw)
    assert np.array_equal(np.asarray(plain), np.asarray(same))      # tracking 0 draws as before it existed
    img, words = synth.render_sign(np.random.default_rng(1), lines, font, tracking=0.4, **kw)
    for a, b in zip(wp, words):
        assert a.text == b.text and b.bbox[2] - b.bbox[0] > (a.bbox[2] - a.bbox[0]) + 0.4 * 40 * (len(a.text) - 1) * 0.8
        ink = synth.ink_bbox(img, (b.bbox[0] - 3, b.bbox[1] - 3, b.bbox[2] + 3, b.bbox[3] + 3), (255, 255, 255))
        assert ink is not None and abs(ink[0] - b.bbox[0]) <= 2 and abs(ink[2] - b.bbox[2]) <= 2, (b.text, ink, b.bbox)
        # the letters stand apart: each gap between letters is at least most of the tracking (16 px at 40 px)
        gaps = _gaps(_ink_columns(img, b.bbox))
        assert len(gaps) >= len(b.text) - 1 and gaps.min() >= 10, (b.text, gaps)
    # and the space between two words is wider than any gap between letters of either
    exit_, b056 = words[0], words[1]
    space = b056.bbox[0] - exit_.bbox[2]
    letters = np.concatenate([_gaps(_ink_columns(img, w.bbox)) for w in (exit_, b056)])
    assert space > letters.max(), (space, letters)
