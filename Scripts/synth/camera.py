"""Camera motion over a pre-rendered world image: pan, zoom, shake, drift.

A camera pose is a 3x3 affine matrix M mapping world pixels to frame pixels
(M = T(frame centre) . R(angle) . S(zoom) . T(-world point)). `camera_path` gives one M per frame,
`render_view` draws the frame with a single affine warp (cheap), and `project` carries word quads
into the frame with visibility and height, for ground truth.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .render import WordBox

MOTIONS = ("static", "pan", "zoom", "shake", "pan+shake", "zoom+shake", "drift")


def pose(center, zoom: float, angle_deg: float, frame_size) -> np.ndarray:
    """World->frame matrix looking at world point `center` with `zoom` (frame px per world px)."""
    fw, fh = frame_size
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a) * zoom, np.sin(a) * zoom
    cx, cy = center
    return np.array([[c, -s, fw / 2 - (c * cx - s * cy)],
                     [s, c, fh / 2 - (s * cx + c * cy)],
                     [0, 0, 1.0]])


def _ease(t):
    return t * t * (3 - 2 * t)


def camera_path(rng, n_frames: int, world_size, frame_size, motion: str | None = None,
                zoom: float | None = None, targets=None, shake_px: float | None = None) -> np.ndarray:
    """(n_frames, 3, 3) world->frame matrices for one shot.

    motion: one of MOTIONS (random if None). zoom: frame px per world px at the start (default: the
    smallest zoom that keeps the frame inside the world, times 1-1.6). targets: optional world points
    of interest (sign centres) that pans and zooms start from or end at.
    """
    motion = motion or MOTIONS[int(rng.integers(len(MOTIONS)))]
    Ww, Wh = world_size
    fw, fh = frame_size
    zmin = max(fw / Ww, fh / Wh) * 1.08           # margin for small rotations
    z0 = zoom if zoom is not None else zmin * float(rng.uniform(1.0, 1.6))
    z0 = max(z0, zmin)

    def clamp(c, z, ang):
        # half extent of the (rotated) frame in world pixels; keep it inside the world when it fits
        ca, sa = abs(np.cos(np.deg2rad(ang))), abs(np.sin(np.deg2rad(ang)))
        hx, hy = (fw * ca + fh * sa) / (2 * z), (fw * sa + fh * ca) / (2 * z)
        x = np.clip(c[0], hx, Ww - hx) if 2 * hx <= Ww else Ww / 2
        y = np.clip(c[1], hy, Wh - hy) if 2 * hy <= Wh else Wh / 2
        return np.array([x, y])

    def rand_point():
        if targets is not None and len(targets) and rng.random() < 0.7:
            return np.asarray(targets[int(rng.integers(len(targets)))], float) + rng.normal(0, 0.05, 2) * [Ww, Wh]
        return rng.uniform([0, 0], [Ww, Wh])

    t = np.linspace(0, 1, n_frames)
    z = np.full(n_frames, z0)
    p0, p1 = rand_point(), rand_point()
    if "pan" in motion or motion == "drift":
        e = _ease(t) if motion != "drift" else t
        centers = p0[None, :] * (1 - e[:, None]) + p1[None, :] * e[:, None]
    else:
        centers = np.repeat(p0[None, :], n_frames, 0)
    if "zoom" in motion:
        z1 = max(zmin, z0 * float(rng.uniform(1.5, 3.0)))
        if rng.random() < 0.5:
            z0, z1 = z1, z0
        z = z0 * (z1 / z0) ** _ease(t)
    angle = np.zeros(n_frames)
    if motion == "drift":
        angle = float(rng.uniform(-4, 4)) * t
    shake_px = shake_px if shake_px is not None else (float(rng.uniform(3, 15)) if "shake" in motion or motion == "drift" else 0.0)
    jitter = np.zeros((n_frames, 2))
    if shake_px > 0:
        # Sum of a few sinusoids plus a random walk: hand/drone shake in frame pixels.
        for _ in range(3):
            f = rng.uniform(0.5, 4.0) / 30.0
            ph = rng.uniform(0, 2 * np.pi, 2)
            jitter += np.sin(2 * np.pi * f * np.arange(n_frames)[:, None] + ph) * shake_px / 3
        jitter += np.cumsum(rng.normal(0, shake_px * 0.08, (n_frames, 2)), 0)
        angle = angle + np.sin(np.arange(n_frames) * rng.uniform(0.05, 0.2)) * rng.uniform(0, 1.0)
    out = np.empty((n_frames, 3, 3))
    for i in range(n_frames):
        c = clamp(centers[i] + jitter[i] / z[i], z[i], angle[i])
        out[i] = pose(c, z[i], angle[i], frame_size)
    return out


def render_view(world: Image.Image, M: np.ndarray, frame_size, resample=Image.BILINEAR) -> Image.Image:
    """The frame seen through pose M (one affine warp of the world image)."""
    inv = np.linalg.inv(M)
    return world.transform(tuple(frame_size), Image.AFFINE, tuple(inv[:2].flatten()), resample)


def frame_velocity(M_prev: np.ndarray, M: np.ndarray, frame_size) -> tuple[float, float]:
    """Image motion (dx, dy) in frame pixels per frame at the frame centre, for motion blur."""
    fw, fh = frame_size
    c = np.array([fw / 2, fh / 2, 1.0])
    world_pt = np.linalg.inv(M) @ c
    prev = M_prev @ world_pt
    return float(c[0] - prev[0]), float(c[1] - prev[1])


def project(words: list[WordBox], M: np.ndarray, frame_size, min_visible: float = 0.0) -> list[WordBox]:
    """Words mapped into the frame. Each gets extra['visible'] (fraction of its box inside the frame)
    and extra['height_px']; words with visible <= min_visible are dropped."""
    fw, fh = frame_size
    out = []
    for w in words:
        wf = w.transformed(M)
        x0, y0, x1, y1 = wf.bbox
        area = max(1e-6, (x1 - x0) * (y1 - y0))
        ix = max(0.0, min(x1, fw) - max(x0, 0.0)) * max(0.0, min(y1, fh) - max(y0, 0.0))
        vis = ix / area
        if vis <= min_visible:
            continue
        wf.extra["visible"] = round(vis, 3)
        wf.extra["height_px"] = round(wf.height, 2)
        out.append(wf)
    return out
