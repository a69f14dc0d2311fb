#!/usr/bin/env python3
"""Writes small golden models, inputs and every node's output into Tests/BitNetTests/Fixtures/.

A plain numpy implementation of every op on the logical values (±1 int8 for binary tensors, float32
for real ones, padding of binary convs with +1) that the Swift runtime must reproduce: bit-exactly for
binary outputs, to float32 rounding for real ones (the sums run in the same order as the runtime).
Deterministic (fixed seed). Usage: python3 Scripts/golden/make_golden.py [OUTDIR]
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from bitnet import modelfile as mf  # noqa: E402

F32 = np.float32


# -- reference ops ------------------------------------------------------------------------------
def first_conv(img, w, stride, zp, thresholds=None, scale=None, bias=None):
    x = img.astype(np.int64) - zp
    x = np.pad(x, ((1, 1), (1, 1), (0, 0)))  # padding pixels equal the zero point: 0 after the shift
    h, wd = img.shape[:2]
    oh, ow = (h - 1) // stride + 1, (wd - 1) // stride + 1
    acc = np.zeros((oh, ow, w.shape[0]), np.int64)
    for ky in range(3):
        for kx in range(3):
            patch = x[ky:ky + stride * (oh - 1) + 1:stride, kx:kx + stride * (ow - 1) + 1:stride]
            acc += np.einsum("hwc,oc->hwo", patch, w[:, ky, kx, :].astype(np.int64))
    if thresholds is not None:
        return np.where(acc < thresholds, -1, 1).astype(np.int8)
    return scale * acc.astype(F32) + bias


def binary_dot(bits, w, k, stride):
    pad = k // 2
    x = np.pad(bits.astype(np.int64), ((pad, pad), (pad, pad), (0, 0)), constant_values=1)  # +1 padding
    h, wd = bits.shape[:2]
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    dot = np.zeros((oh, ow, w.shape[0]), np.int64)
    for ky in range(k):
        for kx in range(k):
            patch = x[ky:ky + stride * (oh - 1) + 1:stride, kx:kx + stride * (ow - 1) + 1:stride]
            dot += np.einsum("hwc,oc->hwo", patch, w[:, ky, kx, :].astype(np.int64))
    return dot


def prelu(x, s_in, slope, s_out):
    t = (x - s_in).astype(F32)
    return (np.where(t >= 0, t, slope * t) + s_out).astype(F32)


def binary_conv(bits, w, k, stride, thresholds=None, scale=None, bias=None, shortcut=None, smap=None, pr=None):
    dot = binary_dot(bits, w, k, stride)
    depth = k * k * bits.shape[2]
    if thresholds is not None:
        popcount = (depth - dot) // 2
        return np.where(popcount >= thresholds, -1, 1).astype(np.int8)
    y = (scale * dot.astype(F32) + bias).astype(F32)
    if shortcut is not None:
        y = (y + (shortcut if smap is None else shortcut[..., smap])).astype(F32)
    if pr is not None:
        y = prelu(y, *pr)
    return y


def windows(h, w, ph, pw):
    for oy in range(-(-h // ph)):
        for ox in range(-(-w // pw)):
            yield oy, ox, [(y, x) for y in range(oy * ph, min(h, oy * ph + ph)) for x in range(ox * pw, min(w, ox * pw + pw))]


def bit_maxpool(bits, ph, pw):
    h, w, c = bits.shape
    out = np.zeros((-(-h // ph), -(-w // pw), c), np.int8)
    for oy, ox, cells in windows(h, w, ph, pw):
        out[oy, ox] = np.max([bits[y, x] for y, x in cells], axis=0)
    return out


def avg_pool(x, ph, pw):
    h, w, c = x.shape
    out = np.zeros((-(-h // ph), -(-w // pw), c), F32)
    for oy, ox, cells in windows(h, w, ph, pw):
        acc = np.zeros(c, F32)
        for y, xx in cells:
            acc = (acc + x[y, xx]).astype(F32)
        out[oy, ox] = acc / F32(len(cells))
    return out


def real_conv1x1(x, w, b, stride):
    xs = x[::stride, ::stride]
    acc = np.zeros(xs.shape[:2] + (w.shape[0],), F32)
    for c in range(w.shape[1]):
        acc = (acc + w[:, c] * xs[..., c:c + 1]).astype(F32)
    return (acc + b).astype(F32)


def global_avg_pool(x):
    h, w, c = x.shape
    acc = np.zeros(c, F32)
    for y in range(h):
        for xx in range(w):
            acc = (acc + x[y, xx]).astype(F32)
    return (acc / F32(h * w)).reshape(1, 1, c)


# -- random parameters ----------------------------------------------------------------------------
class Params:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def pm1(self, *shape):
        return np.where(self.rng.random(shape) < 0.5, -1, 1).astype(np.int8)

    def f(self, n, lo, hi, step=1 / 64):
        return (np.round(self.rng.uniform(lo, hi, n) / step) * step).astype(F32)

    def i8(self, *shape):
        return self.rng.integers(-8, 9, shape).astype(np.int8)

    def thresholds(self, n, depth):
        return self.rng.integers(depth // 2 - depth // 8, depth // 2 + depth // 8 + 1, n).astype(np.int32)


def real_stem(p, H, W, c):
    """A random H x W luma image, a real first layer (stride 1, zero point 128, `c` channels) and a sign-pack of
    it: (writer, reference outputs by node, first layer's node, sign-pack's node)."""
    img = p.rng.integers(0, 256, (H, W, 1)).astype(np.uint8)
    m = mf.ModelWriter(H, W, 1)
    out = {0: img}
    fw, fs, fb = p.i8(c, 3, 3, 1), p.f(c, 0.01, 0.03, 1 / 1024), p.f(c, -1, 1)
    n1 = m.add_first_conv(fw, 1, 128, scale=fs, bias=fb)
    out[n1] = first_conv(img, fw, 1, 128, scale=fs, bias=fb)
    t2 = p.f(c, -0.5, 0.5)
    n2 = m.add_sign_pack(n1, t2)
    out[n2] = np.where(out[n1] < t2, -1, 1).astype(np.int8)
    return m, out, n1, n2


def model_a(p):
    """A QuickNet-style block chain with a pruned stage, a shortcut map, an early exit and a final head."""
    m, out, n1, n2 = real_stem(p, 16, 24, 16)
    w3, s3, b3 = p.pm1(16, 3, 3, 16), p.f(16, 0.01, 0.05, 1 / 1024), p.f(16, -0.5, 0.5)
    pr3 = (p.f(16, -0.2, 0.2), p.f(16, 0.1, 0.3), p.f(16, -0.2, 0.2))
    n3 = m.add_binary_conv(n2, w3, 3, 1, scale=s3, bias=b3, shortcut=n1, prelu=pr3)
    out[n3] = binary_conv(out[n2], w3, 3, 1, scale=s3, bias=b3, shortcut=out[n1], pr=pr3)
    t4 = p.f(16, -0.3, 0.3)
    n4 = m.add_sign_pack(n3, t4)
    out[n4] = np.where(out[n3] < t4, -1, 1).astype(np.int8)
    # stride-2 stage pruned from 48 to 40 channels; the shortcut projection keeps all 48
    w5, s5, b5 = p.pm1(40, 3, 3, 16), p.f(40, 0.01, 0.05, 1 / 1024), p.f(40, -0.5, 0.5)
    n5 = m.add_binary_conv(n4, w5, 3, 2, scale=s5, bias=b5, orig_c=48)
    out[n5] = binary_conv(out[n4], w5, 3, 2, scale=s5, bias=b5)
    n6 = m.add_avg_pool(n3, 2, 2)
    out[n6] = avg_pool(out[n3], 2, 2)
    w7, b7 = p.f(48 * 16, -0.5, 0.5).reshape(48, 16), p.f(48, -0.2, 0.2)
    n7 = m.add_real_conv1x1(n6, w7, b7)
    out[n7] = real_conv1x1(out[n6], w7, b7, 1)
    kept = np.sort(p.rng.choice(48, 40, replace=False)).astype(np.int32)
    n8 = m.add_add(n5, n7, kept)
    out[n8] = (out[n5] + out[n7][..., kept]).astype(F32)
    pr9 = (p.f(40, -0.2, 0.2), p.f(40, 0.1, 0.3), p.f(40, -0.2, 0.2))
    n9 = m.add_prelu(n8, *pr9)
    out[n9] = prelu(out[n8], *pr9)
    w10, b10 = p.f(2 * 40, -0.5, 0.5).reshape(2, 40), p.f(2, -0.1, 0.1)
    n10 = m.add_real_conv1x1(n9, w10, b10)
    out[n10] = real_conv1x1(out[n9], w10, b10, 1)
    m.add_head(n10, "early", exit=True)
    t11 = p.f(40, -0.3, 0.3)
    n11 = m.add_sign_pack(n9, t11)
    out[n11] = np.where(out[n9] < t11, -1, 1).astype(np.int8)
    w12 = p.pm1(70, 3, 3, 40)
    t12 = p.thresholds(70, 9 * 40)
    n12 = m.add_binary_conv(n11, w12, 3, 1, thresholds=t12)
    out[n12] = binary_conv(out[n11], w12, 3, 1, thresholds=t12)
    n13 = m.add_bit_maxpool(n12, 2, 1)
    out[n13] = bit_maxpool(out[n12], 2, 1)
    w14, t14 = p.pm1(33, 1, 1, 70), p.thresholds(33, 70)
    n14 = m.add_binary_conv(n13, w14, 1, 1, thresholds=t14)
    out[n14] = binary_conv(out[n13], w14, 1, 1, thresholds=t14)
    w15, s15, b15 = p.pm1(20, 1, 1, 33), p.f(20, 0.01, 0.05, 1 / 1024), p.f(20, -0.5, 0.5)
    n15 = m.add_binary_conv(n14, w15, 1, 2, scale=s15, bias=b15)
    out[n15] = binary_conv(out[n14], w15, 1, 2, scale=s15, bias=b15)
    n16 = m.add_unpack(n14)
    out[n16] = out[n14].astype(F32)
    n17 = m.add_global_avg_pool(n16)
    out[n17] = global_avg_pool(out[n16])
    w18, b18 = p.f(5 * 33, -0.5, 0.5).reshape(5, 33), p.f(5, -0.1, 0.1)
    n18 = m.add_real_conv1x1(n17, w18, b18)
    out[n18] = real_conv1x1(out[n17], w18, b18, 1)
    m.add_head(n15, "side", exit=False)
    m.add_head(n18, "final", exit=False)
    return m, out


def model_b(p):
    """First layer straight to bits (stride 2), wide binary convs (65, 130 channels), a binary dense."""
    H, W = 11, 13
    img = p.rng.integers(0, 256, (H, W, 1)).astype(np.uint8)
    m = mf.ModelWriter(H, W, 1)
    out = {0: img}
    fw = p.i8(65, 3, 3, 1)
    ft = p.rng.integers(-60, 61, 65).astype(np.int32)
    n1 = m.add_first_conv(fw, 2, 100, thresholds=ft)
    out[n1] = first_conv(img, fw, 2, 100, thresholds=ft)
    w2, t2 = p.pm1(130, 3, 3, 65), p.thresholds(130, 9 * 65)
    n2 = m.add_binary_conv(n1, w2, 3, 2, thresholds=t2, orig_c=160)
    out[n2] = binary_conv(out[n1], w2, 3, 2, thresholds=t2)
    n3 = m.add_bit_maxpool(n2, 2, 2)
    out[n3] = bit_maxpool(out[n2], 2, 2)
    w4, t4 = p.pm1(64, 3, 3, 130), p.thresholds(64, 9 * 130)
    n4 = m.add_binary_conv(n3, w4, 3, 1, thresholds=t4)
    out[n4] = binary_conv(out[n3], w4, 3, 1, thresholds=t4)
    w5, s5, b5 = p.pm1(10, 1, 1, 64), p.f(10, 0.01, 0.05, 1 / 1024), p.f(10, -0.5, 0.5)
    n5 = m.add_binary_conv(n4, w5, 1, 1, scale=s5, bias=b5)
    out[n5] = binary_conv(out[n4], w5, 1, 1, scale=s5, bias=b5)
    n6 = m.add_global_avg_pool(n5)
    out[n6] = global_avg_pool(out[n5])
    m.add_head(n6, "logits", exit=False)
    return m, out


def model_c(p):
    """Widening shortcuts without a projection (session 23, `--shortcut dup`): the (pooled) input's channels
    repeated through the binary conv's channel map, channel c adding channel c mod cin; once in a one-base block
    (12 -> 40, stride 2) and once on the second base's conv of a two-base pair (40 -> 64), which the runtime fuses."""
    m, out, n1, n2 = real_stem(p, 12, 20, 12)
    n3 = m.add_avg_pool(n1, 2, 2)
    out[n3] = avg_pool(out[n1], 2, 2)
    map4 = (np.arange(40) % 12).astype(np.int32)
    w4, s4, b4 = p.pm1(40, 3, 3, 12), p.f(40, 0.01, 0.05, 1 / 1024), p.f(40, -0.5, 0.5)
    pr4 = (p.f(40, -0.2, 0.2), p.f(40, 0.1, 0.3), p.f(40, -0.2, 0.2))
    n4 = m.add_binary_conv(n2, w4, 3, 2, scale=s4, bias=b4, shortcut=n3, shortcut_map=map4, prelu=pr4)
    out[n4] = binary_conv(out[n2], w4, 3, 2, scale=s4, bias=b4, shortcut=out[n3], smap=map4, pr=pr4)
    # a two-base block: sign-packs at two thresholds, the second base's conv (gamma * s, the bias, the repeated
    # shortcut) first, then the first base's (s, bias 0, the second conv as its shortcut, PReLU)
    ta, tb = p.f(40, -0.3, 0.3), p.f(40, -0.8, -0.2)
    n5 = m.add_sign_pack(n4, ta)
    out[n5] = np.where(out[n4] < ta, -1, 1).astype(np.int8)
    n6 = m.add_sign_pack(n4, tb)
    out[n6] = np.where(out[n4] < tb, -1, 1).astype(np.int8)
    w7, s7, b7 = p.pm1(64, 3, 3, 40), p.f(64, 0.01, 0.05, 1 / 1024), p.f(64, -0.5, 0.5)
    g7 = (s7 * F32(0.625)).astype(F32)
    map7 = (np.arange(64) % 40).astype(np.int32)
    n7 = m.add_binary_conv(n6, w7, 3, 1, scale=g7, bias=b7, shortcut=n4, shortcut_map=map7)
    out[n7] = binary_conv(out[n6], w7, 3, 1, scale=g7, bias=b7, shortcut=out[n4], smap=map7)
    pr8 = (p.f(64, -0.2, 0.2), p.f(64, 0.1, 0.3), p.f(64, -0.2, 0.2))
    z8 = np.zeros(64, F32)
    n8 = m.add_binary_conv(n5, w7, 3, 1, scale=s7, bias=z8, shortcut=n7, prelu=pr8)
    out[n8] = binary_conv(out[n5], w7, 3, 1, scale=s7, bias=z8, shortcut=out[n7], pr=pr8)
    n9 = m.add_global_avg_pool(n8)
    out[n9] = global_avg_pool(out[n8])
    w10, b10 = p.f(6 * 64, -0.5, 0.5).reshape(6, 64), p.f(6, -0.1, 0.1)
    n10 = m.add_real_conv1x1(n9, w10, b10)
    out[n10] = real_conv1x1(out[n9], w10, b10, 1)
    m.add_head(n10, "final", exit=False)
    return m, out


