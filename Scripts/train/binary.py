"""Binary building blocks (PyTorch) shaped after what the BitSpot runtime executes
(Scripts/bitnet/modelfile.py, docs/model-format.md):

* activations are binarised with a learnable per-channel shift (ReActNet RSign): value +1 iff
  x + shift >= 0 (the runtime's sign_pack: bit 1 = -1 iff x < threshold, threshold = -shift);
* 3x3 binary convolutions pad with +1 (a zero word in the packed layout), so training pads the ±1
  tensor with +1 explicitly; weights are sign(W) times a per-output-channel scale mean|W| (XNOR-Net),
  folded with the batch-norm into the runtime's per-channel `scale * dot + bias` at export;
* a real-valued shortcut (Bi-Real Net) is added to the real output, then a shifted PReLU (RPReLU);
* straight-through estimators: Bi-Real's piecewise-polynomial gradient for activations, clipped
  identity (|W| <= 1) for weights;
* the first layer is real with 8-bit weights (fake-quantised per output channel while training) on
  8-bit input (zero point 128), the last layers are real 1x1 convolutions.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class _ApproxSign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        # Bi-Real Net: d/dx of the piecewise quadratic approximation of sign.
        grad = torch.clamp(2.0 - 2.0 * x.abs(), min=0.0)
        return g * grad


class _WeightSign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        return g * (w.abs() <= 1.0).to(g.dtype)


def bsign(x):
    return _ApproxSign.apply(x)


class RPReLU(nn.Module):
    """y = prelu(x - shift_in, slope) + shift_out, per channel (the runtime's `prelu`)."""

    def __init__(self, c, slope=0.25):
        super().__init__()
        self.shift_in = nn.Parameter(torch.zeros(c))
        self.slope = nn.Parameter(torch.full((c,), slope))
        self.shift_out = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        t = x - self.shift_in.view(1, -1, 1, 1)
        return torch.where(t >= 0, t, t * self.slope.view(1, -1, 1, 1)) + self.shift_out.view(1, -1, 1, 1)


class FirstConv(nn.Module):
    """Real 3x3 conv (pad 1) of the 8-bit image, weights fake-quantised to int8 per output channel.
    Input is the uint8 image as float; it is centred at the zero point 128 and divided by 64 inside."""
    ZERO_POINT = 128
    IN_SCALE = 64.0

    def __init__(self, cout, stride=2, quantize=True):
        super().__init__()
        self.conv = nn.Conv2d(1, cout, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = RPReLU(cout)
        self.quantize = quantize
        self.stride = stride

    def qweight(self):
        w = self.conv.weight
        s = w.detach().abs().amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-8) / 127.0
        wq = torch.round(w / s).clamp(-127, 127) * s
        return w + (wq - w).detach(), s

    def forward(self, img_u8):
        x = (img_u8 - self.ZERO_POINT) / self.IN_SCALE
        w = self.qweight()[0] if self.quantize else self.conv.weight
        return self.act(self.bn(F.conv2d(x, w, None, self.stride, 1)))


SHORTCUTS = ("proj", "dup")


def dup_map(cin, cout):
    """The parameter-free widening shortcut: output channel c adds input channel c mod cin."""
    return torch.arange(cout) % cin


class Block(nn.Module):
    """One Bi-Real/ReActNet block: y = RPReLU(BN(conv(binarise(x + shift))) + shortcut(x)).

    shortcut: identity; or (stride 2) average pooling, and where the channels change a real 1x1 conv
    (`shortcut="proj"`) or, without any parameters or float MACs, the input's channels repeated
    (`shortcut="dup"`, session 23: output channel c adds input channel c mod cin, as ReActNet's reduction
    blocks duplicate their input; the model file's shortcut channel map expresses it).
    `binary=False` makes the full-precision teacher version (no binarisation, zero padding);
    `real_weights=True` binarises the activations only (ReActNet's first step: the weights stay real;
    such a block is a training intermediate, never exported); `real_acts=True` binarises the weights only
    (real input, zero padding: a diagnostic of what each half of the binarisation costs, never exported).
    `act_bases=2` (session 15, ABC-Net's multiple binary bases) binarises the input twice, at two learnable
    per-channel shifts, and convolves b1 + gamma * b2 (gamma one learnable scalar per block): the runtime runs
    two sign-packs and two XNOR-popcount passes over the same binary weights and adds dot1 + gamma * dot2.
    With gamma = 0 the block is the one-base block (a one-base checkpoint loads into it unchanged)."""

    def __init__(self, cin, cout, stride=1, binary=True, real_weights=False, real_acts=False, act_bases=1,
                 shortcut="proj"):
        super().__init__()
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {SHORTCUTS}, not {shortcut!r}")
        self.cin, self.cout, self.stride, self.binary = cin, cout, stride, binary
        self.real_weights, self.real_acts = real_weights, real_acts
        self.act_bases = act_bases
        self.shift = nn.Parameter(torch.zeros(cin))
        if act_bases == 2:
            self.shift2 = nn.Parameter(torch.full((cin,), -0.5))
            self.gamma = nn.Parameter(torch.zeros(()))
        elif act_bases != 1:
            raise ValueError(f"act_bases must be 1 or 2, not {act_bases}")
        self.weight = nn.Parameter(torch.randn(cout, cin, 3, 3) * (1.0 / (3 * cin ** 0.5)))
        self.bn = nn.BatchNorm2d(cout)
        self.proj = nn.Conv2d(cin, cout, 1, bias=True) if cin != cout and shortcut == "proj" else None
        self.dup = cin != cout and shortcut == "dup"
        if self.dup:
            self.register_buffer("dup_index", dup_map(cin, cout), persistent=False)
        self.act = RPReLU(cout)

    def binary_weight(self):
        alpha = self.weight.abs().mean(dim=(1, 2, 3), keepdim=True)
        return _WeightSign.apply(self.weight) * alpha

    @staticmethod
    def _binarise(x, shift, in_mask):
        """sign(x + shift) per channel, pruned input channels +1, padded with +1 for the 3x3 conv."""
        xb = bsign(x + shift.view(1, -1, 1, 1))
        if in_mask is not None:   # pruned input channels read as +1 (= padding; folds into bias)
            m = in_mask.view(1, -1, 1, 1)
            xb = xb * m + (1 - m)
        return F.pad(xb, (1, 1, 1, 1), value=1.0)

    def forward(self, x, in_mask=None, out_mask=None):
        if self.binary and self.real_acts:
            y = F.conv2d(x, self.binary_weight(), None, self.stride, 1)
        elif self.binary:
            xb = self._binarise(x, self.shift, in_mask)
            if self.act_bases == 2:   # padding and pruned channels read +1 in both bases
                xb = xb + self.gamma * self._binarise(x, self.shift2, in_mask)
            w = self.weight if self.real_weights else self.binary_weight()
            y = F.conv2d(xb, w, None, self.stride, 0)
        else:
            y = F.conv2d(x, self.weight, None, self.stride, 1)
        y = self.bn(y)
        s = x
        if self.stride == 2:
            s = F.avg_pool2d(s, 2, 2, ceil_mode=True, count_include_pad=False)
        if self.proj is not None:
            s = self.proj(s)
        elif self.dup:
            s = s[:, self.dup_index]
        y = self.act(y + s)
        if out_mask is not None:
            y = y * out_mask.view(1, -1, 1, 1)
        return y


def avg_pool_ceil(x, ph, pw):
    return F.avg_pool2d(x, (ph, pw), (ph, pw), ceil_mode=True, count_include_pad=False)
