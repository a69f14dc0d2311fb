"""Word sources: dictionary words (Debian `wamerican`), room numbers and codes, casing, LPCV normalisation.

LPCV 2020 rules: English letters and digits, case-insensitive, punctuation dropped. Ground truth is
stored normalised (`normalize`): upper-case A-Z and 0-9 only.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

DICT_PATH = "/usr/share/dict/words"
_NON_ALNUM = re.compile(r"[^A-Z0-9]")
_ALPHA = re.compile(r"^[A-Za-z]+$")
# Short fallback so the library still works (tests, CI) without wamerican; generation warns nothing,
# but `load_dictionary(strict=True)` raises instead.
_FALLBACK = ("EXIT STAIR ROOM OFFICE LAB HALL DOOR NORTH SOUTH EAST WEST FLOOR LEVEL ELEVATOR PUSH PULL "
             "RESTRICTED AREA AUTHORIZED PERSONNEL ONLY WARNING DANGER ELECTRICAL CUSTODIAL WOMEN MEN "
             "RESTROOM CONFERENCE LIBRARY STUDENTS ENGINEERING COMPUTER SCIENCE WELCOME PLEASE QUIET").split()


def normalize(text: str) -> str:
    """LPCV normalisation: upper-case, keep A-Z and 0-9 only."""
    return _NON_ALNUM.sub("", text.upper())


@functools.lru_cache(maxsize=4)
def load_dictionary(path: str = DICT_PATH, min_len: int = 2, max_len: int = 14, strict: bool = False) -> tuple[str, ...]:
    """Alphabetic words (no apostrophes, no accents) from a word list, in file order, deduplicated."""
    p = Path(path)
    if not p.exists():
        if strict:
            raise FileNotFoundError(f"{path} missing: apt-get install wamerican")
        return tuple(w.lower() for w in _FALLBACK)
    seen, out = set(), []
    for w in p.read_text(encoding="utf-8", errors="ignore").split():
        if min_len <= len(w) <= max_len and _ALPHA.match(w):
            k = w.lower()
            if k not in seen:
                seen.add(k)
                out.append(k)
    return tuple(out)


_LETTERS = "ABCDEFGHIJKLMNOPRSTUVWXYZ"


def room_code(rng) -> str:
    """A room number or code as seen on door signs: B056, 3074, IDF, 2097, EE170, B121A, 1869."""
    kind = int(rng.integers(7))
    L = lambda: _LETTERS[int(rng.integers(len(_LETTERS)))]
    if kind == 0:
        return f"{L()}{int(rng.integers(0, 1000)):03d}"          # B056
    if kind == 1:
        return f"{int(rng.integers(1, 5))}{int(rng.integers(0, 1000)):03d}"  # 3074
    if kind == 2:
        return "".join(L() for _ in range(int(rng.integers(2, 5))))  # IDF, MSEE
    if kind == 3:
        return f"{L()}{L()}{int(rng.integers(100, 400))}"          # EE170
    if kind == 4:
        return f"{L()}{int(rng.integers(0, 200)):03d}{L()}"        # B121A
    if kind == 5:
        return str(int(rng.integers(1850, 2030)))                   # 1869
    return str(int(rng.integers(1, 100)))                           # 66


def apply_case(rng, word: str, style: str | None = None) -> str:
    """Casing as on real posters: 'upper', 'lower', 'title' (random if style is None)."""
    style = style or ("upper", "title", "lower")[int(rng.choice(3, p=[0.45, 0.4, 0.15]))]
    if style == "upper":
        return word.upper()
    if style == "lower":
        return word.lower()
    return word[:1].upper() + word[1:].lower()


def random_word(rng, p_code: float = 0.2, words: tuple[str, ...] | None = None) -> str:
    """A dictionary word (lower case) or, with probability p_code, a room code (upper case)."""
    if rng.random() < p_code:
        return room_code(rng)
    words = words or load_dictionary()
    return words[int(rng.integers(len(words)))]


def sign_lines(rng, n_lines: int | None = None, max_words_per_line: int = 4, p_code: float = 0.2,
               style: str | None = None) -> list[list[str]]:
    """Text of one sign/poster: 1-6 lines of 1-`max_words_per_line` words, one casing style per sign
    (codes keep their own upper case)."""
    n_lines = n_lines or int(rng.integers(1, 7))
    style = style or ("upper", "title", "lower", "mixed")[int(rng.choice(4, p=[0.4, 0.3, 0.1, 0.2]))]
    lines = []
    for _ in range(n_lines):
        n = int(rng.integers(1, max_words_per_line + 1))
        line = []
        for _ in range(n):
            w = random_word(rng, p_code)
            if not w.isdigit() and w.islower():
                w = apply_case(rng, w, None if style == "mixed" else style)
            line.append(w)
        lines.append(line)
    return lines
