#!/usr/bin/env python3
"""Detector training, same stages as train_rec.py (teacher, student, sparse, prune, finetune, exits),
each with its own checkpoint folder, report and --resume.

Trains on 320 x 160 windows (tile-aligned) cut from 640 x 360 synthetic frames (data_det.py); the
network is fully convolutional, so it runs on whole 640 x 360 frames at evaluation and deployment.
Losses: kernel map BCE + dice (ignore cells excluded), log2-height L1 on kernel cells, tile BCE for the
early exit; distillation from the teacher's maps (sigmoid at temperature T) when --teacher is given.

  .venv-train/bin/python Scripts/train/train_det.py --stage teacher --out checkpoints/det/teacher --steps 3000
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from common import Schedule, check_out_folder, log, write_json
import data_det
import fonts_train
import models
from eval_det import EVAL_SEED, evaluate, load_eval_set
from binary import SHORTCUTS
from train_rec import (ACT_BASES_HELP, SHORTCUT_HELP, STAGES, changed_shortcuts, dropped_bases, grow_second_base,
                       parse_act_bases, prune_masks, resolve_act_bases, resolve_layout, resolve_shortcut,
                       starting_point)

WIN_W, WIN_H = 320, 160
VAL_SEED = 20212     # validation frames (held-out fonts) for choosing best.pt; not the reported set (EVAL_SEED)


class FrameStream(torch.utils.data.IterableDataset):
    def __init__(self, seed, batch, windows_per_frame=2, sep_weight=3.0, stride=data_det.STRIDE, frame_opts=None):
        self.seed, self.batch, self.wpf, self.sep_weight, self.stride = seed, batch, windows_per_frame, sep_weight, stride
        self.frame_opts = dict(frame_opts or {})   # data_det.make_frame's max_text_h, mono, tracking

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        fonts = fonts_train.training_fonts()
        while True:
            xs, ks, hs, igs, ts, ws = [], [], [], [], [], []
            while len(xs) < self.batch:
                g, words = data_det.make_frame(rng, "train", fonts, **self.frame_opts)
                k, h, ig, t = data_det.targets(words, stride=self.stride)
                sw = data_det.separation_weights(words, k, weight=self.sep_weight, stride=self.stride)
                for _ in range(self.wpf):
                    ox = int(rng.integers(0, (data_det.FRAME_W - WIN_W) // data_det.TILE + 1)) * data_det.TILE
                    oy = int(rng.integers(0, (data_det.FRAME_H - WIN_H) // data_det.TILE + 1)) * data_det.TILE
                    s = self.stride
                    xs.append(g[oy:oy + WIN_H, ox:ox + WIN_W])
                    ks.append(k[oy // s:(oy + WIN_H) // s, ox // s:(ox + WIN_W) // s])
                    hs.append(h[oy // s:(oy + WIN_H) // s, ox // s:(ox + WIN_W) // s])
                    igs.append(ig[oy // s:(oy + WIN_H) // s, ox // s:(ox + WIN_W) // s])
                    ws.append(sw[oy // s:(oy + WIN_H) // s, ox // s:(ox + WIN_W) // s])
                    T = data_det.TILE
                    ts.append(t[oy // T:(oy + WIN_H) // T, ox // T:(ox + WIN_W) // T])
            yield tuple(torch.from_numpy(np.stack(a[:self.batch])) for a in (xs, ks, hs, igs, ts, ws))


OUT_STRIDE_HELP = ("stride of the kernel and height maps: 4 (one prediction per stride-4 feature cell) or 2 (the "
                   "1x1 head predicts each cell's 2 x 2 sub-cells, rearranged depth-to-space: finer boxes and gaps "
                   "for small text, for a head 4x as wide). From a stride-4 --init the head's weights are copied to "
                   "every sub-cell, so the network starts as the one it was loaded from. Default: the --init (or "
                   "resumed) checkpoint's, else 4")


def resolve_out_stride(args, ap, start):
    """--out-stride, defaulting to the checkpoint this run starts from; a resumed run keeps its layout."""
    return resolve_layout(args.out_stride, ap, start, "out_stride", 4, "--out-stride", lambda had: f"maps at stride {had}")


def fit_head(state, model, logf=None):
    """A checkpoint's state dict with its map head fitted to `model`'s output stride: a stride-4 head
    (2 outputs) becomes a stride-2 one (8: sub-cells (i, j) of channel c at c * 4 + 2 * i + j, the order
    pixel_shuffle reads) by copying each output to its four sub-cells. Returns the (possibly new) dict."""
    w = state.get("head.weight")
    want = model.head.weight.shape[0]
    if w is None or w.shape[0] == want:
        return state
    if w.shape[0] != 2 or want % 2:
        raise SystemExit(f"the checkpoint's map head has {w.shape[0]} outputs; this network's has {want} "
                         f"(only a stride-4 head can seed a stride-2 one)")
    r = want // 2
    state = dict(state)
    state["head.weight"] = w.repeat_interleave(r, 0)
    state["head.bias"] = state["head.bias"].repeat_interleave(r, 0)
    if logf is not None:
        log(logf, f"map head: stride-4 outputs copied to the {r} sub-cells of each cell (maps at stride {4 // model.up})")
    return state


def match_maps(teacher_maps, size):
    """A teacher's maps at the student's map size (nearest: a stride-4 teacher's cell over its sub-cells)."""
    if teacher_maps.shape[-2:] == size:
        return teacher_maps
    return F.interpolate(teacher_maps, size=size, mode="nearest")


def det_loss(out, k, h, ig, t, sw=None):
    logit, hp = out["maps"][:, 0], out["maps"][:, 1]
    valid = 1 - ig
    cell_w = valid if sw is None else valid * sw          # separation cells weigh more (data_det.separation_weights)
    bce = (F.binary_cross_entropy_with_logits(logit, k, reduction="none") * cell_w).sum() / cell_w.sum()
    p = torch.sigmoid(logit) * valid
    dice = 1 - (2 * (p * k).sum() + 1) / (p.sum() + k.sum() + 1)
    hl = ((hp - h).abs() * k).sum() / (k.sum() + 1)
    tl = F.binary_cross_entropy_with_logits(out["tiles"][:, 0], t)
    return bce + dice + 0.5 * hl, tl


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=STAGES, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--init", type=Path)
    ap.add_argument("--teacher", type=Path)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--overwrite", action="store_true", help="start afresh even if OUT holds an earlier run's checkpoints")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--kd-weight", type=float, default=1.0)
    ap.add_argument("--kd-temp", type=float, default=2.0)
    ap.add_argument("--exit-weight", type=float, default=0.5)
    ap.add_argument("--sep-weight", type=float, default=3.0,
                    help="kernel-loss weight of the background cells between neighbouring words (1 = none)")
    ap.add_argument("--lasso", type=float, default=2e-4)
    ap.add_argument("--prune-frac", type=float, default=0.45)
    ap.add_argument("--act-bases", type=parse_act_bases, metavar="N[,N...]", help=ACT_BASES_HELP)
    ap.add_argument("--shortcut", choices=SHORTCUTS, help=SHORTCUT_HELP)
    ap.add_argument("--out-stride", type=int, choices=models.DET_OUT_STRIDES, help=OUT_STRIDE_HELP)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-n", type=int, default=60)
    ap.add_argument("--val-seed", type=int, default=VAL_SEED,
                    help=f"seed of the held-out-font frames that pick best.pt (default {VAL_SEED}; sessions 1-12 "
                         f"used the reported evaluation set's first frames, seed {EVAL_SEED})")
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=120.0)
    ap.add_argument("--max-text-height", type=float, default=40.0, metavar="PX",
                    help="training text is 4 to PX px tall in the 640 x 360 frames, log-uniform (default 40)")
    ap.add_argument("--mono-share", type=float, default=0.0, metavar="P",
                    help="share of signs whose face is drawn again from the monospace training faces (default 0: faces "
                         "as they come, about 1 in 8 of them monospace; 0.3 makes about 38 %% monospace)")
    ap.add_argument("--tracking-share", type=float, default=0.0, metavar="P",
                    help="share of signs whose letters are spaced 0.1-0.5 em apart (default 0)")
    args = ap.parse_args()
    if not 8 <= args.max_text_height <= 200:
        ap.error(f"--max-text-height {args.max_text_height:g}: expected 8 to 200 px")
    if not (0 <= args.mono_share <= 1 and 0 <= args.tracking_share <= 1):
        ap.error("--mono-share and --tracking-share are shares: 0 to 1")

    check_out_folder(args.out, args.resume, args.overwrite)
    start = starting_point(args)     # read once for all
    args.act_bases = resolve_act_bases(args, ap, start)
    args.shortcut = resolve_shortcut(args, ap, start)
    args.out_stride = resolve_out_stride(args, ap, start)
    torch.set_num_threads(args.threads)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    logf = args.out / "train.log"
    model = models.Detector(binary=args.stage != "teacher", act_bases=args.act_bases, shortcut=args.shortcut,
                            out_stride=args.out_stride)
    lr = args.lr or (2e-3 if args.stage in ("teacher", "student") else 5e-4)
    teacher = None
    if args.teacher and args.stage != "teacher":
        # the teacher's own layout and kind: a binary checkpoint teaches as itself (self-distillation)
        tck = torch.load(args.teacher, map_location="cpu", weights_only=False)
        teacher = models.from_cfg(tck["cfg"])
        teacher.load_state_dict(tck["model"], strict=False)
        teacher.eval().to(dev)
        for p in teacher.parameters():
            p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = Schedule(opt, lr, args.steps)
    last = args.out / "last.pt"
    step, best, elapsed0 = 0, -1.0, 0.0
    if args.resume and last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"]); sched.total = args.steps  # a resumed run may extend the schedule
        step, best, elapsed0 = ck["step"], ck["best"], ck.get("elapsed", 0.0)
        log(logf, f"resumed {last} at step {step}")
    elif args.init:
        ick = torch.load(args.init, map_location="cpu", weights_only=False)
        log(logf, f"init from {args.init}")
        missing, unexpected = model.load_state_dict(fit_head(ick["model"], model, logf), strict=False)
        grow_second_base(model, missing, logf)
        dropped_bases(unexpected, ick["model"], logf)
        changed_shortcuts(missing, unexpected, logf)
        if args.stage == "prune":
            prune_masks(model, args.prune_frac)
            log(logf, f"pruned: {model.binary_channels()} binary channels kept/total")
    model.to(dev)
    eval_set = load_eval_set(args.eval_n, seed=args.val_seed)
    frame_opts = dict(max_text_h=args.max_text_height, mono=args.mono_share, tracking=args.tracking_share)
    loader = torch.utils.data.DataLoader(FrameStream(args.seed * 100003 + step, args.batch, sep_weight=args.sep_weight,
                                                     stride=args.out_stride, frame_opts=frame_opts), batch_size=None,
                                         num_workers=args.workers, persistent_workers=args.workers > 0)
    log(logf, f"stage {args.stage}: lr {lr} steps {args.steps} batch {args.batch} frames {frame_opts} params/bytes "
              f"{models.param_bytes(model)} ops(640x360) {model.op_counts()}")

    def save(path, extra=None):
        ck = dict(model=model.state_dict(), opt=opt.state_dict(), step=step, best=best,
                  cfg=model.cfg, stage=args.stage, args=vars(args), elapsed=elapsed0 + time.time() - t0)
        ck.update(extra or {})
        torch.save(ck, str(path) + ".tmp")
        os.replace(str(path) + ".tmp", path)

    t0 = t_log = time.time()
    seen = 0
    it = iter(loader)
    model.train()
    while step < args.steps:
        x, k, h, ig, t, sw = next(it)
        x = x.unsqueeze(1).float().to(dev)
        out = model(x)
        lm, lt = det_loss(out, k, h, ig, t, sw)
        ew = args.exit_weight * (2.0 if args.stage == "exits" else 1.0)
        loss = lm + ew * lt
        if teacher is not None and args.kd_weight > 0:
            with torch.no_grad():
                to = teacher(x)
            T = args.kd_temp
            tm = match_maps(to["maps"], out["maps"].shape[-2:])
            loss = loss + args.kd_weight * (
                F.binary_cross_entropy_with_logits(out["maps"][:, 0] / T, torch.sigmoid(tm[:, 0] / T))
                + ew * F.binary_cross_entropy_with_logits(out["tiles"] / T, torch.sigmoid(to["tiles"] / T)))
        if args.stage == "sparse" and args.lasso > 0:
            loss = loss + args.lasso * model.group_lasso()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        sched.set(step)
        opt.step()
        step += 1
        seen += x.shape[0]
        if step % 25 == 0:
            log(logf, f"step {step} loss {loss.item():.3f} maps {lm.item():.3f} tiles {lt.item():.3f} "
                      f"{seen / (time.time() - t_log):.2f} windows/s")
            t_log, seen = time.time(), 0
        if step % args.ckpt_every == 0:
            save(last)
        if step % args.eval_every == 0 or step == args.steps:
            r = evaluate(model, eval_set, dev)
            model.train()
            log(logf, f"eval step {step}: P {r['precision']:.3f} R {r['recall']:.3f} F {r['f1']:.3f}; exit "
                      f"{r['early_exit']}")
            if r["f1"] > best:
                best = r["f1"]
                save(args.out / "best.pt", dict(eval=r))
            save(last)
            write_json(args.out / "report.json", dict(stage=args.stage, step=step, best_f1=best, last_eval=r,
                                                      params_bytes=models.param_bytes(model), ops=model.op_counts(),
                                                      binary_channels=model.binary_channels(),
                                                      minutes=(elapsed0 + time.time() - t0) / 60))
        if (elapsed0 + time.time() - t0) / 60 > args.max_minutes:
            save(last)
            log(logf, f"time limit reached at step {step}; rerun with --resume")
            break
    save(last)
    log(logf, f"done at step {step}, best F1 {best:.4f}")


if __name__ == "__main__":
    main()
