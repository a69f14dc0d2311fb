"""Detector frames made on the fly (torch-free): a downscaled grey drone frame (default 640 x 360)
with 0-4 signs/posters, per-word boxes and the training targets.

Frame: `synth.make_scene` background (procedural, photos when installed, clutter = non-text hard
negatives such as blocky patterns) -> signs drawn by `synth.render_sign` (1-4 lines, training fonts)
placed with tilt and perspective (`synth.sign_quad`, `synth.place_on`) so the text is 4-40 px tall (`max_text_h`;
optionally more monospace faces and letter-spaced words: `mono`, `tracking`) ->
degraded (`synth.degrade`: motion blur, defocus, gamma, low contrast, noise, JPEG) -> grey.
About 30 % of frames hold no text.

Targets at stride 4 (160 x 90 for 640 x 360): for every legible word (>= MIN_H px tall)
  kernel  1 inside the word's box shrunk by SHRINK_X * h at the left/right ends and to the middle
          (1 - 2 * SHRINK_Y) of its height: neighbouring words and lines stay apart;
  height  log2 of the word's height in input pixels, on kernel cells;
  ignore  cells of words too small to read (they are neither text nor background);
and per TILE x TILE-pixel tile: 1 if a legible word's kernel touches it (the early-exit target).
`separation_weights` marks the background cells that keep neighbouring words apart (the ends of each
word's box and the gap beside it), which the kernel loss weighs more: joined words were the detector's
main error (session 3: 85 % of words found at IoU 0.1, 37 % at IoU 0.5, the partial matches about 2.5x
too wide).
Box extraction (`boxes_from_maps`) inverts this: connected kernel components -> centre, width,
height from the mean height map -> word box grown back by SHRINK_X * h.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from common import CHARSET  # noqa: F401  (puts Scripts/ on sys.path)
import synth

FRAME_W, FRAME_H = 640, 360
STRIDE = 4
TILE = 40
MIN_H = 6.0
SHRINK_X = 0.5
SHRINK_Y = 0.25
WORD_SPLIT = 0.8   # split_columns' valley ratio: bitspot spot's --word-split default
WORD_JOIN = 0.3    # join pieces of one line at most this many word heights apart: bitspot spot's --word-join default
SPLIT_GAP = 0.4    # a split's valley at least this many word heights wide: bitspot spot's --split-gap default
LINE_TOL = 0.5     # pieces are on one line when their centres are at most this many heights apart vertically
HEIGHT_RATIO = 1.5 # ... and the taller is at most this many times the shorter


def make_frame(rng, split="train", fonts=None, photos=None, size=(FRAME_W, FRAME_H), p_empty=0.3, strength=None,
               max_text_h=40.0, mono=0.0, tracking=0.0):
    """(grey uint8 H x W, [dict(text, bbox, care, quad)]).

    Text is 4 to `max_text_h` px tall (log-uniform). `mono`: the share of signs whose face is drawn again from the
    monospace faces of `fonts` (when it has any); `tracking`: the share drawn with letters spaced 0.1-0.5 em
    apart (`synth.render_sign(tracking=...)`). At 0 neither draws from `rng`, so frames are those of
    earlier sessions (the evaluation sets are made with the defaults)."""
    W, H = size
    mono_fonts = None
    if mono > 0:
        mono_fonts = synth.monospace(fonts if fonts is not None else synth.list_fonts(split))
    scene = synth.make_scene(rng, W, H, photos=photos, clutter=True)
    words = []
    n_signs = 0 if rng.random() < p_empty else int(rng.choice([1, 2, 3, 4], p=[0.45, 0.3, 0.15, 0.1]))
    occupied = []
    for s in range(n_signs):
        font = synth.pick_font(rng, split, fonts)
        if mono > 0 and rng.random() < mono and mono_fonts:
            font = synth.pick_font(rng, split, mono_fonts)
        gap = float(rng.uniform(0.1, 0.5)) if tracking > 0 and rng.random() < tracking else 0.0
        lines = synth.sign_lines(rng, n_lines=int(rng.choice([1, 2, 3, 4], p=[0.35, 0.35, 0.2, 0.1])),
                                 max_words_per_line=3, p_code=0.3)
        plate, wb = synth.render_sign(rng, lines, font, size=int(rng.integers(28, 56)), sign_index=s, tracking=gap)
        text_h = float(np.exp(rng.uniform(np.log(4.0), np.log(max_text_h))))
        mean_h = np.mean([w.height for w in wb]) if wb else plate.height
        sh = plate.height * text_h / max(mean_h, 1.0)
        sw = plate.width * sh / plate.height
        if sw > W * 0.95 or sh > H * 0.9:
            f = min(W * 0.95 / sw, H * 0.9 / sh)
            sw, sh = sw * f, sh * f
        for _ in range(10):
            cx, cy = rng.uniform(sw / 2, W - sw / 2), rng.uniform(sh / 2, H - sh / 2)
            box = (cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2)
            if not any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in occupied):
                break
        else:
            continue
        occupied.append(box)
        quad = synth.sign_quad(rng, plate.size, (cx, cy), sh, tilt_deg=float(rng.normal(0, 3)),
                               persp=float(abs(rng.normal(0, 0.1))))
        placed = synth.place_on(scene, plate, wb, quad, shadow=float(rng.uniform(0, 0.5)) if rng.random() < 0.3 else 0.0)
        for w in placed:
            if not w.norm:
                continue
            x0, y0, x1, y1 = w.bbox
            if x1 <= 0 or y1 <= 0 or x0 >= W or y0 >= H:
                continue
            vis = (min(x1, W) - max(x0, 0)) * (min(y1, H) - max(y0, 0)) / max((x1 - x0) * (y1 - y0), 1e-6)
            words.append(dict(text=w.norm, bbox=[x0, y0, x1, y1], quad=np.asarray(w.quad).tolist(),
                              height=w.height, care=bool(vis >= 0.9 and w.height >= MIN_H),
                              sign=s, line=w.line))
    strength = float(rng.uniform(0.0, 1.3)) if strength is None else strength
    params = synth.random_params(rng, strength)
    params["gray"] = True
    g = synth.degrade(rng, np.asarray(scene.convert("L")), params)
    return np.ascontiguousarray(g), words


def targets(words, size=(FRAME_W, FRAME_H), stride=STRIDE):
    """(kernel, height, ignore) float32 maps of size H/stride x W/stride, and tiles (H/TILE x W/TILE)."""
    W, H = size
    gw, gh = (W + stride - 1) // stride, (H + stride - 1) // stride
    kern = np.zeros((gh, gw), np.float32)
    hmap = np.zeros((gh, gw), np.float32)
    ign = np.zeros((gh, gw), np.float32)
    tiles = np.zeros(((H + TILE - 1) // TILE, (W + TILE - 1) // TILE), np.float32)
    for w in words:
        x0, y0, x1, y1 = w["bbox"]
        h = y1 - y0
        hh = w["height"]
        if not w["care"]:
            a0, b0 = int(np.floor(max(0, y0) / stride)), int(np.ceil(min(H, y1) / stride))
            a1, b1 = int(np.floor(max(0, x0) / stride)), int(np.ceil(min(W, x1) / stride))
            ign[a0:b0, a1:b1] = 1
            continue
        kx0, kx1 = x0 + SHRINK_X * hh, x1 - SHRINK_X * hh
        cy = (y0 + y1) / 2
        ky0, ky1 = cy - (0.5 - SHRINK_Y) * h, cy + (0.5 - SHRINK_Y) * h
        if kx1 < kx0:
            kx0 = kx1 = (x0 + x1) / 2
        # cells whose centres fall inside; at least the centre cell
        c0 = int(np.ceil(kx0 / stride - 0.5)); c1 = int(np.floor(kx1 / stride - 0.5))
        r0 = int(np.ceil(ky0 / stride - 0.5)); r1 = int(np.floor(ky1 / stride - 0.5))
        if c1 < c0:
            c0 = c1 = int((kx0 + kx1) / 2 / stride)
        if r1 < r0:
            r0 = r1 = int(cy / stride)
        c0, c1 = max(c0, 0), min(c1, gw - 1)
        r0, r1 = max(r0, 0), min(r1, gh - 1)
        if c1 < c0 or r1 < r0:
            continue
        kern[r0:r1 + 1, c0:c1 + 1] = 1
        hmap[r0:r1 + 1, c0:c1 + 1] = np.log2(max(h, 1.0))
        tiles[r0 * stride // TILE:r1 * stride // TILE + 1, c0 * stride // TILE:c1 * stride // TILE + 1] = 1
    ign[kern > 0] = 0
    return kern, hmap, ign, tiles


def separation_weights(words, kernel, size=(FRAME_W, FRAME_H), weight=3.0, margin=0.35, stride=STRIDE):
    """Per-cell kernel-loss weights (H/stride x W/stride): `weight` on background cells (`kernel` 0)
    inside a legible word's box widened by `margin` x its height on both sides, 1 elsewhere."""
    W, H = size
    gw, gh = (W + stride - 1) // stride, (H + stride - 1) // stride
    out = np.ones((gh, gw), np.float32)
    for w in words:
        if not w["care"]:
            continue
        x0, y0, x1, y1 = w["bbox"]
        m = margin * w["height"]
        c0, c1 = max(int(np.ceil((x0 - m) / stride - 0.5)), 0), min(int(np.floor((x1 + m) / stride - 0.5)), gw - 1)
        r0, r1 = max(int(np.ceil(y0 / stride - 0.5)), 0), min(int(np.floor(y1 / stride - 0.5)), gh - 1)
        if c1 >= c0 and r1 >= r0:
            out[r0:r1 + 1, c0:c1 + 1] = weight
    out[kernel > 0] = 1.0
    return out


