"""Fonts with a fixed held-out split.

Evaluation (held-out) fonts are every font file of the Debian packages named in `fonts_eval.txt`
(fonts-urw-base35, fonts-crosextra-carlito, fonts-crosextra-caladea), recognised both by file path
(what `dpkg -L` lists, or the packages' usual folders) and by FreeType family name, so a copy of a
held-out font elsewhere on disk is refused too. Training fonts are every other TrueType/OpenType file
under /usr/share/fonts (or the paths the caller passes), minus symbol/dingbat families.
"""
from __future__ import annotations

import functools
import os
import re
import subprocess
from pathlib import Path
from typing import Iterable, Sequence

from PIL import ImageFont

HERE = Path(__file__).resolve().parent
EVAL_LIST = HERE / "fonts_eval.txt"
FONT_ROOTS = ("/usr/share/fonts",)
FONT_EXTS = (".ttf", ".otf", ".pfb", ".t1")
TRAIN_EXTS = (".ttf", ".otf")
# Families that do not draw Latin letters/digits (never useful for rendering words).
NON_TEXT_FAMILY = re.compile(r"symbol|dingbat|d050000l|emoji|math|opensymbol|awesome|icons?\b|cursor", re.I)
# Where the held-out packages put their files, used when dpkg is not available.
_FALLBACK_DIRS = {
    "fonts-urw-base35": ("/usr/share/fonts/opentype/urw-base35", "/usr/share/fonts/type1/urw-base35"),
    "fonts-crosextra-carlito": ("/usr/share/fonts/truetype/crosextra",),
    "fonts-crosextra-caladea": ("/usr/share/fonts/truetype/crosextra",),
}
_FALLBACK_NAMES = {"fonts-crosextra-carlito": "Carlito", "fonts-crosextra-caladea": "Caladea"}


class HeldOutFontError(ValueError):
    """Raised when a held-out (evaluation) font is asked for training."""


@functools.lru_cache(maxsize=None)
def eval_spec() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(package names, family names) read from fonts_eval.txt."""
    pkgs, fams = [], []
    for line in EVAL_LIST.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, value = line.partition(" ")
        (pkgs if kind == "package" else fams).append(value.strip())
    return tuple(pkgs), tuple(fams)


def _package_files(pkg: str) -> list[str]:
    try:
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=False).stdout
        files = [l for l in out.splitlines() if l.lower().endswith(FONT_EXTS)]
        if files:
            return files
    except OSError:
        pass
    files = []
    for d in _FALLBACK_DIRS.get(pkg, ()):
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                if name.lower().endswith(FONT_EXTS) and (pkg not in _FALLBACK_NAMES or name.startswith(_FALLBACK_NAMES[pkg])):
                    files.append(os.path.join(d, name))
    return files


@functools.lru_cache(maxsize=None)
def held_out_files() -> frozenset[str]:
    """Every installed font file of the held-out packages (resolved real paths)."""
    pkgs, _ = eval_spec()
    return frozenset(os.path.realpath(f) for p in pkgs for f in _package_files(p) if os.path.exists(f))


@functools.lru_cache(maxsize=None)
def family_of(path: str) -> str:
    """FreeType family name of a font file ('' if it cannot be loaded)."""
    try:
        return ImageFont.truetype(path, 12).getname()[0] or ""
    except OSError:
        return ""


def is_held_out(path: str) -> bool:
    """True if `path` is a held-out evaluation font (by file or by family name)."""
    if os.path.realpath(path) in held_out_files():
        return True
    _, fams = eval_spec()
    return family_of(path).strip().lower() in {f.lower() for f in fams}


def _scan(roots: Iterable[str], exts: Sequence[str]) -> list[str]:
    found = []
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for n in names:
                if n.lower().endswith(tuple(exts)):
                    found.append(os.path.join(dirpath, n))
    return sorted(set(found))


@functools.lru_cache(maxsize=None)
def list_fonts(split: str = "train", roots: tuple[str, ...] = FONT_ROOTS) -> tuple[str, ...]:
    """Sorted font paths usable for rendering words in `split` ('train' or 'eval').

    'eval': OpenType/TrueType files of the held-out packages (one copy per face, symbol fonts dropped).
    'train': every other .ttf/.otf under `roots`, held-out and symbol families dropped.
    """
    if split == "eval":
        files = sorted(f for f in held_out_files() if f.lower().endswith(TRAIN_EXTS))
        return tuple(f for f in files if not NON_TEXT_FAMILY.search(family_of(f) + " " + os.path.basename(f)))
    if split == "train":
        out = []
        for f in _scan(roots, TRAIN_EXTS):
            fam = family_of(f)
            if not fam or NON_TEXT_FAMILY.search(fam + " " + os.path.basename(f)) or is_held_out(f):
                continue
            out.append(f)
        return tuple(out)
    raise ValueError(f"unknown split {split!r} (use 'train' or 'eval')")


def check_split(path: str, split: str) -> str:
    """Return `path` if it may be used for `split`; raise HeldOutFontError for a held-out font in training."""
    if split == "train" and is_held_out(path):
        raise HeldOutFontError(f"{path} ({family_of(path)}) is a held-out evaluation font")
    if split == "eval" and not is_held_out(path):
        raise ValueError(f"{path} is not one of the held-out evaluation fonts")
    return path


def pick_font(rng, split: str = "train", fonts: Sequence[str] | None = None) -> str:
    """Pick one font path for `split` with the numpy Generator `rng`.

    `fonts` restricts the choice (e.g. the training engineer's own list); for split='train' any
    held-out font in it raises HeldOutFontError, so the split cannot leak by accident.
    """
    pool = tuple(fonts) if fonts is not None else list_fonts(split)
    if not pool:
        raise FileNotFoundError(f"no fonts for split {split!r}; install the Debian font packages (Scripts/eval/setup.sh)")
    path = pool[int(rng.integers(len(pool)))]
    return check_split(path, split)


@functools.lru_cache(maxsize=256)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """Cached FreeType font at a pixel size."""
    return ImageFont.truetype(path, int(size))


@functools.lru_cache(maxsize=None)
def is_monospace(path: str) -> bool:
    """True if every letter and digit of the face advances by the same width (a monospace face)."""
    f = load_font(path, 32)
    return len({round(f.getlength(c), 3) for c in "iIlW mM01"}) == 1


def monospace(fonts: Sequence[str]) -> tuple[str, ...]:
    """The monospace faces of `fonts`, in their order."""
    return tuple(p for p in fonts if is_monospace(p))
