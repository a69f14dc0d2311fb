"""Signs and posters with per-word boxes.

`render_sign` draws lines of words on a plate (RGBA: the alpha is the plate's shape) and returns the
image with one `WordBox` per word. A word's box is FreeType's bounding box of the drawn string
(`ImageDraw.textbbox`), which hugs the ink to within about a pixel; boxes are kept as quads so that
perspective placement (`scene.place_on`) and camera motion (`camera.project`) can carry them exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw

from .fonts import load_font
from .words import normalize


@dataclass
class WordBox:
    """One word: the text as drawn, its LPCV-normalised form, its quad (TL, TR, BR, BL; x, y) and
    its line and sign indices."""
    text: str
    quad: np.ndarray
    line: int = 0
    sign: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def norm(self) -> str:
        return normalize(self.text)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """Axis-aligned (x0, y0, x1, y1) of the quad."""
        q = np.asarray(self.quad, dtype=float)
        return float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())

    @property
    def height(self) -> float:
        """Distance between the middles of the top and bottom edges (text height in pixels)."""
        q = np.asarray(self.quad, dtype=float)
        return float(np.linalg.norm((q[3] + q[2]) / 2 - (q[0] + q[1]) / 2))

    def transformed(self, H: np.ndarray) -> "WordBox":
        """The same word with its quad mapped by a 3x3 homography/affine `H`."""
        return replace(self, quad=apply_h(H, self.quad), extra=dict(self.extra))

    def to_json(self) -> dict:
        return {"text": self.text, "norm": self.norm, "quad": np.round(np.asarray(self.quad), 2).tolist(),
                "bbox": [round(v, 2) for v in self.bbox], "line": self.line, "sign": self.sign, **self.extra}


def apply_h(H: np.ndarray, pts) -> np.ndarray:
    """Map (N, 2) points with a 3x3 matrix (projective divide included)."""
    p = np.asarray(pts, dtype=float)
    ph = np.c_[p, np.ones(len(p))] @ np.asarray(H, dtype=float).T
    return ph[:, :2] / ph[:, 2:3]


def quad_of(box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def _lum(c) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def sign_colors(rng, polarity: str | None = None, min_contrast: float = 90.0) -> tuple[tuple, tuple, str]:
    """(foreground, background, polarity) colours: 'dark_on_light' or 'light_on_dark', with tints."""
    polarity = polarity or ("dark_on_light" if rng.random() < 0.65 else "light_on_dark")
    for _ in range(100):
        light = tuple(int(v) for v in np.clip(rng.integers(175, 256) + rng.integers(-25, 26, 3), 0, 255))
        dark_base = int(rng.integers(0, 90))
        # Dark colours are often saturated (red, blue, green signs).
        tint = rng.integers(-40, 80, 3) if rng.random() < 0.5 else rng.integers(-10, 11, 3)
        dark = tuple(int(v) for v in np.clip(dark_base + tint, 0, 255))
        if _lum(light) - _lum(dark) >= min_contrast:
            break
    return (dark, light, polarity) if polarity == "dark_on_light" else (light, dark, polarity)


def render_sign(rng, lines: list[list[str]], font: str, size: int | None = None, *,
                polarity: str | None = None, fg=None, bg=None, padding: float | None = None,
                line_spacing: float | None = None, word_spacing: float | None = None,
                align: str | None = None, border: bool | None = None, line_scales: list[float] | None = None,
                rounded: float | None = None, sign_index: int = 0, plate: bool = True, tracking: float = 0.0):
    """Draw `lines` (lists of words) with the font file `font` on a plate.

    `tracking` spaces the letters of every word apart by that fraction of the font size (0: the font's own
    advances and kerning; lettering on banners and monospace signage is often spaced 0.1-0.5 em). It is
    never drawn from `rng`, so callers that leave it at 0 get the same signs as before it existed.

    Every parameter left as None is drawn from `rng` (a numpy Generator), so the call is a pure
    function of (rng state, arguments). Returns (image, words): an RGBA PIL image whose alpha is the
    plate (or, with plate=False, only the text and border: lettering painted straight on a wall), and a
    list of WordBox in image pixels, in reading order.
    """
    size = int(size or rng.integers(28, 72))
    if fg is None or bg is None:
        f2, b2, polarity = sign_colors(rng, polarity)
        fg, bg = fg or f2, bg or b2
    padding = size * (padding if padding is not None else float(rng.uniform(0.4, 1.2)))
    line_spacing = line_spacing if line_spacing is not None else float(rng.uniform(1.1, 1.5))
    word_spacing = word_spacing if word_spacing is not None else float(rng.uniform(0.8, 1.6))
    align = align or ("center" if rng.random() < 0.6 else "left")
    border = bool(rng.random() < 0.35) if border is None else border
    rounded = rounded if rounded is not None else (float(rng.uniform(0, 0.5)) if rng.random() < 0.5 else 0.0)
    if line_scales is None:
        line_scales = [1.0] * len(lines)
        if len(lines) > 1 and rng.random() < 0.4:   # poster title
            line_scales[0] = float(rng.uniform(1.2, 1.8))

    # Layout: baseline positions and word x offsets per line.
    layout, widths, heights = [], [], []
    for li, line in enumerate(lines):
        f = load_font(font, max(6, int(round(size * line_scales[li]))))
        # letter spacing widens the spaces too, as CSS letter-spacing does (one gap after the word, one after the space)
        space = f.getlength(" ") * word_spacing + 2 * tracking * f.size
        xs, x = [], 0.0
        for w in line:
            xs.append(x)
            x += _word_length(f, w, tracking * f.size) + space
        width = x - space if line else 0.0
        asc, desc = f.getmetrics()
        layout.append((f, xs, asc, desc))
        widths.append(width)
        heights.append((asc + desc) * line_spacing)
    W = int(np.ceil(max(widths + [1.0]) + 2 * padding))
    H = int(np.ceil(sum(heights) + 2 * padding))

    img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    r = int(rounded * min(W, H) / 2)
    d.rounded_rectangle([0, 0, W - 1, H - 1], radius=r, fill=tuple(bg) + (255,))
    if border:
        bw = max(1, int(size * rng.uniform(0.05, 0.15)))
        inset = int(padding * rng.uniform(0.15, 0.4))
        d.rounded_rectangle([inset, inset, W - 1 - inset, H - 1 - inset], radius=max(0, r - inset),
                            outline=tuple(fg) + (255,), width=bw)
    words: list[WordBox] = []
    y = padding
    for li, (line, (f, xs, asc, desc)) in enumerate(zip(lines, layout)):
        base = y + (heights[li] - (asc + desc)) / 2 + asc
        x0 = padding + ((W - 2 * padding - widths[li]) / 2 if align == "center" else 0.0)
        for w, xo in zip(line, xs):
            pos = (x0 + xo, base)
            box = _draw_word(d, pos, w, f, tuple(fg) + (255,), tracking * f.size)
            words.append(WordBox(w, quad_of(box), line=li, sign=sign_index))
        y += heights[li]
    if not plate:
        # alpha = how far each pixel is from the plate colour (text and border only)
        a = np.asarray(img, dtype=np.int32)
        diff = np.abs(a[..., :3] - np.array(bg, dtype=np.int32)[None, None, :3]).max(-1)
        span = max(1, int(np.abs(np.array(fg, dtype=np.int32) - np.array(bg, dtype=np.int32)).max()))
        alpha = np.clip(diff * 255 // span, 0, 255).astype(np.uint8)
        rgb = np.empty(a.shape[:2] + (3,), np.uint8)
        rgb[:] = np.array(fg, dtype=np.uint8)[None, None, :3]
        img = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    return img, words


def _word_length(f, word: str, gap: float) -> float:
    """Advance width of `word` with `gap` pixels between letters (the font's own length when 0)."""
    if gap <= 0 or len(word) < 2:
        return f.getlength(word)
    return sum(f.getlength(c) for c in word) + gap * (len(word) - 1)


def _draw_word(d, pos, word: str, f, fill, gap: float):
    """Draw `word` at `pos` (left, baseline) with `gap` extra pixels between letters; its ink box."""
    if gap <= 0 or len(word) < 2:
        d.text(pos, word, font=f, fill=fill, anchor="ls")
        return d.textbbox(pos, word, font=f, anchor="ls")
    x, y = pos
    boxes = []
    for c in word:
        d.text((x, y), c, font=f, fill=fill, anchor="ls")
        boxes.append(d.textbbox((x, y), c, font=f, anchor="ls"))
        x += f.getlength(c) + gap
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def ink_bbox(img: Image.Image, box, bg) -> tuple[int, int, int, int] | None:
    """Bounding box of pixels inside `box` that differ from the plate colour `bg` (for tests/checks)."""
    a = np.asarray(img.convert("RGB"), dtype=int)
    x0, y0, x1, y1 = [int(round(v)) for v in box]
    x0, y0 = max(0, x0), max(0, y0)
    sub = a[y0:y1, x0:x1]
    diff = np.abs(sub - np.array(bg)[None, None, :3]).sum(-1) > 60
    ys, xs = np.nonzero(diff)
    if len(xs) == 0:
        return None
    return x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1


def crop_word(image: Image.Image, word: WordBox, height: int = 32, pad: float = 0.1) -> Image.Image:
    """Rectify the word's quad (grown by `pad` x its height on every side) to a crop `height` pixels
    tall, keeping the aspect ratio (what a recognizer sees)."""
    q = np.asarray(word.quad, float)
    top, left = q[1] - q[0], q[3] - q[0]
    wlen, hlen = np.linalg.norm(top) + 1e-6, np.linalg.norm(left) + 1e-6
    ux, uy = top / wlen, left / hlen
    g = pad * hlen
    src = np.array([q[0] - ux * g - uy * g, q[1] + ux * g - uy * g, q[2] + ux * g + uy * g, q[3] - ux * g + uy * g])
    out_w = max(1, int(round(height * (wlen + 2 * g) / (hlen + 2 * g))))
    from .scene import homography  # local import: scene imports render
    Hm = homography(np.array([[0, 0], [out_w, 0], [out_w, height], [0, height]], float), src)
    return image.transform((out_w, height), Image.PERSPECTIVE, tuple((Hm / Hm[2, 2]).flatten()[:8]), Image.BILINEAR)
