#!/usr/bin/env python3
"""Recognizer training, one stage per run, each with its own checkpoint folder and report.

Stages (the recipe; each reads the previous stage's best checkpoint with --init):
  teacher   full-precision network (same layout, real convolutions)
  actbin    (optional, session 14) ReActNet's first step: activations binarised, weights still real,
            initialised from the teacher and distilled from it; the student stage then starts from it
  wbin      (diagnostic, session 14) the converse: weights binarised, activations real; never exported
  student   binarised network initialised from the teacher (or actbin), trained with CTC + distillation
            from the teacher's per-frame posteriors at temperature T (--teacher)
  sparse    student + group-lasso penalty on each stream channel's real parameters
  prune     sets the stage masks: drops the --prune-frac channels with the smallest group norms
            (per stage), then fine-tunes briefly (the masks persist in later stages)
  finetune  pruned student, CTC + distillation
  exits     final + exit heads trained jointly (higher exit weight), then exit threshold calibration
  exithead  (session 7) a binary block added on the exit branch and trained with the exit head alone,
            the rest frozen (batch-norm statistics too); best checkpoint by the exit head's word accuracy
The exit head is trained (weight --exit-weight) in every stage, so every checkpoint has both heads.

  .venv-train/bin/python Scripts/train/train_rec.py --stage teacher --out checkpoints/rec/teacher --steps 6000
  ... --stage student --init checkpoints/rec/teacher/best.pt --teacher checkpoints/rec/teacher/best.pt
  add --resume to continue a stage from its last.pt.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from common import ROOT, Schedule, check_out_folder, log, write_json
import data_rec
import fonts_train
import models
from common import encode
from eval_rec import EVAL_SEED, evaluate, load_eval_set
from binary import SHORTCUTS

VAL_SEED = 20211   # validation crops (held-out fonts) for choosing best.pt; not the reported set (EVAL_SEED)

STAGES = ("teacher", "actbin", "wbin", "student", "sparse", "prune", "finetune", "exits", "exithead")


class CropStream(torch.utils.data.IterableDataset):
    def __init__(self, seed, batch, max_width=None):
        self.seed, self.batch = seed, batch
        self.max_width = max_width or data_rec.MAX_WIDTH

    def __iter__(self):
        data_rec.MAX_WIDTH = self.max_width      # a worker started afresh (spawn, forkserver) has the default
        info = torch.utils.data.get_worker_info()
        wid = info.id if info else 0
        rng = np.random.default_rng([self.seed, wid])
        fonts = fonts_train.training_fonts()
        while True:
            imgs, widths, labels = data_rec.make_batch(rng, self.batch, "train", fonts)
            yield torch.from_numpy(imgs), torch.from_numpy(widths), labels


def ctc_loss(logits, widths, labels):
    lp = F.log_softmax(logits, 1).permute(2, 0, 1)     # T N C
    T = lp.shape[0]
    in_len = torch.tensor([min(T, l) for l in models.output_lengths(widths)])
    tg = [encode(l) for l in labels]
    tg_len = torch.tensor([len(t) for t in tg])
    flat = torch.tensor([c for t in tg for c in t], dtype=torch.long)
    return F.ctc_loss(lp, flat, in_len, tg_len, blank=0, zero_infinity=True)


def kd_loss(s_logits, t_logits, widths, T):
    """KL(teacher || student) per frame at temperature T, valid frames only, times T^2."""
    Tn = s_logits.shape[2]
    lens = models.output_lengths(widths)
    mask = torch.zeros(s_logits.shape[0], Tn)
    for i, l in enumerate(lens):
        mask[i, :min(l, Tn)] = 1
    ps = F.log_softmax(s_logits / T, 1)
    pt = F.softmax(t_logits / T, 1)
    kl = (pt * (torch.log(pt + 1e-9) - ps)).sum(1)
    return (kl * mask).sum() / mask.sum() * T * T


def build(stage, args):
    exit_block = args.exit_block if args.exit_block is not None else stage == "exithead"
    return models.Recognizer(binary=(stage != "teacher"), width_mult=args.width_mult, exit_after=args.exit_after,
                             exit_block=exit_block, real_weights=(stage == "actbin"),
                             real_acts=(stage == "wbin"), act_bases=args.act_bases, shortcut=args.shortcut)


def load_weights(model, path):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    missing, unexpected = model.load_state_dict(ck["model"], strict=False)
    return ck, missing, unexpected


ACT_BASES_HELP = ("binary bases per activation: 1, 2 (each binary block binarises its input at two learnable "
                  "shifts, twice the binary ops), or one count per binary block, comma-separated (e.g. 2,2,2,1,1,1: "
                  "the second base only where it pays). From a one-base --init a second base starts at weight 0; a "
                  "list may drop an --init block's second base (its gamma * b2 term goes; fine-tune after). "
                  "Default: the --init (or resumed) checkpoint's, else 1")


def parse_act_bases(text):
    """--act-bases: '1', '2' or a comma-separated count per binary block ('2,2,2,1,1,1')."""
    try:
        bases = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1, 2 or a comma-separated list of 1s and 2s")
    if any(b not in (1, 2) for b in bases):
        raise argparse.ArgumentTypeError(f"{text!r}: each block has 1 or 2 activation bases")
    return bases[0] if len(bases) == 1 else bases


def starting_point(args):
    """(checkpoint this run starts from or None, whether it resumes, that checkpoint's cfg or {}): OUT/last.pt
    with --resume when there is one, else --init."""
    resuming = args.resume and (args.out / "last.pt").exists()
    start = args.out / "last.pt" if resuming else args.init
    if start is None or not Path(start).exists():
        return start, resuming, {}
    return start, resuming, torch.load(start, map_location="cpu", weights_only=False).get("cfg", {})


def resolve_act_bases(args, ap, start=None):
    """--act-bases, defaulting to the checkpoint this run starts from (`start`: `starting_point(args)` when
    already read). A resumed run keeps its layout; a one-count request cannot drop a base the --init
    checkpoint has (a per-block list can, block by block)."""
    start, resuming, cfg = start or starting_point(args)
    had = cfg.get("act_bases", 1)
    if args.act_bases is None:
        return had if args.stage != "teacher" else 1
    want = args.act_bases
    n = len(want) if isinstance(want, list) else len(had) if isinstance(had, list) else 1
    if isinstance(want, list) and isinstance(had, list) and len(want) != len(had):
        ap.error(f"--act-bases {want}: {start} has {len(had)} binary blocks")
    w, h = models.block_bases(want, n), models.block_bases(had, n)
    if resuming and w != h:
        ap.error(f"--act-bases {want}: {start} has {had} activation bases (a resumed run keeps its layout)")
    if not isinstance(want, list) and any(a < b for a, b in zip(w, h)):
        ap.error(f"--act-bases {want}: {start} has {had} activation bases (a base cannot be dropped from every "
                 "block at once; a per-block list such as 2,2,2,1,1,1 drops it where asked)")
    return want


def resolve_exit_after(args, ap, start=None):
    """--exit-after, defaulting to the checkpoint this run starts from (`start` as for resolve_act_bases); a
    resumed run keeps its exit."""
    start, resuming, cfg = start or starting_point(args)
    had = cfg.get("exit_after")
    if args.exit_after is None:
        return had if had is not None else models.REC_EXIT_AFTER
    n = len(models.REC_BLOCKS)
    if not 0 <= args.exit_after < n - 1:
        ap.error(f"--exit-after {args.exit_after}: give a binary block from 0 to {n - 2} (the last one feeds the final head)")
    if resuming and had is not None and args.exit_after != had:
        ap.error(f"--exit-after {args.exit_after}: {start} has its exit after block {had} (a resumed run keeps its layout)")
    return args.exit_after


SHORTCUT_HELP = ("the shortcut of the blocks that widen the network: proj (a real 1x1 convolution, the layout "
                 "before session 23) or dup (the input's channels repeated: no parameters, no float MACs). Default: "
                 "the --init or resumed checkpoint's, else proj; from a proj --init, dup drops the projections")


def resolve_layout(want, ap, start, key, default, flag, has):
    """A layout option (`want`, None when not given) defaulting to cfg[`key`] of the checkpoint this run starts
    from (`start` = starting_point(args)), else `default`; a resumed run keeps its layout (`ap.error` otherwise,
    saying `flag want: START has has(had)`)."""
    start, resuming, cfg = start
    had = cfg.get(key, default) if cfg else None
    if want is None:
        return had or default
    if resuming and had is not None and want != had:
        ap.error(f"{flag} {want}: {start} has {has(had)} (a resumed run keeps its layout)")
    return want


def resolve_shortcut(args, ap, start=None):
    """--shortcut, defaulting to the checkpoint this run starts from (`start` as for resolve_act_bases); a
    resumed run keeps its layout."""
    return resolve_layout(args.shortcut, ap, start or starting_point(args), "shortcut", "proj", "--shortcut",
                          lambda had: f"{had} shortcuts")


def changed_shortcuts(missing, unexpected, logf):
    """After loading with `strict=False`: the blocks whose widening shortcut this network carries differently
    from the --init checkpoint (projections dropped, or new ones initialised at random), logged."""
    gone = sorted({k.rsplit(".proj.", 1)[0] for k in unexpected if ".proj." in k})
    new = sorted({k.rsplit(".proj.", 1)[0] for k in missing if ".proj." in k})
    if gone:
        log(logf, "shortcut projections dropped in " + ", ".join(gone) + ": those blocks now add their input's channels "
                  "repeated; the network changes and this run fine-tunes it")
    if new:
        log(logf, "shortcut projections new (random) in " + ", ".join(new))
    return gone, new


def second_base_from_first(model, only=None):
    """A one-base checkpoint loaded into a two-base network: each block's second threshold sits 0.5 above its
    first (activations here have a spread of about 0.6-0.9), with weight gamma = 0, so the network starts as
    the one-base network it was loaded from. `only`: the module names of the blocks to grow (every two-base
    block when None); the others keep the second base they were loaded with."""
    with torch.no_grad():
        for name, b in model.named_modules():
            if getattr(b, "act_bases", 1) == 2 and hasattr(b, "shift2") and (only is None or name in only):
                b.shift2.copy_(b.shift - 0.5)
                b.gamma.zero_()


def dropped_bases(unexpected, state, logf):
    """After loading with `strict=False`: the blocks whose second base the --init checkpoint had and this
    network has not (`unexpected` names their .shift2/.gamma), logged with the weight the term had."""
    gone = sorted(k[:-len(".gamma")] for k in unexpected if k.endswith(".gamma"))
    if gone:
        log(logf, "second activation base dropped in " + ", ".join(
            f"{k} (gamma {float(state[k + '.gamma']):.3f})" for k in gone) + ": the network changes; this run fine-tunes it")
    return gone


def grow_second_base(model, missing, logf):
    """After loading a checkpoint with `strict=False`: a one-base checkpoint in a two-base network (its
    `missing` keys name the second shifts) gets its second base from the first (`second_base_from_first`)."""
    grown = sorted(k[:-len(".shift2")] for k in missing if k.endswith(".shift2"))
    if grown:
        second_base_from_first(model, set(grown))
        log(logf, "second activation base in " + ", ".join(grown) + ": shifts 0.5 below the first's (threshold 0.5 above), "
                  "weight gamma 0")
    return grown


def prune_masks(model, frac):
    """Per stage, zero the `frac` channels with the smallest group norms (at least 8 kept)."""
    with torch.no_grad():
        for norms, m in zip(model.group_norms(), model.masks()):
            n = m.numel()
            k = min(int(round(frac * n)), n - 8)
            order = torch.argsort(norms * m + (1 - m) * -1.0)
            m.fill_(1.0)
            m[order[:k]] = 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=STAGES, required=True)
    ap.add_argument("--out", type=Path, required=True, help="checkpoint/report folder of this stage")
    ap.add_argument("--init", type=Path, help="checkpoint to start from (previous stage's best.pt)")
    ap.add_argument("--teacher", type=Path, help="teacher checkpoint for distillation")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    ap.add_argument("--overwrite", action="store_true", help="start afresh even if OUT holds an earlier run's checkpoints")
    ap.add_argument("--teacher-reload", action="store_true",
                    help="reload --teacher whenever its file changes (distil from a teacher still training)")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--kd-weight", type=float, default=1.0)
    ap.add_argument("--kd-temp", type=float, default=2.0)
    ap.add_argument("--exit-weight", type=float, default=0.5)
    ap.add_argument("--lasso", type=float, default=2e-4, help="group-lasso weight (stage sparse)")
    ap.add_argument("--prune-frac", type=float, default=0.45)
    ap.add_argument("--width-mult", type=float, default=1.0)
    ap.add_argument("--max-width", type=int, default=data_rec.MAX_WIDTH,
                    help="widest crop in pixels at 32 high, wider ones squeezed (default %(default)s; bitspot spot --recognizer-width)")
    ap.add_argument("--act-bases", type=parse_act_bases, metavar="N[,N...]", help=ACT_BASES_HELP)
    ap.add_argument("--shortcut", choices=SHORTCUTS, help=SHORTCUT_HELP)
    ap.add_argument("--exit-block", action=argparse.BooleanOptionalAction, default=None,
                    help="a binary block on the exit branch (default: with --stage exithead only; --no-exit-block "
                         "trains the exit head alone there)")
    ap.add_argument("--exit-after", type=int, metavar="K",
                    help="the exit head reads binary block K's output (0-based; default: the --init or resumed "
                         f"checkpoint's, else {models.REC_EXIT_AFTER}); a later exit is more accurate and saves less")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-n", type=int, default=600)
    ap.add_argument("--val-seed", type=int, default=VAL_SEED,
                    help=f"seed of the held-out-font crops that pick best.pt (default {VAL_SEED}; sessions 1-11 "
                         f"used the reported evaluation set's first crops, seed {EVAL_SEED})")
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=120.0, help="stop (and checkpoint) after this wall time")
    args = ap.parse_args()

    check_out_folder(args.out, args.resume, args.overwrite)
    if not 16 <= args.max_width <= 1024:
        ap.error(f"--max-width {args.max_width}: give 16 to 1024 pixels")
    data_rec.MAX_WIDTH = args.max_width     # crops made here and by the loader's (forked) workers
    start = starting_point(args)     # read once for both
    args.act_bases = resolve_act_bases(args, ap, start)
    args.exit_after = resolve_exit_after(args, ap, start)
    args.shortcut = resolve_shortcut(args, ap, start)
    torch.set_num_threads(args.threads)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    logf = args.out / "train.log"
    model = build(args.stage, args)
    lr = args.lr or (2e-3 if args.stage in ("teacher", "actbin", "wbin", "student") else 5e-4)

    teacher, teacher_mtime = None, None
    if args.teacher and args.stage != "teacher":
        teacher_mtime = os.path.getmtime(args.teacher)
        # the teacher's own layout (a widened student may learn from a narrower teacher)
        tck = torch.load(args.teacher, map_location="cpu", weights_only=False)
        teacher = models.from_cfg(tck["cfg"])       # its own kind: a binary checkpoint teaches as itself (self-distillation)
        teacher.load_state_dict(tck["model"], strict=False)
        teacher.eval().to(dev)
        for p in teacher.parameters():
            p.requires_grad_(False)

    last = args.out / "last.pt"
    step, best, elapsed0 = 0, -1.0, 0.0
    head_only = args.stage == "exithead"
    if head_only:   # only the exit branch learns
        for n, p in model.named_parameters():
            p.requires_grad_(n.startswith(("exit_block.", "exit_head.")))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=args.wd)
    sched = Schedule(opt, lr, args.steps)
    if args.resume and last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.total = args.steps  # a resumed run may extend the schedule
        step, best, elapsed0 = ck["step"], ck["best"], ck.get("elapsed", 0.0)
        log(logf, f"resumed {last} at step {step} (best {best:.4f})")
    elif args.init:
        ick, missing, unexpected = load_weights(model, args.init)
        log(logf, f"init from {args.init} (missing {list(missing)[:6]}, unexpected {list(unexpected)[:6]})")
        grow_second_base(model, missing, logf)
        dropped_bases(unexpected, ick["model"], logf)
        changed_shortcuts(missing, unexpected, logf)
        if any(k.startswith("late_exit_head.") for k in unexpected):
            log(logf, f"second exit (exit2, after block {ick['cfg'].get('late_exit_after')}) not trained here and dropped; "
                      "add it back with add_exit.py")
        if args.stage == "prune":
            prune_masks(model, args.prune_frac)
            kept, total = model.binary_channels()
            log(logf, f"pruned: {kept}/{total} binary output channels kept; masks {[int(m.sum()) for m in model.masks()]}")
    model.to(dev)

    eval_set = load_eval_set(args.eval_n, seed=args.val_seed)
    stream = CropStream(args.seed * 100003 + step, args.batch, args.max_width)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=args.workers,
                                         persistent_workers=args.workers > 0, prefetch_factor=4 if args.workers else None)
    log(logf, f"stage {args.stage}: lr {lr} steps {args.steps} batch {args.batch} device {dev} "
              f"params/bytes {models.param_bytes(model)} ops {model.op_counts()}")

    def save(path, extra=None):
        ck = dict(model=model.state_dict(), opt=opt.state_dict(), step=step, best=best,
                  cfg=model.cfg, stage=args.stage, args=vars(args), elapsed=elapsed0 + time.time() - t_start)
        if extra:
            ck.update(extra)
        tmp = Path(str(path) + ".tmp")
        torch.save(ck, tmp)
        os.replace(tmp, path)

    t_start = time.time()
    t_log, seen = time.time(), 0
    def train_mode():
        if head_only:
            # The frozen backbone keeps its batch-norm statistics; the new block's batch-norm stays an
            # affine map (its initial statistics): batch statistics of padded 1-row batches misled it
            # (exit accuracy 0.64 in training mode, 0.09 with the running statistics, first try).
            model.eval()
            model.dropout.train()
        else:
            model.train()

    train_mode()
    it = iter(loader)
    while step < args.steps:
        imgs, widths, labels = next(it)
        x = imgs.unsqueeze(1).float().to(dev)
        out = model(x, exit_only=head_only)
        loss_e = ctc_loss(out["exit"], widths.tolist(), labels)
        if head_only:
            loss_f, ew = torch.zeros(()), 1.0
        else:
            loss_f = ctc_loss(out["final"], widths.tolist(), labels)
            ew = args.exit_weight * (2.0 if args.stage == "exits" else 1.0)
        loss = loss_f + ew * loss_e
        if teacher is not None and args.teacher_reload and step % 50 == 0:
            mt = os.path.getmtime(args.teacher)
            if mt != teacher_mtime:
                try:
                    load_weights(teacher, args.teacher)
                    teacher_mtime = mt
                    log(logf, f"reloaded teacher {args.teacher}")
                except Exception as e:  # a file being replaced: try again later
                    log(logf, f"teacher reload failed: {e}")
        if teacher is not None and args.kd_weight > 0:
            with torch.no_grad():
                t_out = teacher(x)
            kd = 0.0 if head_only else kd_loss(out["final"], t_out["final"], widths.tolist(), args.kd_temp)
            kd_e = kd_loss(out["exit"], t_out["final"], widths.tolist(), args.kd_temp)
            loss = loss + args.kd_weight * (kd + ew * kd_e)
        if args.stage == "sparse" and args.lasso > 0:
            loss = loss + args.lasso * model.group_lasso()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 5.0)
        sched.set(step)
        opt.step()
        step += 1
        seen += len(labels)
        if step % 25 == 0:
            dt = time.time() - t_log
            log(logf, f"step {step} loss {loss.item():.3f} ctc {loss_f.item():.3f} exit {loss_e.item():.3f} "
                      f"lr {opt.param_groups[0]['lr']:.2e} {seen / dt:.1f} crops/s")
            t_log, seen = time.time(), 0
        if step % args.ckpt_every == 0 or step == args.steps:
            save(last)
        if step % args.eval_every == 0 or step == args.steps:
            model.eval()
            r = evaluate(model, eval_set, dev)
            train_mode()
            log(logf, f"eval step {step}: final word acc {r['final']['word_acc']:.4f} score {r['final']['lpcv_score']:.4f} "
                      f"cer {r['final']['cer']:.4f} | exit word acc {r['exit']['word_acc']:.4f}")
            if args.stage == "sparse":
                norms = [n.detach() for n in model.group_norms()]
                log(logf, "group norms (quantiles 10/50/90 per stage): " + "; ".join(
                    f"{np.quantile(n.numpy(), .1):.3f}/{np.quantile(n.numpy(), .5):.3f}/{np.quantile(n.numpy(), .9):.3f}" for n in norms))
            acc = r["exit" if head_only else "final"]["word_acc"]
            if acc > best:
                best = acc
                save(args.out / "best.pt", dict(eval=r))
            save(last)
            write_json(args.out / "report.json", dict(stage=args.stage, step=step, best_word_acc=best, last_eval=r,
                                                      params_bytes=models.param_bytes(model), ops=model.op_counts(),
                                                      binary_channels=model.binary_channels(),
                                                      minutes=(elapsed0 + time.time() - t_start) / 60))
        if (elapsed0 + time.time() - t_start) / 60 > args.max_minutes:
            log(logf, f"time limit {args.max_minutes} min reached at step {step}; checkpointed, rerun with --resume")
            save(last)
            break
    log(logf, f"done at step {step}, best word acc ({'exit' if head_only else 'final'} head) {best:.4f}")


if __name__ == "__main__":
    main()