def _components(mask):
    """4-connected components of a boolean map: list of (rows, cols) index arrays."""
    gh, gw = mask.shape
    seen = np.zeros_like(mask, bool)
    comps = []
    for r, c in zip(*np.nonzero(mask)):
        if seen[r, c]:
            continue
        stack, rr, cc = [(r, c)], [], []
        seen[r, c] = True
        while stack:
            y, x = stack.pop()
            rr.append(y); cc.append(x)
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < gh and 0 <= xx < gw and mask[yy, xx] and not seen[yy, xx]:
                    seen[yy, xx] = True
                    stack.append((yy, xx))
        comps.append((np.array(rr), np.array(cc)))
    return comps


def split_columns(profile, ratio, a=0, b=None, min_width=1):
    """Column ranges [(a, b)] (inclusive) of one component, split at valleys of its column profile (the
    highest kernel probability in each column): the lowest column v, with at least one column either side,
    whose value is below `ratio` x the lower of the highest values left and right of it is a gap between
    two words; both sides are split again. A merged component is the detector's main error on small text
    (neighbouring words' kernels touching where their gap falls under a cell or two); its probability
    still dips between the words. With `min_width` > 1 a valley counts only where at least that many
    neighbouring columns (v among them, none of them a or b) lie below the same bar: a dip one or two cells
    wide inside a tall word is a hole in its kernel, not the gap between two words (a word gap is about
    one word height wide in the kernels). Computed in float64 so the Swift decoder can match it exactly."""
    p = np.asarray(profile, np.float64)
    b = len(p) - 1 if b is None else b
    best, best_r = None, None
    for v in range(a + 1, b):
        lo = min(p[a:v].max(), p[v + 1:b + 1].max())
        bar = ratio * lo
        if p[v] < bar:
            if min_width > 1:
                left, right = v, v
                while left - 1 > a and p[left - 1] < bar:
                    left -= 1
                while right + 1 < b and p[right + 1] < bar:
                    right += 1
                if right - left + 1 < min_width:
                    continue
            r = p[v] / lo
            if best is None or r < best_r:
                best, best_r = v, r
    if best is None:
        return [(a, b)]
    return (split_columns(p, ratio, a, best - 1, min_width)
            + split_columns(p, ratio, best + 1, b, min_width))


