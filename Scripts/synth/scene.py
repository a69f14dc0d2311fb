"""Scenes (procedural walls, doors, corridors, bricks, or photos) and placing signs in them.

All functions take a numpy Generator and are pure functions of its state and their arguments.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .render import WordBox, apply_h

SCENE_KINDS = ("wall", "door", "corridor", "bricks", "tiles")
PHOTO_DIRS = ("/usr/share/backgrounds", "/usr/share/wallpapers", "/usr/share/images/desktop-base")


def list_photos(dirs=PHOTO_DIRS) -> list[str]:
    """JPEG/PNG photos from Debian wallpaper/background packages, if any are installed."""
    out = []
    for d in dirs:
        for root, _, names in os.walk(d):
            out += [os.path.join(root, n) for n in names if n.lower().endswith((".jpg", ".jpeg", ".png"))]
    return sorted(out)


def _color(rng, lo=120, hi=235, sat=25):
    base = int(rng.integers(lo, hi))
    return tuple(int(v) for v in np.clip(base + rng.integers(-sat, sat + 1, 3), 0, 255))


def _smooth_noise(rng, w, h, cells=8, amp=20.0) -> np.ndarray:
    g = rng.normal(0, 1, (cells, cells)).astype(np.float32)
    im = Image.fromarray(((g - g.min()) / (np.ptp(g) + 1e-6) * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
    return (np.asarray(im, dtype=np.float32) / 255.0 - 0.5) * 2 * amp


def _shade(rng, img: Image.Image, amp=25.0) -> Image.Image:
    """Uneven lighting (low-frequency) plus fine grain."""
    w, h = img.size
    a = np.asarray(img, dtype=np.float32)
    light = _smooth_noise(rng, w, h, int(rng.integers(2, 6)), amp)
    grad = np.linspace(-1, 1, h, dtype=np.float32)[:, None] * float(rng.uniform(-amp, amp))
    grain = _smooth_noise(rng, w, h, int(rng.integers(40, 120)), float(rng.uniform(2, 8)))
    a = a + (light + grad + grain)[..., None]
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _wall(rng, w, h):
    img = Image.new("RGB", (w, h), _color(rng, 140, 240))
    d = ImageDraw.Draw(img)
    if rng.random() < 0.6:  # baseboard
        bh = int(h * rng.uniform(0.03, 0.08))
        d.rectangle([0, h - bh, w, h], fill=_color(rng, 30, 120))
    if rng.random() < 0.3:  # chair rail / stripe
        y = int(h * rng.uniform(0.5, 0.7))
        d.rectangle([0, y, w, y + int(h * 0.015) + 2], fill=_color(rng, 60, 200))
    return img


def _door(rng, w, h):
    img = _wall(rng, w, h)
    d = ImageDraw.Draw(img)
    n = int(rng.integers(1, 3))
    for i in range(n):
        dw = int(w * rng.uniform(0.18, 0.3))
        cx = int(w * (i + 0.5) / n + rng.integers(-w // 10, w // 10 + 1))
        x0, y0 = max(0, cx - dw // 2), int(h * rng.uniform(0.1, 0.25))
        x1, y1 = min(w - 1, x0 + dw), h
        frame = _color(rng, 40, 200)
        d.rectangle([x0 - 8, y0 - 8, x1 + 8, y1], fill=frame)
        wood = rng.random() < 0.5
        d.rectangle([x0, y0, x1, y1], fill=(int(rng.integers(90, 170)), int(rng.integers(60, 110)), int(rng.integers(30, 70))) if wood else _color(rng, 90, 200))
        if rng.random() < 0.5:  # window
            d.rectangle([x0 + dw // 4, y0 + (y1 - y0) // 10, x1 - dw // 4, y0 + (y1 - y0) // 3], fill=_color(rng, 40, 110, 10))
        hx = x1 - dw // 8 if rng.random() < 0.5 else x0 + dw // 8
        hy = y0 + (y1 - y0) // 2
        d.rectangle([hx - 4, hy - 10, hx + 4, hy + 10], fill=_color(rng, 150, 230, 5))
    return img


def _corridor(rng, w, h):
    img = Image.new("RGB", (w, h), _color(rng, 100, 200))
    d = ImageDraw.Draw(img)
    vx, vy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.4, 0.55)
    bw, bh = w * rng.uniform(0.12, 0.25), h * rng.uniform(0.15, 0.3)
    back = [vx - bw / 2, vy - bh / 2, vx + bw / 2, vy + bh / 2]
    d.polygon([(0, h), (w, h), (back[2], back[3]), (back[0], back[3])], fill=_color(rng, 60, 160))       # floor
    d.polygon([(0, 0), (w, 0), (back[2], back[1]), (back[0], back[1])], fill=_color(rng, 170, 250, 8))   # ceiling
    d.polygon([(0, 0), (back[0], back[1]), (back[0], back[3]), (0, h)], fill=_color(rng, 130, 230))      # left wall
    d.polygon([(w, 0), (back[2], back[1]), (back[2], back[3]), (w, h)], fill=_color(rng, 130, 230))      # right wall
    d.rectangle(back, fill=_color(rng, 120, 220))
    for t in np.linspace(0.15, 0.85, int(rng.integers(2, 5))):  # ceiling lights
        yy = back[1] * (1 - t)
        half = (bw / 2 + (w / 2 - bw / 2) * t) * 0.3
        d.rectangle([vx - half, yy - 3 - 10 * t, vx + half, yy + 3 + 10 * t], fill=(250, 250, 245))
    for side in (-1, 1):  # doors on the side walls
        for t in rng.uniform(0.1, 0.8, int(rng.integers(1, 3))):
            xa = (back[0] * t) if side < 0 else (w - (w - back[2]) * t)
            xb = (back[0] * (t + 0.12)) if side < 0 else (w - (w - back[2]) * (t + 0.12))
            ya0, ya1 = back[1] * (1 - t) + h * 0.12 * (1 - t), h - (h - back[3]) * t
            yb0, yb1 = back[1] * (1 - t - 0.12) + h * 0.12 * (1 - t - 0.12), h - (h - back[3]) * (t + 0.12)
            d.polygon([(xa, ya0), (xb, yb0), (xb, yb1), (xa, ya1)], fill=_color(rng, 50, 170))
    return img


def _bricks(rng, w, h):
    mortar = _color(rng, 150, 220, 10)
    img = Image.new("RGB", (w, h), mortar)
    d = ImageDraw.Draw(img)
    bh = int(rng.integers(18, 40))
    bw = int(bh * rng.uniform(2.2, 3.2))
    base = np.array([int(rng.integers(120, 180)), int(rng.integers(50, 90)), int(rng.integers(40, 70))])
    if rng.random() < 0.4:
        base = np.array(_color(rng, 120, 210, 10))
    for row, y in enumerate(range(0, h, bh)):
        off = (bw // 2) * (row % 2)
        for x in range(-off, w, bw):
            c = tuple(int(v) for v in np.clip(base + rng.integers(-20, 21, 3), 0, 255))
            d.rectangle([x + 2, y + 2, x + bw - 2, y + bh - 2], fill=c)
    return img


def _tiles(rng, w, h):
    img = Image.new("RGB", (w, h), _color(rng, 150, 240))
    d = ImageDraw.Draw(img)
    s = int(rng.integers(30, 120))
    line = _color(rng, 80, 180)
    for x in range(0, w, s):
        d.line([(x, 0), (x, h)], fill=line, width=2)
    for y in range(0, h, s):
        d.line([(0, y), (w, y)], fill=line, width=2)
    return img


def _photo(rng, w, h, photos):
    p = photos[int(rng.integers(len(photos)))]
    im = Image.open(p).convert("RGB")
    scale = max(w / im.width, h / im.height) * float(rng.uniform(1.0, 1.4))
    im = im.resize((int(im.width * scale) + 1, int(im.height * scale) + 1), Image.BILINEAR)
    x, y = int(rng.integers(0, im.width - w + 1)), int(rng.integers(0, im.height - h + 1))
    return im.crop((x, y, x + w, y + h))


def add_clutter(rng, img: Image.Image, n: int | None = None) -> Image.Image:
    """Non-text distractors: boxes, bars, pipes, blocky patterns (hard negatives), in place."""
    d = ImageDraw.Draw(img)
    w, h = img.size
    for _ in range(int(rng.integers(2, 8)) if n is None else n):
        k = int(rng.integers(4))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        s = int(min(w, h) * rng.uniform(0.03, 0.15))
        c = _color(rng, 20, 240, 40)
        if k == 0:
            d.rectangle([x, y, x + s, y + int(s * rng.uniform(0.3, 1.5))], fill=c)
        elif k == 1:
            d.line([(x, 0), (x + int(rng.integers(-20, 21)), h)], fill=c, width=int(rng.integers(3, 15)))
        elif k == 2:   # blocky checker pattern like LPCV frame126
            cell = max(3, s // 6)
            for i in range(6):
                for j in range(6):
                    if rng.random() < 0.5:
                        d.rectangle([x + i * cell, y + j * cell, x + (i + 1) * cell, y + (j + 1) * cell], fill=c)
        else:
            d.ellipse([x, y, x + s, y + s], fill=c)
    return img


def make_scene(rng, width: int, height: int, kind: str | None = None, photos: list[str] | None = None,
               clutter: bool = True) -> Image.Image:
    """An RGB background of `width` x `height`: one of SCENE_KINDS, or 'photo' (from `photos`, e.g.
    `list_photos()`). kind=None picks one (photos only when given)."""
    kinds = SCENE_KINDS + (("photo",) if photos else ())
    kind = kind or kinds[int(rng.integers(len(kinds)))]
    if kind == "photo":
        img = _photo(rng, width, height, photos)
    else:
        img = {"wall": _wall, "door": _door, "corridor": _corridor, "bricks": _bricks, "tiles": _tiles}[kind](rng, width, height)
    if clutter:
        add_clutter(rng, img)
    return _shade(rng, img, float(rng.uniform(5, 30)))


def homography(src, dst) -> np.ndarray:
    """3x3 matrix mapping 4 `src` points onto 4 `dst` points."""
    A, b = [], []
    for (x, y), (u, v) in zip(np.asarray(src, float), np.asarray(dst, float)):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y]); b.append(u)
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y]); b.append(v)
    h = np.linalg.solve(np.array(A), np.array(b))
    return np.append(h, 1.0).reshape(3, 3)


def sign_quad(rng, sign_size, center, height, tilt_deg: float | None = None, persp: float | None = None) -> np.ndarray:
    """Destination quad for a sign of `sign_size` (w, h) centred at `center`, `height` px tall, with an
    in-plane tilt (degrees) and a perspective squeeze (0 = frontal, 0.3 = strongly turned)."""
    w, h = sign_size
    s = height / h
    tilt = np.deg2rad(tilt_deg if tilt_deg is not None else float(rng.normal(0, 3)))
    persp = persp if persp is not None else float(abs(rng.normal(0, 0.1)))
    hw, hh = w * s / 2, h * s / 2
    side = 1 if rng.random() < 0.5 else -1
    # Squeeze one vertical edge (turned sign), then rotate.
    pts = np.array([[-hw, -hh * (1 - persp * (side < 0))], [hw, -hh * (1 - persp * (side > 0))],
                    [hw, hh * (1 - persp * (side > 0))], [-hw, hh * (1 - persp * (side < 0))]])
    pts[:, 0] *= 1 - persp / 2
    R = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    return pts @ R.T + np.asarray(center, float)


def place_on(scene: Image.Image, sign: Image.Image, words: list[WordBox], quad, shadow: float = 0.0) -> list[WordBox]:
    """Warp the RGBA `sign` onto `scene` (modified in place) so that its corners land on `quad`
    (TL, TR, BR, BL); returns the words with quads in scene coordinates."""
    quad = np.asarray(quad, float)
    W, H = sign.size
    src = np.array([[0, 0], [W, 0], [W, H], [0, H]], float)
    Hm = homography(src, quad)
    x0, y0 = np.floor(quad.min(0)).astype(int)
    x1, y1 = np.ceil(quad.max(0)).astype(int)
    x0, y0, x1, y1 = int(x0), int(y0), int(x1), int(y1)
    bw, bh = x1 - x0, y1 - y0
    if bw <= 0 or bh <= 0:
        return []
    # PIL wants the map from output pixels to input pixels.
    T = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], float)
    inv = np.linalg.inv(Hm) @ T
    inv = inv / inv[2, 2]
    patch = sign.transform((int(bw), int(bh)), Image.PERSPECTIVE, tuple(inv.flatten()[:8]), Image.BICUBIC)
    if shadow > 0:
        a = patch.getchannel("A").filter(ImageFilter.GaussianBlur(float(max(1.0, bh * 0.02))))
        dark = Image.new("RGB", patch.size, (0, 0, 0))
        off = max(1, int(bh * 0.02))
        scene.paste(dark, (int(x0) + off, int(y0) + off), a.point(lambda v: int(v * shadow)))
    scene.paste(patch.convert("RGB"), (int(x0), int(y0)), patch.getchannel("A"))
    return [w.transformed(Hm) for w in words]