def write_fixture(outdir, name, m, out, meta):
    m.write(os.path.join(outdir, name + ".bitnet"), meta)
    blob = bytearray()
    index = []
    for node in sorted(out):
        a = out[node]
        kind = "image" if node == 0 else m.kinds[node]
        arr = {"image": a.astype(np.uint8), "bits": a.astype(np.int8), "real": a.astype("<f4")}[kind]
        index.append({"node": node, "kind": kind, "shape": list(a.shape), "offset": len(blob), "bytes": arr.nbytes})
        blob += arr.tobytes()
    with open(os.path.join(outdir, name + ".golden.bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(outdir, name + ".golden.json"), "w") as f:
        json.dump({"model": name + ".bitnet", "tensors": index}, f, indent=1)
        f.write("\n")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "BitNetTests", "Fixtures")
    os.makedirs(outdir, exist_ok=True)
    prov = {"generator": "Scripts/golden/make_golden.py", "seed": 2026, "note": "random weights, not trained"}
    m, out = model_a(Params(2026))
    write_fixture(outdir, "golden-a", m, out, {"name": "golden-a", "task": "test", "charset": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                               "input": {"height": 16, "width": 24, "channels": 1}, "provenance": prov})
    m, out = model_b(Params(2027))
    write_fixture(outdir, "golden-b", m, out, {"name": "golden-b", "task": "test",
                                               "input": {"height": 11, "width": 13, "channels": 1}, "provenance": dict(prov, seed=2027)})
    m, out = model_c(Params(2028))
    write_fixture(outdir, "golden-c", m, out, {"name": "golden-c", "task": "test",
                                               "input": {"height": 12, "width": 20, "channels": 1}, "provenance": dict(prov, seed=2028)})
    # round trip through the Python reader as a self-check
    for name in ("golden-a", "golden-b", "golden-c"):
        r = mf.read(os.path.join(outdir, name + ".bitnet"))
        assert len(r["nodes"]) > 0 and r["meta"]["name"] == name


if __name__ == "__main__":
    main()