def join_components(comps, hmap, join, stride=STRIDE):
    """Groups (lists of indices into `comps`) of the kernel components that lie on one text line (centres
    at most LINE_TOL x the shorter height apart vertically, heights within HEIGHT_RATIO) with at most
    `join` x the shorter height of empty columns between them, joined transitively. The detector's kernel
    of a tall or tilted word often breaks into pieces; words of one line are at least about one word
    height apart in the kernels. Heights in float64, as the Swift decoder computes them."""
    info = []
    for rr, cc in comps:
        h = float(2.0 ** hmap[rr, cc].astype(np.float64).mean())
        info.append((h, (rr.min() + rr.max() + 1) / 2 * stride, cc.min(), cc.max()))
    parent = list(range(len(comps)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    if join is not None and join > 0:
        for i, (hi, yi, ai, bi) in enumerate(info):
            for j in range(i + 1, len(info)):
                hj, yj, aj, bj = info[j]
                lo_h = min(hi, hj)
                if max(hi, hj) > HEIGHT_RATIO * lo_h or abs(yi - yj) > LINE_TOL * lo_h:
                    continue
                if (max(ai, aj) - min(bi, bj) - 1) * stride <= join * lo_h:
                    parent[root(i)] = root(j)
    groups = {}
    for i in range(len(comps)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def boxes_from_maps(score, hmap, thr=0.5, min_cells=1, split=None, join=None, split_gap=None, stride=STRIDE):
    """Word boxes (x0, y0, x1, y1, score) in input pixels from the kernel score map (probabilities)
    and the log2-height map, both H/stride x W/stride (`stride`: 4, or 2 for a detector with the sub-cell head). `join` (word heights, None: off) first joins the
    pieces of one line (`join_components`); `split` (a ratio in 0-1, None: off) then splits each at the
    valleys of its column profile (`split_columns`), with valleys at least `split_gap` word heights wide
    when given."""
    out = []
    comps = [c for c in _components(score >= thr) if len(c[0]) >= min_cells]
    for group in join_components(comps, hmap, join, stride):
        rr = np.concatenate([comps[i][0] for i in group])
        cc = np.concatenate([comps[i][1] for i in group])
        if split is None:
            parts = [(rr, cc)]
        else:
            c0 = cc.min()
            prof = np.zeros(cc.max() - c0 + 1, np.float64)
            np.maximum.at(prof, cc - c0, score[rr, cc].astype(np.float64))
            min_width = 1
            if split_gap:
                min_width = max(1, int(np.floor(split_gap * 2.0 ** hmap[rr, cc].astype(np.float64).mean() / stride)))
            parts = []
            for a, b in split_columns(prof, split, min_width=min_width):
                m = (cc >= a + c0) & (cc <= b + c0)
                parts.append((rr[m], cc[m]))
        for pr, pc in parts:
            if len(pr) == 0:   # columns between joined pieces only
                continue
            h = float(2.0 ** hmap[pr, pc].mean())
            cx0, cx1 = pc.min() * stride, (pc.max() + 1) * stride
            cy = (pr.min() + pr.max() + 1) / 2 * stride
            x0, x1 = cx0 - SHRINK_X * h, cx1 + SHRINK_X * h
            out.append((x0, cy - h / 2, x1, cy + h / 2, float(score[pr, pc].mean())))
    return out
