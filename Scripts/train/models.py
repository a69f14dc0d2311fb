"""The recognizer (and detector) networks: a real 8-bit first layer, binary Bi-Real/ReActNet blocks,
real 1x1 heads, an early-exit head part-way, and per-stage channel masks for structured pruning.

A *stage* is a run of blocks with the same width; its channels form one residual stream, so one
mask per stage prunes a channel everywhere in it (the runtime then drops those channels: fewer
output channels, fewer input words; pruned binary inputs read as +1 and fold into the bias).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from binary import Block, FirstConv, avg_pool_ceil
from common import NUM_CLASSES

# Recognizer layout: (out channels, stride, average-pool height after the block).
REC_STEM = 32
REC_BLOCKS = [(32, 1, 1), (64, 2, 1), (64, 1, 2), (128, 1, 1), (128, 1, 2), (128, 1, 1), (128, 1, 2)]
REC_EXIT_AFTER = 3          # the exit head reads the output of block 3 (4 rows high)


def _stages(stem, blocks):
    """Stage index of the stem and of each block (a new stage where the width changes)."""
    ids, widths, cur = [0], [stem], stem
    for c, _, _ in blocks:
        if c != cur:
            widths.append(c)
            cur = c
        ids.append(len(widths) - 1)
    return ids, widths


def block_bases(act_bases, n):
    """Activation bases of each of `n` binary blocks (the backbone's, then the exit branch's if there is one):
    `act_bases` is one count for all (1 or 2) or a list with one count per block (session 19: the second
    base only where it pays)."""
    if isinstance(act_bases, int):
        return [act_bases] * n
    bases = [int(b) for b in act_bases]
    if len(bases) != n:
        raise ValueError(f"act_bases lists {len(bases)} blocks; the network has {n} binary blocks")
    return bases


class Recognizer(nn.Module):
    """Input: uint8 grey crops as float, N x 1 x 32 x W. Output: dict of logits N x C x T (T = ceil(W/4))
    for 'final' and 'exit'."""

    def __init__(self, binary=True, stem=REC_STEM, blocks=None, exit_after=REC_EXIT_AFTER,
                 num_classes=NUM_CLASSES, width_mult=1.0, exit_block=False, real_weights=False,
                 real_acts=False, act_bases=1, late_exit_after=None, shortcut="proj"):
        super().__init__()
        blocks = [(int(round(c * width_mult)), s, p) for c, s, p in (blocks or REC_BLOCKS)]
        stem = int(round(stem * width_mult))
        self.binary = binary
        self.cfg = dict(binary=binary, stem=stem, blocks=blocks, exit_after=exit_after, num_classes=num_classes)
        if exit_block:
            self.cfg["exit_block"] = True
        if shortcut != "proj":   # session 23: widening shortcuts without float MACs (binary.Block)
            self.cfg["shortcut"] = shortcut
        if late_exit_after is not None:   # a second exit head, later in the backbone (session 22)
            if not exit_after < late_exit_after < len(blocks) - 1:
                raise ValueError(f"late exit after block {late_exit_after}: give a block after the exit's ({exit_after}) "
                                 f"and before the last ({len(blocks) - 1})")
            self.cfg["late_exit_after"] = late_exit_after
        if real_weights:   # binary activations, real weights (stage actbin): a training intermediate
            self.cfg["real_weights"] = True
        if real_acts:      # binary weights, real activations (stage wbin): a diagnostic
            self.cfg["real_acts"] = True
        bases = block_bases(act_bases if binary else 1, len(blocks) + bool(exit_block))
        if binary and any(b != 1 for b in bases):   # two binary bases per activation (session 15; per block, 19)
            self.cfg["act_bases"] = bases[0] if len(set(bases)) == 1 else bases
        self.stem = FirstConv(stem, stride=2)
        self.blocks = nn.ModuleList()
        cin = stem
        for (c, s, _), nb in zip(blocks, bases):
            self.blocks.append(Block(cin, c, s, binary, real_weights, real_acts, nb, shortcut))
            cin = c
        self.pools = [p for _, _, p in blocks]
        self.stage_of, widths = _stages(stem, blocks)
        for i, w in enumerate(widths):
            self.register_buffer(f"mask{i}", torch.ones(w))
        self.exit_after = exit_after
        self.exit_rows = self._rows_after(exit_after)
        # Optional (session 7): one more binary block on the exit branch, after the rows are averaged (a
        # 1 x 3 context over time steps, as the 1-row input's padding leaves it), before the exit head.
        self.exit_block = (Block(blocks[exit_after][0], blocks[exit_after][0], 1, binary, real_weights, real_acts, bases[-1])
                           if exit_block else None)
        self.exit_head = nn.Conv2d(blocks[exit_after][0], num_classes, 1)
        # The second exit (`exit2`): a plain 1x1 CTC head on a later block's rows, averaged; tried only when the
        # first exit was not confident enough. Its logits may carry a temperature (add_exit.py) so that one
        # confidence threshold serves both exits.
        self.late_exit_after = late_exit_after
        self.late_exit_head = nn.Conv2d(blocks[late_exit_after][0], num_classes, 1) if late_exit_after is not None else None
        self.head = nn.Conv2d(cin, num_classes, 1)
        self.dropout = nn.Dropout(0.1)

    def _rows_after(self, k, h=32):
        h = math.ceil(h / 2)
        for i, (_, s, p) in enumerate(self.cfg["blocks"]):
            h = math.ceil(h / s)
            h = math.ceil(h / p)
            if i == k:
                return h
        return h

    def masks(self):
        return [getattr(self, f"mask{i}") for i in range(len(set(self.stage_of)))]

    def binary_blocks(self):
        """Every binary block: the backbone's, then the exit branch's if there is one."""
        return list(self.blocks) + ([self.exit_block] if getattr(self, "exit_block", None) is not None else [])

    def forward(self, x, exit_only=False):
        masks = self.masks()
        x = self.stem(x) * masks[0].view(1, -1, 1, 1)
        out = {}
        for i, b in enumerate(self.blocks):
            x = b(x, masks[self.stage_of[i]], masks[self.stage_of[i + 1]])
            if self.pools[i] > 1:
                x = avg_pool_ceil(x, self.pools[i], 1)
            if i == self.exit_after:
                e = avg_pool_ceil(x, x.shape[2], 1)
                if self.exit_block is not None:
                    e = self.exit_block(e, masks[self.stage_of[i + 1]], None)
                out["exit"] = self.exit_head(self.dropout(e)).squeeze(2)
                if exit_only:
                    return out
            if i == self.late_exit_after:
                e = avg_pool_ceil(x, x.shape[2], 1)
                out["exit2"] = self.late_exit_head(self.dropout(e)).squeeze(2)
        x = avg_pool_ceil(x, x.shape[2], 1)
        out["final"] = self.head(self.dropout(x)).squeeze(2)
        return out

    # -- structured sparsity ---------------------------------------------------------------------
    def channel_groups(self):
        """Per stage: list of (tensor, dim) whose slices along `dim` belong to one stream channel."""
        groups = [[] for _ in self.masks()]
        groups[0] += [(self.stem.bn.weight, 0)]
        for i, b in enumerate(self.blocks):
            st = self.stage_of[i + 1]
            groups[st] += [(b.bn.weight, 0)]
            if b.proj is not None:
                groups[st] += [(b.proj.weight, 0)]
                groups[self.stage_of[i]] += [(b.proj.weight, 1)]
        for head, st in self.head_stages():
            groups[st] += [(head.weight, 1)]
        return groups

    def head_stages(self):
        """(real 1x1 head conv, stage whose channels it reads)."""
        heads = [(self.head, self.stage_of[-1]), (self.exit_head, self.stage_of[self.exit_after + 1])]
        if getattr(self, "late_exit_head", None) is not None:
            heads.append((self.late_exit_head, self.stage_of[self.late_exit_after + 1]))
        return heads

    def group_norms(self):
        """L2 norm of each channel group, per stage (list of tensors)."""
        out = []
        for st, items in enumerate(self.channel_groups()):
            sq = 0
            for t, d in items:
                tt = t.transpose(0, d).reshape(t.shape[d], -1)
                sq = sq + (tt ** 2).sum(1)
            out.append(torch.sqrt(sq + 1e-12))
        return out

    def group_lasso(self):
        """Sum over channels of the group norms, masked channels excluded."""
        return sum((n * m).sum() for n, m in zip(self.group_norms(), self.masks()))

    def binary_channels(self):
        """(kept, total) binary conv output channels (each block's out channels, via stage masks)."""
        kept = total = 0
        for i, b in enumerate(self.blocks):
            m = self.masks()[self.stage_of[i + 1]]
            kept += int(m.sum().item())
            total += m.numel()
        return kept, total

    def op_counts(self, width=128, height=32):
        """Binary MACs (XNOR-popcount terms) and real MACs for one crop, with the masks applied: a whole run
        (`binary_macs`, `real_macs`: the final head's, not the exits'), and a run that stops at the exit
        (`exit_*`) or at the late exit (`exit2_*`, when there is one; the first exit's head ran before it)."""
        masks = [int(m.sum().item()) for m in self.masks()]
        h, w = math.ceil(height / 2), math.ceil(width / 2)
        real = h * w * masks[0] * 9
        binary = 0
        late_after = getattr(self, "late_exit_after", None)
        out = {}
        for i, (b, (c, s, p)) in enumerate(zip(self.blocks, self.cfg["blocks"])):
            cin, cout = masks[self.stage_of[i]], masks[self.stage_of[i + 1]]
            h, w = math.ceil(h / s), math.ceil(w / s)
            binary += h * w * cout * cin * 9 * b.act_bases
            if b.proj is not None:
                real += h * w * cout * cin
            h = math.ceil(h / p)
            if i == self.exit_after:
                ce = self.cfg["blocks"][i][0]
                extra = w * ce * cout * 9 * self.exit_block.act_bases if self.exit_block is not None else 0
                exit_head = w * (ce if extra else cout) * NUM_CLASSES
                out.update(exit_binary_macs=binary + extra, exit_real_macs=real + exit_head)
                binary_exit_branch = extra
            if i == late_after:
                out.update(exit2_binary_macs=binary + binary_exit_branch,
                           exit2_real_macs=real + exit_head + w * cout * NUM_CLASSES)
        binary += binary_exit_branch
        real += w * masks[-1] * NUM_CLASSES
        return dict(binary_macs=binary, real_macs=real, **out)


def from_cfg(cfg, binary=None):
    """The network a checkpoint's `cfg` describes (detector or recogniser); `binary` overrides its kind."""
    b = cfg["binary"] if binary is None else binary
    if cfg.get("task") == "detector":
        return Detector(binary=b, stem=cfg["stem"], blocks=cfg["blocks"], exit_after=cfg["exit_after"],
                        act_bases=cfg.get("act_bases", 1) if b else 1, shortcut=cfg.get("shortcut", "proj"),
                        out_stride=cfg.get("out_stride", 4))
    return Recognizer(binary=b, stem=cfg["stem"], blocks=cfg["blocks"], exit_after=cfg["exit_after"],
                      num_classes=cfg.get("num_classes", NUM_CLASSES), exit_block=cfg.get("exit_block", False),
                      late_exit_after=cfg.get("late_exit_after"),
                      real_weights=cfg.get("real_weights", False) and b, real_acts=cfg.get("real_acts", False) and b,
                      act_bases=cfg.get("act_bases", 1) if b else 1, shortcut=cfg.get("shortcut", "proj"))


def fully_binary(model):
    """Whether every binary block binarises both its input and its weights: what export.py writes (not the
    teacher, nor the half-binary stages actbin and wbin)."""
    return model.binary and not (model.cfg.get("real_weights") or model.cfg.get("real_acts"))


def output_lengths(widths):
    """CTC time steps for crops of these pixel widths (stride 4 with ceil)."""
    return [math.ceil(math.ceil(int(w) / 2) / 2) for w in widths]


def param_bytes(model):
    """Parameters and bytes as deployed: binary conv weights 1 bit each (kept channels only),
    the first layer's weights 8 bits, every other real parameter float32; BN folded into scale+bias."""
    masks = [m.bool() for m in model.masks()]
    bits = 0
    nparam = 0
    so = model.stage_of
    sizes = [(b, int(masks[so[i]].sum()), int(masks[so[i + 1]].sum())) for i, b in enumerate(model.blocks)]
    if getattr(model, "exit_block", None) is not None:
        sizes.append((model.exit_block, int(masks[so[model.exit_after + 1]].sum()), model.exit_block.cout))
    for b, cin, cout in sizes:
        nb = cout * cin * 9
        bits += nb                       # weights
        bits += 32 * 2 * cout            # scale, bias
        bits += 32 * cin * b.act_bases   # sign_pack thresholds (shift, shift2)
        bits += 32 * 3 * cout            # RPReLU
        nparam += nb + 2 * cout + cin * b.act_bases + 3 * cout
        if b.act_bases == 2:
            bits += 32                   # gamma
            nparam += 1
        if b.proj is not None:
            bits += 32 * (cout * cin + cout)
            nparam += cout * cin + cout
    c0 = int(masks[0].sum())
    bits += c0 * 9 * 8 + 32 * (2 + 3) * c0
    nparam += c0 * 9 + 5 * c0
    for head, st in model.head_stages():
        cin = int(masks[st].sum())
        bits += 32 * (head.out_channels * cin + head.out_channels)
        nparam += head.out_channels * cin + head.out_channels
    return nparam, bits // 8


# Detector layout: stem 16 (stride 2), then (out channels, stride, 1, 1) blocks; output stride 4.
DET_STEM = 16
DET_BLOCKS = [(32, 2, 1), (32, 1, 1), (48, 1, 1), (48, 1, 1), (48, 1, 1), (48, 1, 1)]
DET_EXIT_AFTER = 1
DET_OUT_STRIDES = (4, 2)   # the detector's map strides (2: sub-cell head, session 24)
DET_TILE = 40               # input pixels per early-exit tile (10 x 10 cells at stride 4)


class Detector(Recognizer):
    """Input: uint8 grey frame as float, N x 1 x H x W (640 x 360 in use). Output dict:
    'maps' N x 2 x H/s x W/s (kernel logit, log2 word height; s = cfg's out_stride, default 4), 'tiles' N x 1 x H/40 x W/40 (exit:
    tile holds text logit). Same blocks, stage masks and pruning as the recognizer."""

    def __init__(self, binary=True, stem=DET_STEM, blocks=None, exit_after=DET_EXIT_AFTER, width_mult=1.0,
                 act_bases=1, shortcut="proj", out_stride=4):
        super().__init__(binary=binary, stem=stem, blocks=blocks or DET_BLOCKS, exit_after=exit_after,
                         num_classes=2, width_mult=width_mult, act_bases=act_bases, shortcut=shortcut)
        self.exit_head = nn.Conv2d(self.cfg["blocks"][exit_after][0], 1, 1)
        self.cfg["task"] = "detector"
        if out_stride not in DET_OUT_STRIDES:
            raise ValueError(f"output stride {out_stride}: the detector's maps are at stride 4 or 2")
        # Session 24: maps at stride 2 from the stride-4 features: the 1x1 head gives each cell's 2 x 2
        # sub-cells (kernel logits in channels 0-3, log2 heights in 4-7), rearranged depth-to-space.
        self.up = 4 // out_stride
        if out_stride != 4:
            self.cfg["out_stride"] = out_stride
            self.head = nn.Conv2d(self.cfg["blocks"][-1][0], 2 * self.up * self.up, 1)

    def forward(self, x, exit_only=False):
        masks = self.masks()
        x = self.stem(x) * masks[0].view(1, -1, 1, 1)
        out = {}
        for i, b in enumerate(self.blocks):
            x = b(x, masks[self.stage_of[i]], masks[self.stage_of[i + 1]])
            if i == self.exit_after:
                k = DET_TILE // 4
                out["tiles"] = self.exit_head(avg_pool_ceil(x, k, k))
                if exit_only:
                    return out
        out["maps"] = self.head(x) if self.up == 1 else F.pixel_shuffle(self.head(x), self.up)
        return out

    def head_layout(self, maps):
        """`maps` (N x 2 x H/s x W/s) as the 1x1 head gives them, the layout a model file's 'maps' head has:
        N x 2 r^2 x H/4 x W/4 (r = 4 / s sub-cells per cell and axis; unchanged at stride 4)."""
        return maps if self.up == 1 else F.pixel_unshuffle(maps, self.up)

    def op_counts(self, width=640, height=360):
        masks = [int(m.sum().item()) for m in self.masks()]
        h, w = math.ceil(height / 2), math.ceil(width / 2)
        real = h * w * masks[0] * 9
        binary = 0
        for i, (b, (c, s, p)) in enumerate(zip(self.blocks, self.cfg["blocks"])):
            cin, cout = masks[self.stage_of[i]], masks[self.stage_of[i + 1]]
            h, w = math.ceil(h / s), math.ceil(w / s)
            binary += h * w * cout * cin * 9 * b.act_bases
            if b.proj is not None:
                real += h * w * cout * cin
            if i == self.exit_after:
                exit_binary, exit_real = binary, real + h * w * cout
        real += h * w * masks[-1] * 2 * self.up * self.up
        return dict(binary_macs=binary, real_macs=real, exit_binary_macs=exit_binary, exit_real_macs=exit_real)
