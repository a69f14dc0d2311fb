"""Recognizer crops made on the fly: one word, as the detector would cut it from a drone frame.

Pipeline per crop (all randomness from the numpy Generator passed in; torch-free):
  a line of 1-3 words (dictionary words, numbers, room codes, mixed case) drawn by `synth.render_sign`
  in a training font -> placed with tilt/perspective on a small procedural or photo background ->
  scaled so the target word is 7-48 px tall (the size it has in a 1280x720 frame) -> degraded there
  (`synth.degrade`: motion blur, defocus, gamma, low contrast, grayscale, noise, JPEG) -> cut along
  the word's axis-aligned box with jitter (detector boxes are neither tight nor exact; neighbours
  may intrude) -> grey, resized to 32 px high keeping the aspect ratio.
Some words get random case per letter (real posters do this). A few crops (p_empty) hold no word (clutter or a plate edge) and have the empty string as label.

`normalize_crop` is the input normalisation the runtime must apply too (see MODEL_CARD.md).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from common import CHARSET  # noqa: F401  (also puts Scripts/ on sys.path)
import synth

HEIGHT = 32
MAX_WIDTH = 160


def normalize_crop(a: np.ndarray) -> np.ndarray:
    """Per-crop contrast normalisation to uint8: 128 + 50 * (x - mean) / max(std, 8), clipped.

    The runtime applies the same to each 32-px-high grey crop before the first (8-bit) layer."""
    x = a.astype(np.float32)
    m, s = float(x.mean()), float(x.std())
    return np.clip(np.rint(128.0 + 50.0 * (x - m) / max(s, 8.0)), 0, 255).astype(np.uint8)


def _background(rng, w, h, photos):
    if rng.random() < 0.5:
        return synth.make_scene(rng, w, h, photos=photos, clutter=rng.random() < 0.5)
    c = tuple(int(v) for v in rng.integers(0, 256, 3))
    return Image.new("RGB", (w, h), c)


def resize_to_height(a: np.ndarray, height: int = HEIGHT, max_width: int | None = None) -> np.ndarray:
    """Scaled to `height` keeping the aspect ratio, squeezed to `max_width` (default `MAX_WIDTH`, which the
    trainers' and evaluators' --max-width set) when wider."""
    max_width = MAX_WIDTH if max_width is None else max_width
    h, w = a.shape[:2]
    nw = int(np.clip(round(w * height / max(h, 1)), 4, max_width))
    return np.asarray(Image.fromarray(a).resize((nw, height), Image.BILINEAR))


def _empty_crop(rng, photos, strength):
    """A crop with no text: a patch of a background with clutter (what a false detection cuts)."""
    h = int(rng.integers(10, 40))
    w = int(h * rng.uniform(0.8, 6))
    bg = synth.make_scene(rng, w + 8, h + 8, photos=photos, clutter=True)
    g = synth.degrade(rng, np.asarray(bg.convert("L")), synth.random_params(rng, strength))
    return resize_to_height(np.ascontiguousarray(g[4:4 + h, 4:4 + w]))


def make_crop(rng, split: str = "train", fonts=None, photos=None, p_empty: float = 0.03,
              strength: float | None = None) -> tuple[np.ndarray, str]:
    """(uint8 array 32 x W (grey, not yet normalised), normalised label A-Z0-9)."""
    font = synth.pick_font(rng, split, fonts)
    n = int(rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
    style = ("upper", "title", "lower", "mixed")[int(rng.choice(4, p=[0.45, 0.3, 0.1, 0.15]))]
    line = synth.sign_lines(rng, n_lines=1, max_words_per_line=n, p_code=0.3, style=style)[0]
    if rng.random() < 0.12:   # random case per letter, as on some real posters ("SpOngBOb rAWr")
        line = ["".join(c.upper() if rng.random() < 0.5 else c.lower() for c in w) for w in line]
    plate, words = synth.render_sign(rng, [line], font, size=int(rng.integers(24, 60)),
                                     padding=float(rng.uniform(0.15, 0.8)))
    words = [w for w in words if w.norm]
    if not words:
        return make_crop(rng, split, fonts, photos, p_empty, strength)
    target = words[int(rng.integers(len(words)))]
    W, H = plate.size
    margin = int(max(W, H) * 0.3) + 8
    canvas = _background(rng, W + 2 * margin, H + 2 * margin, photos)
    quad = synth.sign_quad(rng, (W, H), (W / 2 + margin, H / 2 + margin), H,
                           tilt_deg=float(rng.normal(0, 2.5)), persp=float(abs(rng.normal(0, 0.08))))
    placed = synth.place_on(canvas, plate, [target], quad, shadow=float(rng.uniform(0, 0.5)) if rng.random() < 0.3 else 0.0)
    word = placed[0]
    # Scale so the word has the height it has in a frame; degrade there (only a region around the
    # word, which is all the crop can see, to keep generation cheap).
    th = float(np.exp(rng.uniform(np.log(7), np.log(48))))
    s = th / max(word.height, 1.0)
    x0, y0, x1, y1 = word.bbox
    m = 0.8 * (y1 - y0)
    rx0, ry0 = max(0, int(x0 - m)), max(0, int(y0 - m))
    rx1, ry1 = min(canvas.width, int(x1 + m) + 1), min(canvas.height, int(y1 + m) + 1)
    region = canvas.crop((rx0, ry0, rx1, ry1))
    cw, ch = max(8, int(region.width * s)), max(8, int(region.height * s))
    small = region.resize((cw, ch), Image.BILINEAR if s > 1 else Image.BOX).convert("L")
    strength = float(rng.uniform(0.0, 1.1)) if strength is None else strength
    params = synth.random_params(rng, strength)
    # Motion blur relative to text size (drone motion), kept mostly readable.
    mx, my = params["motion"]
    lim = max(1.0, th * 0.35)
    params["motion"] = (float(np.clip(mx, -lim, lim)), float(np.clip(my, -lim / 2, lim / 2)))
    params["defocus"] = min(params["defocus"], 0.12 * th)
    g = synth.degrade(rng, np.asarray(small), params)
    x0, y0, x1, y1 = (x0 - rx0) * s, (y0 - ry0) * s, (x1 - rx0) * s, (y1 - ry0) * s
    hh = y1 - y0
    if rng.random() < p_empty:
        return _empty_crop(rng, photos, strength), ""
    label = word.norm
    jx0, jx1 = rng.uniform(-0.08, 0.3, 2) * hh
    jy0, jy1 = rng.uniform(-0.03, 0.2, 2) * hh
    bx0 = int(np.clip(np.floor(x0 - jx0), 0, cw - 2)); bx1 = int(np.clip(np.ceil(x1 + jx1), bx0 + 2, cw))
    by0 = int(np.clip(np.floor(y0 - jy0), 0, ch - 2)); by1 = int(np.clip(np.ceil(y1 + jy1), by0 + 2, ch))
    crop = g[by0:by1, bx0:bx1]
    return resize_to_height(np.ascontiguousarray(crop)), label


def make_batch(rng, n: int, split: str = "train", fonts=None, photos=None, **kw):
    """n crops normalised and right-padded (edge value) to the batch's widest (multiple of 4).
    Returns (uint8 array n x 32 x Wmax, widths, labels)."""
    items = [make_crop(rng, split, fonts, photos, **kw) for _ in range(n)]
    arrs = [normalize_crop(a) for a, _ in items]
    wmax = int(np.ceil(max(a.shape[1] for a in arrs) / 4) * 4)
    out = np.empty((n, HEIGHT, wmax), np.uint8)
    for i, a in enumerate(arrs):
        out[i] = np.pad(a, ((0, 0), (0, wmax - a.shape[1])), mode="edge")
    return out, np.array([a.shape[1] for a in arrs]), [l for _, l in items]
