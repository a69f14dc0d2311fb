#!/usr/bin/env python3
"""Gives a recogniser a second early exit: the exit head of DONOR (the same network with its exit head
trained at a later block: `train_rec.py --stage exithead --no-exit-block --exit-after K --init BASE`) becomes
BASE's head `exit2`, tried when BASE's own exit is not confident enough; the final head and everything
else stay BASE's, so the network reads every crop that reaches the end exactly as BASE does.

One confidence threshold (`bitspot spot --recognizer-exit`) serves both exits. The late head's logits are
divided by a temperature T (folded into its weights, so the file and the runtime are unchanged) chosen on
calibration crops of held-out fonts (never the reported set): of the temperatures whose cascade at
--threshold costs at most --max-drop points of word accuracy there, the one that answers the most crops.

  .venv-train/bin/python Scripts/train/add_exit.py checkpoints/rec/shipped/best.pt \\
      checkpoints/rec/s22-exit5/best.pt --out checkpoints/rec/s22-two-exits/best.pt

Exit codes: 0 written; 2 bad arguments or checkpoints that are not the same network (nothing written).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

import data_rec
import models
from eval_rec import EVAL_SEED, EXITS, cascade, exit_masks, load_eval_set, run
from exit_calibration import per_crop

TEMPERATURES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)
MAC_KEYS = ("exit_binary_macs", "exit2_binary_macs")


class Mismatch(Exception):
    pass


def combine(base_ck, donor_ck):
    """BASE's network with DONOR's exit head as its late exit (temperature 1), or Mismatch."""
    bc, dc = base_ck["cfg"], donor_ck["cfg"]
    if bc.get("task") == "detector" or dc.get("task") == "detector":
        raise Mismatch("recognisers only")
    if not (bc.get("binary") and dc.get("binary")):
        raise Mismatch("both checkpoints must be binary students")
    if bc.get("late_exit_after") is not None:
        raise Mismatch(f"BASE already has a second exit (after block {bc['late_exit_after']})")
    if dc.get("exit_block") or dc.get("late_exit_after") is not None:
        raise Mismatch("DONOR's exit must be a plain head (trained with --no-exit-block) and its only one")
    for k in ("stem", "blocks", "num_classes", "act_bases"):
        a, b = bc.get(k), dc.get(k)
        if k == "blocks":     # tuples or lists, as saved
            a, b = [tuple(x) for x in a], [tuple(x) for x in b]
        if a != b:
            raise Mismatch(f"BASE and DONOR differ in {k}: {bc.get(k)} vs {dc.get(k)}")
    late = dc["exit_after"]
    if not bc["exit_after"] < late < len(bc["blocks"]) - 1:
        raise Mismatch(f"DONOR's exit reads block {late}: give one after BASE's exit (block {bc['exit_after']}) "
                       f"and before the last block")
    bs, ds = base_ck["model"], donor_ck["model"]
    for k, v in bs.items():
        if k.startswith(("exit_head.", "exit_block.")):
            continue
        if k not in ds or ds[k].shape != v.shape or not torch.equal(ds[k], v):
            raise Mismatch(f"BASE and DONOR differ in {k}: DONOR must be BASE with only its exit head retrained "
                           "(train_rec.py --stage exithead --init BASE)")
    model = models.from_cfg(dict(bc, late_exit_after=late))
    model.load_state_dict(bs, strict=False)
    set_temperature(model, donor_ck, 1.0)
    return model.eval()


def set_temperature(model, donor_ck, T):
    """The late exit head := DONOR's exit head with its logits divided by T."""
    with torch.no_grad():
        model.late_exit_head.weight.copy_(donor_ck["model"]["exit_head.weight"] / T)
        model.late_exit_head.bias.copy_(donor_ck["model"]["exit_head.bias"] / T)
    model.cfg["late_exit_temperature"] = T


def mac_share(model):
    """Binary MACs of a run that stops at each exit, as a share of a whole run's (32 x 128 crop)."""
    c = model.op_counts()
    return [c[k] / c["binary_macs"] for k in MAC_KEYS]


