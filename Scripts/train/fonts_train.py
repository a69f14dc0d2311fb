"""The training fonts: `synth.list_fonts('train')` (held-out fonts already removed) narrowed to faces
that really draw Latin letters and digits.

Dropped: Noto's script-specific families (Arabic, Thai, ... they fall back to boxes or borrow Latin
from elsewhere), decorative faces (initials, keyboard caps), and any face missing a glyph of
A-Z a-z 0-9 (a glyph identical to the face's 'missing glyph' box counts as missing).
"""
from __future__ import annotations

import functools
import re

from PIL import Image, ImageDraw

from common import CHARSET  # noqa: F401
import synth

_NOTO_OK = {"noto sans", "noto serif", "noto mono", "noto sans mono", "noto sans display", "noto serif display"}
_DECORATIVE = re.compile(r"initials|keyboard|music|symbol|emoji", re.I)
_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _draws_latin(path: str) -> bool:
    try:
        f = synth.load_font(path, 24)

        def ink(c):
            im = Image.new("L", (48, 48), 0)
            ImageDraw.Draw(im).text((8, 40), c, font=f, fill=255, anchor="ls")
            return im.tobytes()
        missing = ink("\U0010FFFD")
        for c in _CHARS:
            m = ink(c)
            if m == missing or not any(m):
                return False
        return True
    except OSError:
        return False


@functools.lru_cache(maxsize=None)
def training_fonts() -> tuple[str, ...]:
    out = []
    for p in synth.list_fonts("train"):
        fam = synth.fonts.family_of(p).strip()
        if fam.lower().startswith("noto") and fam.lower() not in _NOTO_OK:
            continue
        if _DECORATIVE.search(fam):
            continue
        if _draws_latin(p):
            synth.check_split(p, "train")
            out.append(p)
    return tuple(out)


def families(paths) -> list[str]:
    return sorted({synth.fonts.family_of(p) for p in paths})


if __name__ == "__main__":
    fs = training_fonts()
    fams = families(fs)
    print(f"{len(fs)} training font files, {len(fams)} families:")
    print(", ".join(fams))
    ev = synth.list_fonts("eval")
    print(f"{len(ev)} held-out evaluation font files, {len(families(ev))} families: {', '.join(families(ev))}")
