"""Shared helpers for the training scripts: paths, the synth import, charset, checkpoints, logging."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]          # repo root
SCRIPTS = ROOT / "Scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))
REAL_DEV = ROOT.parent / "shared" / "data" / "real-dev"

# CTC charset: index 0 is the blank, then 0-9 and A-Z (LPCV 2020: case-insensitive, no punctuation).
CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BLANK = 0
NUM_CLASSES = len(CHARSET) + 1


def encode(text: str) -> list[int]:
    return [CHARSET.index(c) + 1 for c in text if c in CHARSET]


def greedy_decode(ids) -> str:
    """Collapse repeats, drop blanks."""
    out, prev = [], BLANK
    for i in ids:
        i = int(i)
        if i != prev and i != BLANK:
            out.append(CHARSET[i - 1])
        prev = i
    return "".join(out)


def check_out_folder(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to start a stage afresh over the checkpoints of an earlier run in `out` (they would be
    replaced): --resume continues that run, --overwrite starts over on purpose."""
    if resume or overwrite:
        return
    found = [p.name for p in (out / "last.pt", out / "best.pt") if p.exists()]
    if found:
        sys.exit(f"{out} already holds {' and '.join(found)} of an earlier run: --resume continues it, "
                 f"--overwrite starts over and replaces them")


def log(path: Path | None, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    if path is not None:
        with open(path, "a") as f:
            f.write(line + "\n")


def write_json(path: Path, obj) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True))
    os.replace(tmp, path)


class Schedule:
    """Stateless learning rate: linear warm-up over 5 % of the steps from lr/10, then cosine decay to
    lr/100 at `total`. Set per step, so a resumed run (also one with a new --steps) continues smoothly."""

    def __init__(self, opt, lr, total):
        self.opt, self.lr, self.total = opt, lr, total

    def value(self, step):
        import math
        warm = max(1, int(0.05 * self.total))
        if step < warm:
            return self.lr * (0.1 + 0.9 * step / warm)
        t = min(1.0, (step - warm) / max(1, self.total - warm))
        return self.lr / 100 + (self.lr - self.lr / 100) * 0.5 * (1 + math.cos(math.pi * t))

    def set(self, step):
        for g in self.opt.param_groups:
            g["lr"] = self.value(step)