def sweep(model, donor_ck, crops, threshold, temperatures=TEMPERATURES):
    """Per temperature: crops answered by each exit at `threshold`, word-accuracy drop (points) against the
    final head, and binary MACs per crop as a share of a whole run."""
    imgs, labels = crops
    share = mac_share(model)
    rows = []
    for T in temperatures:
        set_temperature(model, donor_ck, T)
        pred, conf = run(model, imgs)
        per = {h: per_crop(p, labels)[0] for h, p in pred.items()}
        masks = exit_masks(conf, threshold)
        acc = float(np.mean(cascade(per, conf, threshold)))
        cost = 1.0 - sum(float(m.mean()) * (1 - s) for m, s in zip(masks, share))
        rows.append(dict(temperature=T, answered={h: float(m.mean()) for h, m in zip(EXITS, masks)},
                         answered_total=float(sum(m.mean() for m in masks)), word_acc=acc,
                         drop_points=(float(per["final"].mean()) - acc) * 100, binary_macs_share=cost))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", type=Path, help="the recogniser checkpoint (its exit stays the first)")
    ap.add_argument("donor", type=Path, help="the same recogniser with its exit head trained at a later block")
    ap.add_argument("--out", type=Path, required=True, help="the two-exit checkpoint to write")
    ap.add_argument("--temperature", type=float, help="use this temperature instead of calibrating one")
    ap.add_argument("--threshold", type=float, default=0.8,
                    help="the exit threshold the temperature is chosen for (default 0.8, bitspot's --recognizer-exit)")
    ap.add_argument("--max-drop", type=float, default=1.0, help="word-accuracy points the exits may cost (default 1)")
    ap.add_argument("--calibration-seed", type=int, default=20202)
    ap.add_argument("--calibration-n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.temperature is not None and not 0.05 <= args.temperature <= 20:
        ap.error(f"--temperature {args.temperature}: give 0.05 to 20")
    if not 0 < args.threshold <= 1:
        ap.error(f"--threshold {args.threshold}: give a confidence in (0, 1]")
    if args.calibration_seed == EVAL_SEED:
        ap.error(f"--calibration-seed {EVAL_SEED} is the reported evaluation set's; calibrate on other crops")
    torch.set_num_threads(args.threads)
    cks = []
    for p in (args.base, args.donor):
        try:
            cks.append(torch.load(p, map_location="cpu", weights_only=False))
        except (OSError, RuntimeError, EOFError) as e:
            ap.error(f"{p}: cannot read the checkpoint ({e})")
    try:
        model = combine(*cks)
    except Mismatch as e:
        ap.error(f"{args.donor} onto {args.base}: {e}")
    data_rec.MAX_WIDTH = int(cks[0].get("args", {}).get("max_width") or data_rec.MAX_WIDTH)
    report = dict(base=str(args.base), donor=str(args.donor), late_exit_after=model.late_exit_after,
                  threshold=args.threshold, max_drop=args.max_drop, mac_share_at_exits=mac_share(model))
    if args.temperature is None:
        crops = load_eval_set(args.calibration_n, seed=args.calibration_seed)
        print(f"calibrating on {args.calibration_n} crops (seed {args.calibration_seed}) at threshold {args.threshold}",
              file=sys.stderr)
        rows = sweep(model, cks[1], crops, args.threshold)
        for r in rows:
            print(f"  T {r['temperature']:.2f}: answered {r['answered_total']:.3f} "
                  f"({', '.join(f'{h} {v:.3f}' for h, v in r['answered'].items())}), drop {r['drop_points']:.2f} points, "
                  f"binary MACs {r['binary_macs_share']:.3f} of a whole run", file=sys.stderr)
        ok = [r for r in rows if r["drop_points"] <= args.max_drop + 1e-9]
        if not ok:
            ap.error(f"no temperature keeps the drop within {args.max_drop} points at threshold {args.threshold}")
        T = max(ok, key=lambda r: r["answered_total"])["temperature"]
        report.update(calibration=dict(seed=args.calibration_seed, n=args.calibration_n, rows=rows))
    else:
        T = args.temperature
    set_temperature(model, cks[1], T)
    report["temperature"] = T
    ck = dict(model=model.state_dict(), cfg=model.cfg, stage="addexit", step=cks[0].get("step"),
              args=dict(cks[0].get("args", {}), add_exit=vars(args)), eval=cks[0].get("eval"), add_exit=report)
    if "source_meta" in cks[0]:
        ck["source_meta"] = cks[0]["source_meta"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    torch.save(ck, tmp)
    os.replace(tmp, args.out)
    print(json.dumps(dict(temperature=T, late_exit_after=model.late_exit_after, out=str(args.out)), indent=None))


if __name__ == "__main__":
    main()
