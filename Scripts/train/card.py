#!/usr/bin/env python3
"""Measures the model-card table: teacher / binary student / pruned student, with parameters, bytes
as deployed, bytes after entropy coding (LZMA of the deployed bytes: the Deep Compression measure),
binary and real MACs per input, and held-out-font accuracy at each exit (for a binary detector also with
`bitspot spot`'s second look at boxes, `eval_det.SecondLook`: the detector as the pipeline runs it).

  .venv-train/bin/python Scripts/train/card.py rec --teacher T.pt --student S.pt [--pruned P.pt] [--n 1000]
  .venv-train/bin/python Scripts/train/card.py det --teacher T.pt --student S.pt [--pruned P.pt] [--n 100]
Prints a Markdown table and writes the numbers as JSON (--json).
"""
from __future__ import annotations

import argparse
import json
import lzma
from pathlib import Path

import numpy as np
import torch

import models
from export import export_net, load_model


def _deployed_bytes(model):
    if model.binary:
        blob = export_net(model, 32, 128) if model.cfg.get("task") != "detector" else export_net(model, 360, 640)
        data = blob.to_bytes({})
        return len(data), len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
    arr = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]).astype("<f4").tobytes()
    return len(arr), len(lzma.compress(arr, preset=9 | lzma.PRESET_EXTREME))


def measure(path, task, n):
    m, ck = load_model(path)
    nparam = sum(p.numel() for p in m.parameters()) if not m.binary else models.param_bytes(m)[0]
    size, coded = _deployed_bytes(m)
    ops = m.op_counts()
    if not m.binary:   # everything is real in the teacher
        ops = dict(binary_macs=0, real_macs=ops["binary_macs"] + ops["real_macs"],
                   exit_binary_macs=0, exit_real_macs=ops["exit_binary_macs"] + ops["exit_real_macs"])
    if task == "rec":
        from eval_rec import evaluate, load_eval_set
        r = evaluate(m, load_eval_set(n))
        acc = dict(final_word_acc=r["final"]["word_acc"], final_lpcv=r["final"]["lpcv_score"],
                   exit_word_acc=r["exit"]["word_acc"], early_exit=r["early_exit"])
    else:
        from eval_det import SecondLook, evaluate, load_eval_set
        eval_set = load_eval_set(n)
        r = evaluate(m, eval_set)
        # the boxes as `bitspot spot` gives them: its second look at long and small boxes (session 25)
        looked = evaluate(m, eval_set, look=SecondLook()) if m.binary else None
        acc = dict(precision=r["precision"], recall=r["recall"], f1=r["f1"], early_exit=r["early_exit"],
                   second_look=None if looked is None else {k: looked[k] for k in ("precision", "recall", "f1")})
    kept, total = m.binary_channels()
    return dict(checkpoint=str(path), stage=ck.get("stage"), step=ck.get("step"), minutes=ck.get("elapsed", 0) / 60,
                params=int(nparam), bytes=size, lzma_bytes=coded, binary_channels=[kept, total], **ops, **acc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task", choices=("rec", "det"))
    ap.add_argument("--teacher", type=Path)
    ap.add_argument("--student", type=Path)
    ap.add_argument("--pruned", type=Path)
    ap.add_argument("--n", type=int)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    n = args.n or (1000 if args.task == "rec" else 100)
    rows = {k: measure(p, args.task, n) for k, p in (("teacher", args.teacher), ("binary student", args.student),
                                                     ("pruned student", args.pruned)) if p}
    if args.task == "rec":
        print("| model | params | bytes | bytes (LZMA) | binary MACs | real MACs | word acc final | word acc exit | LPCV score final | binary channels kept |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for k, r in rows.items():
            print(f"| {k} | {r['params']:,} | {r['bytes']:,} | {r['lzma_bytes']:,} | {r['binary_macs']/1e6:.1f} M (exit {r['exit_binary_macs']/1e6:.1f} M) | "
                  f"{r['real_macs']/1e6:.2f} M | {r['final_word_acc']:.3f} | {r['exit_word_acc']:.3f} | {r['final_lpcv']:.3f} | {r['binary_channels'][0]}/{r['binary_channels'][1]} |")
    else:
        print("| model | params | bytes | bytes (LZMA) | binary MACs | real MACs | precision | recall | F1 | "
              "P / R / F1 with spot's second look | binary channels kept |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for k, r in rows.items():
            sl = r["second_look"]
            looked = "-" if sl is None else f"{sl['precision']:.3f} / {sl['recall']:.3f} / {sl['f1']:.3f}"
            print(f"| {k} | {r['params']:,} | {r['bytes']:,} | {r['lzma_bytes']:,} | {r['binary_macs']/1e6:.0f} M (exit {r['exit_binary_macs']/1e6:.0f} M) | "
                  f"{r['real_macs']/1e6:.1f} M | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {looked} | "
                  f"{r['binary_channels'][0]}/{r['binary_channels'][1]} |")
    for k, r in rows.items():
        print(f"\n{k} early exit: " + json.dumps(r["early_exit"]))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
