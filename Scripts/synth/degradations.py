"""Image degradations: motion blur, defocus, low contrast, noise, grayscale, JPEG.

Every function takes and returns a uint8 numpy array (H, W) or (H, W, 3); `degrade` applies a
parameter dict (see `random_params`) in a fixed order. Randomness comes only from the `rng` passed in.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter


def _as_array(img) -> np.ndarray:
    return np.asarray(img) if isinstance(img, Image.Image) else img


def motion_blur(a: np.ndarray, dx: float, dy: float, exact: bool | None = None) -> np.ndarray:
    """Linear motion blur of length |(dx, dy)| pixels along (dx, dy) (mean of shifted copies).

    exact=False (the default for images over one megapixel) uses a separable box blur of |dx| x |dy|
    instead: a rectangle rather than a line, much cheaper, and the same for pans along one axis."""
    length = float(np.hypot(dx, dy))
    if length < 1.0:
        return a
    if exact is False or (exact is None and a.shape[0] * a.shape[1] > 1_000_000):
        rx, ry = abs(dx) / 2, abs(dy) / 2
        return np.asarray(Image.fromarray(a).filter(ImageFilter.BoxBlur((rx if rx >= 0.5 else 0, ry if ry >= 0.5 else 0))))
    n = int(min(25, np.ceil(length))) + 1
    acc = np.zeros(a.shape, np.uint32)
    H, W = a.shape[:2]
    for k in range(n):
        f = k / (n - 1) - 0.5
        sx, sy = int(round(dx * f)), int(round(dy * f))
        # shifted view with edge replication via clipping of index ranges
        ys = np.clip(np.arange(H) - sy, 0, H - 1) if sy else slice(None)
        xs = np.clip(np.arange(W) - sx, 0, W - 1) if sx else slice(None)
        sh = a
        if sy:
            sh = sh[ys]
        if sx:
            sh = sh[:, xs]
        acc += sh
    return (acc // n).astype(np.uint8)


def defocus(a: np.ndarray, radius: float) -> np.ndarray:
    """Defocus approximated by a Gaussian blur of `radius` pixels."""
    if radius <= 0.1:
        return a
    return np.asarray(Image.fromarray(a).filter(ImageFilter.GaussianBlur(radius)))


def contrast(a: np.ndarray, factor: float, brightness: float = 0.0) -> np.ndarray:
    """Scale contrast around mid-grey 128 by `factor` (<1 = low contrast) and add `brightness`."""
    if factor == 1.0 and brightness == 0.0:
        return a
    lut = np.clip((np.arange(256) - 128.0) * factor + 128.0 + brightness, 0, 255).astype(np.uint8)
    return lut[a]


def gamma(a: np.ndarray, g: float) -> np.ndarray:
    if g == 1.0:
        return a
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** g, 0, 255).astype(np.uint8)
    return lut[a]


def grayscale(a: np.ndarray, keep_channels: bool = True) -> np.ndarray:
    """Luma (BT.601); kept as 3 equal channels if `keep_channels`."""
    if a.ndim == 2:
        return a
    a = a.astype(np.uint32)
    y = (a[..., 0] * 299 + a[..., 1] * 587 + a[..., 2] * 114) // 1000
    y = y.astype(np.uint8)
    return np.repeat(y[..., None], 3, 2) if keep_channels else y


class NoiseBank:
    """Pre-drawn Gaussian noise of one `sigma` (rounded to integers); `sample` crops a random window,
    so per-frame noise costs an add, not a fresh normal draw. `noise` uses it when shape and sigma match."""

    def __init__(self, rng, shape, sigma: float = 1.0):
        H, W = shape[:2]
        extra = shape[2:] if len(shape) > 2 else ()
        self.sigma = float(sigma)
        self.tile = np.round(rng.normal(0, sigma, (H + 64, W + 64) + tuple(extra))).astype(np.int16)
        self.shape = tuple(shape)

    def sample(self, rng) -> np.ndarray:
        y, x = int(rng.integers(64)), int(rng.integers(64))
        H, W = self.shape[:2]
        return self.tile[y:y + H, x:x + W]


def noise(rng, a: np.ndarray, sigma: float, bank: NoiseBank | None = None) -> np.ndarray:
    """Additive Gaussian noise of std `sigma` (grey levels)."""
    if sigma <= 0:
        return a
    if bank is not None and bank.shape == a.shape and abs(bank.sigma - sigma) < 1e-6:
        n = bank.sample(rng)   # int16, already at `sigma`
        return np.clip(a.astype(np.int16) + n, 0, 255).astype(np.uint8)
    n = rng.normal(0, sigma, a.shape)
    return np.clip(a.astype(np.float32) + n, 0, 255).astype(np.uint8)


def jpeg(a: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip at `quality` (1-95)."""
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L" if a.ndim == 2 else "RGB"))


def random_params(rng, strength: float = 1.0) -> dict:
    """A degradation recipe. strength 0 = clean, 1 = typical drone footage, 2 = harsh."""
    s = strength
    return {
        "motion": (float(rng.normal(0, 4 * s)), float(rng.normal(0, 1.5 * s))) if rng.random() < 0.5 else (0.0, 0.0),
        "defocus": float(rng.uniform(0, 1.8 * s)) if rng.random() < 0.5 else 0.0,
        "contrast": float(rng.uniform(max(0.2, 1 - 0.6 * s), 1.0)) if rng.random() < 0.5 else 1.0,
        "brightness": float(rng.normal(0, 15 * s)),
        "gamma": float(np.exp(rng.normal(0, 0.2 * s))),
        "noise": float(rng.uniform(0, 8 * s)),
        "gray": bool(rng.random() < 0.3),
        "jpeg": int(rng.integers(max(5, int(95 - 60 * s)), 96)) if rng.random() < 0.5 else 0,
    }


def degrade(rng, img, params: dict | None = None, bank: NoiseBank | None = None):
    """Apply `params` (or `random_params(rng)`) in the order motion blur, defocus, gamma, contrast,
    grayscale, noise, JPEG. Accepts/returns a PIL image or a uint8 array (same type as given)."""
    was_pil = isinstance(img, Image.Image)
    a = _as_array(img)
    p = params if params is not None else random_params(rng)
    mx, my = p.get("motion", (0.0, 0.0))
    a = motion_blur(a, mx, my)
    a = defocus(a, p.get("defocus", 0.0))
    a = gamma(a, p.get("gamma", 1.0))
    a = contrast(a, p.get("contrast", 1.0), p.get("brightness", 0.0))
    if p.get("gray"):
        a = grayscale(a)
    a = noise(rng, a, p.get("noise", 0.0), bank)
    if p.get("jpeg"):
        a = jpeg(a, p["jpeg"])
    return Image.fromarray(a) if was_pil else a
