#!/usr/bin/env python3
"""Widen a trained recogniser without changing what it computes (Net2Net's function-preserving
widening, adapted to binary convolutions), to train a wider student from a trained narrow one.

Every stage of C channels grows to round(C * width_mult); the new channels come in pairs (a, b), both
copies of one existing channel j (stem row, binary-conv row, batch-norm, RPReLU, the next blocks' sign
shifts, the 1x1 shortcut's row), so a and b carry exactly channel j's values. What reads them:
* a binary convolution gets +r * alpha_o in column a and -r * alpha_o in column b (r random +-1 per tap,
  alpha_o the row's mean |W| before widening): the pair's identical +-1 inputs (and the +1 padding)
  cancel, and the row's XNOR-Net scale mean |W| is unchanged;
* a real 1x1 convolution (shortcut projection, heads) gets zero columns.
So the widened network's outputs equal the narrow one's (up to float summation order), and training
breaks the symmetry at once: a and b receive opposite gradients through the +-r columns.

  .venv-train/bin/python Scripts/train/widen.py checkpoints/rec/student-s5b/best.pt checkpoints/rec/wide15-init.pt --width-mult 1.5
then train it as a student: train_rec.py --stage student --width-mult 1.5 --init checkpoints/rec/wide15-init.pt ...
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

import models


def _stage_maps(model, width_mult, gen):
    """Per stage: (old width, new width, source index of every new-width channel)."""
    maps = []
    for m in model.masks():
        c = m.numel()
        if not bool((m == 1).all()):
            raise ValueError("widening a pruned network is not supported (stage masks are not all ones)")
        c2 = int(round(c * width_mult))
        extra = c2 - c
        if extra < 0 or extra % 2:
            raise ValueError(f"a stage of {c} channels cannot grow to {c2}: the new channels must come in pairs")
        pairs = extra // 2
        if pairs <= c:
            picks = torch.randperm(c, generator=gen)[:pairs]
        else:
            picks = torch.randint(0, c, (pairs,), generator=gen)
        src = torch.cat([torch.arange(c), picks.repeat_interleave(2)])
        maps.append((c, c2, src))
    return maps


def _binary_columns(w_rows, extra, gen):
    """w_rows: out x in x 3 x 3 (rows already widened), with `extra` new columns in +-pairs of magnitude alpha_o."""
    alpha = w_rows.abs().mean(dim=(1, 2, 3), keepdim=True)
    pairs = extra // 2
    base_rows = w_rows.shape[0]
    r = torch.where(torch.rand(base_rows, pairs, *w_rows.shape[2:], generator=gen) < 0.5, -1.0, 1.0).to(w_rows.dtype)
    cols = torch.stack([r, -r], dim=2).reshape(base_rows, 2 * pairs, *w_rows.shape[2:]) * alpha
    return torch.cat([w_rows, cols], dim=1)


def _zero_columns(w, extra):
    """A real convolution's weight (out x in x k x k) with `extra` zero input columns appended."""
    return torch.cat([w, w.new_zeros(w.shape[0], extra, *w.shape[2:])], dim=1)


def widen_recognizer(model: models.Recognizer, width_mult: float, seed: int = 0) -> models.Recognizer:
    """A new Recognizer, round(width_mult x) as wide in every stage, computing the same outputs."""
    if type(model) is not models.Recognizer:
        raise ValueError("only the recogniser can be widened")
    if getattr(model, "exit_block", None) is not None:
        raise ValueError("widening a recogniser with an exit block is not supported")
    if model.cfg.get("act_bases", 1) != 1:
        raise ValueError("widening a recogniser with two activation bases is not supported")
    gen = torch.Generator().manual_seed(seed)
    maps = _stage_maps(model, width_mult, gen)
    cfg = model.cfg
    widths = [c2 for _, c2, _ in maps]
    so = model.stage_of
    new_blocks = [(widths[so[i + 1]], s, p) for i, (_, s, p) in enumerate(cfg["blocks"])]
    wide = models.Recognizer(binary=cfg["binary"], stem=widths[0], blocks=new_blocks, exit_after=cfg["exit_after"],
                             num_classes=cfg["num_classes"]).to(next(model.parameters()).dtype)
    old = model.state_dict()
    new = wide.state_dict()

    head_stage = {head: st for head, st in model.head_stages()}

    def rows(t, st):            # tensor indexed by stage st's channels along dim 0
        return t[maps[st][2]].clone()

    def extra(st):
        return maps[st][1] - maps[st][0]

    with torch.no_grad():
        for name, t in old.items():
            if name.startswith("mask"):     # the new network's masks are all ones already
                continue
            if name.endswith("num_batches_tracked"):
                new[name] = t.clone()
                continue
            parts = name.split(".")
            if parts[0] == "stem":
                new[name] = rows(t, 0)
            elif parts[0] == "blocks":
                i = int(parts[1])
                st_in, st_out = so[i], so[i + 1]
                field = ".".join(parts[2:])
                if field == "shift":
                    new[name] = rows(t, st_in)
                elif field == "weight":
                    # (in a float network the +r / -r columns cancel the same way)
                    new[name] = _binary_columns(rows(t, st_out), extra(st_in), gen)
                elif field == "proj.weight":
                    new[name] = _zero_columns(rows(t, st_out), extra(st_in))
                else:       # bn.*, act.*, proj.bias: per output channel
                    new[name] = rows(t, st_out)
            elif parts[0] in ("head", "exit_head"):
                if parts[1] == "weight":
                    new[name] = _zero_columns(t, extra(head_stage[getattr(model, parts[0])]))
                else:
                    new[name] = t.clone()
            else:
                raise ValueError(f"unexpected parameter {name}")
    wide.load_state_dict(new)
    return wide


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path, help="a recogniser checkpoint (train_rec.py's best.pt)")
    ap.add_argument("out", type=Path, help="the widened checkpoint to write (for train_rec.py --init)")
    ap.add_argument("--width-mult", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    try:
        ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
        m = models.from_cfg(ck["cfg"])
        m.load_state_dict(ck["model"])
    except (OSError, KeyError, RuntimeError) as e:
        sys.exit(f"widen: cannot read {args.checkpoint}: {e}")
    try:
        wide = widen_recognizer(m, args.width_mult, args.seed)
    except ValueError as e:
        sys.exit(f"widen: {args.checkpoint}: {e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    torch.save(dict(model=wide.state_dict(), cfg=wide.cfg, stage="widened",
                    args=dict(source=str(args.checkpoint), width_mult=args.width_mult, seed=args.seed)), tmp)
    os.replace(tmp, args.out)
    print(f"{args.checkpoint} -> {args.out}: stages {[m.numel() for m in m.masks()]} -> "
          f"{[m.numel() for m in wide.masks()]}, params {models.param_bytes(m)[0]} -> {models.param_bytes(wide)[0]}")


if __name__ == "__main__":
    main()
