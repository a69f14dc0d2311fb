"""Metrics: the LPCV 2020 referee's word score, word precision/recall/F1, character error rate,
detection precision/recall at IoU 0.5, sign grouping and LPCV question answering.

A ground-truth word is a dict {"text", "bbox": [x0, y0, x1, y1] or None, "care": bool}; a reported
word is {"text", "bbox" or None}. Texts are compared after LPCV normalisation (upper case, A-Z0-9).
"Don't care" ground truth (cut by the frame edge, or too small to read) is not counted, and reported
words that match it (same text, or IoU >= 0.5) are removed before precision is counted.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_NON_ALNUM = re.compile(r"[^A-Z0-9]")


def normalize(text: str) -> str:
    """LPCV normalisation: upper case, A-Z and 0-9 only."""
    return _NON_ALNUM.sub("", str(text).upper())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute; each costs 1)."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def referee_distance(gt_word: str, reported: list[str]) -> float:
    """LPCV 2020 referee score of one ground-truth word: the minimum Levenshtein distance to any
    reported word, divided by the ground-truth word's length, capped at 1 (1 when nothing reported)."""
    g = normalize(gt_word)
    if not g:
        raise ValueError("empty ground-truth word")
    best = min((levenshtein(g, normalize(r)) for r in reported if normalize(r)), default=len(g))
    return min(1.0, best / len(g))


def referee_distances(gt_words: list[str], reported: list[str]) -> list[float]:
    """Referee distance for every (non-empty) ground-truth word."""
    return [referee_distance(g, reported) for g in gt_words if normalize(g)]


def referee_accuracy(gt_words: list[str], reported: list[str]) -> float | None:
    """1 - mean referee distance; None when there is no ground-truth word."""
    d = referee_distances(gt_words, reported)
    return None if not d else 1.0 - sum(d) / len(d)


def iou(a, b) -> float:
    ax0, ay0, ax1, ay1 = a
    bx0, by0, bx1, by1 = b
    iw, ih = max(0.0, min(ax1, bx1) - max(ax0, bx0)), max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


def _strip_dont_care(gt: list[dict], reported: list[dict]) -> tuple[list[dict], list[dict]]:
    """Cared-for ground truth, and reported words minus those explained by don't-care ground truth."""
    care = [g for g in gt if g.get("care", True) and normalize(g["text"])]
    dc = [g for g in gt if not g.get("care", True)]
    rep = [r for r in reported if normalize(r["text"])]
    if not dc:
        return care, rep
    dc_text = Counter(normalize(g["text"]) for g in dc)
    kept = []
    for r in rep:
        t = normalize(r["text"])
        if dc_text.get(t, 0) > 0:
            dc_text[t] -= 1
            continue
        if r.get("bbox") is not None and any(g.get("bbox") is not None and iou(r["bbox"], g["bbox"]) >= 0.5 for g in dc):
            continue
        kept.append(r)
    return care, kept


def word_matches(gt: list[str], reported: list[str]) -> int:
    """True positives: size of the multiset intersection of normalised words."""
    return sum((Counter(map(normalize, gt)) & Counter(map(normalize, reported))).values())


def prf(tp: int, n_gt: int, n_rep: int) -> tuple[float | None, float | None, float | None]:
    """(precision, recall, F1); None where undefined (0/0)."""
    p = tp / n_rep if n_rep else None
    r = tp / n_gt if n_gt else None
    if p is None or r is None:
        f = None if (n_gt == 0 and n_rep == 0) else 0.0
    else:
        f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return p, r, f


def cer_counts(gt: list[str], reported: list[str]) -> tuple[int, int]:
    """(character errors, ground-truth characters). Each ground-truth word is paired with a distinct
    reported word, greedily by smallest edit distance (normalised by length) first; a pair costs its
    edit distance, an unpaired ground-truth word costs all its characters. Spurious reported words are
    not character errors here (they lower word precision instead)."""
    g = [normalize(x) for x in gt if normalize(x)]
    r = [normalize(x) for x in reported if normalize(x)]
    pairs = sorted(((levenshtein(a, b) / len(a), levenshtein(a, b), i, j) for i, a in enumerate(g) for j, b in enumerate(r)))
    used_g, used_r, errors = set(), set(), 0
    for _, d, i, j in pairs:
        if i in used_g or j in used_r or d >= len(g[i]):
            continue
        used_g.add(i); used_r.add(j); errors += d
    errors += sum(len(g[i]) for i in range(len(g)) if i not in used_g)
    return errors, sum(map(len, g))


def detection_counts(gt: list[dict], reported: list[dict], thr: float = 0.5) -> tuple[int, int, int]:
    """(true positives, cared ground-truth boxes, reported boxes not explained by don't-care boxes):
    greedy one-to-one matching by IoU >= thr, text ignored."""
    care = [g for g in gt if g.get("care", True) and g.get("bbox") is not None]
    dc = [g for g in gt if not g.get("care", True) and g.get("bbox") is not None]
    rep = [r for r in reported if r.get("bbox") is not None]
    cand = sorted(((iou(g["bbox"], r["bbox"]), i, j) for i, g in enumerate(care) for j, r in enumerate(rep)), reverse=True)
    mg, mr = set(), set()
    for v, i, j in cand:
        if v < thr:
            break
        if i not in mg and j not in mr:
            mg.add(i); mr.add(j)
    spare = [r for j, r in enumerate(rep) if j not in mr]
    n_rep = len(mr) + sum(1 for r in spare if not any(iou(r["bbox"], g["bbox"]) >= thr for g in dc))
    return len(mg), len(care), n_rep


@dataclass
class Tally:
    """Sums over frames (micro averages) of every metric."""
    frames: int = 0
    frames_with_text: int = 0
    referee_sum: float = 0.0
    referee_n: int = 0
    tp: int = 0
    n_gt: int = 0
    n_rep: int = 0
    cer_err: int = 0
    cer_chars: int = 0
    det_tp: int = 0
    det_gt: int = 0
    det_rep: int = 0
    det_frames: int = 0
    neg_frames: int = 0
    neg_false_words: int = 0
    frame_f1: list = field(default_factory=list)

    def add(self, gt: list[dict], reported: list[dict], boxes: bool = True) -> dict:
        """Add one frame; returns that frame's own metrics. boxes=False when the ground truth has no
        boxes (the real frames): detection metrics are then not counted."""
        care, rep = _strip_dont_care(gt, reported)
        gt_text = [g["text"] for g in care]
        rep_text = [r["text"] for r in rep]
        self.frames += 1
        d = referee_distances(gt_text, rep_text)
        self.referee_sum += sum(d); self.referee_n += len(d)
        tp = word_matches(gt_text, rep_text)
        self.tp += tp; self.n_gt += len(gt_text); self.n_rep += len(rep_text)
        e, c = cer_counts(gt_text, rep_text)
        self.cer_err += e; self.cer_chars += c
        p, r, f = prf(tp, len(gt_text), len(rep_text))
        if gt_text:
            self.frames_with_text += 1
        elif not any(not g.get("care", True) for g in gt):
            self.neg_frames += 1
            self.neg_false_words += len(rep_text)
        if f is not None:
            self.frame_f1.append(f)
        out = {"accuracy": (1 - sum(d) / len(d)) if d else None, "precision": p, "recall": r, "f1": f,
               "cer": e / c if c else None, "n_gt": len(gt_text), "n_reported": len(rep_text), "tp": tp}
        if boxes:
            dtp, dg, dr = detection_counts(gt, reported)
            self.det_tp += dtp; self.det_gt += dg; self.det_rep += dr; self.det_frames += 1
            out.update({"det_tp": dtp, "det_gt": dg, "det_reported": dr})
        return out

    def merge(self, other: "Tally") -> "Tally":
        for k, v in vars(other).items():
            setattr(self, k, getattr(self, k) + v)
        return self

    def summary(self) -> dict:
        p, r, f = prf(self.tp, self.n_gt, self.n_rep)
        dp, dr, df = prf(self.det_tp, self.det_gt, self.det_rep) if self.det_frames else (None, None, None)
        return {
            "frames": self.frames, "frames_with_text": self.frames_with_text, "gt_words": self.n_gt,
            "reported_words": self.n_rep,
            "accuracy": (1 - self.referee_sum / self.referee_n) if self.referee_n else None,
            "precision": p, "recall": r, "f1": f,
            "mean_frame_f1": sum(self.frame_f1) / len(self.frame_f1) if self.frame_f1 else None,
            "cer": self.cer_err / self.cer_chars if self.cer_chars else None,
            "det_precision": dp, "det_recall": dr, "det_f1": df,
            "false_words_per_negative_frame": self.neg_false_words / self.neg_frames if self.neg_frames else None,
        }


# ---- sign grouping and LPCV question answering ------------------------------------------------

def group_words(words: list[dict], gap: float = 1.0) -> list[list[dict]]:
    """Group reported words into signs: two words join when their boxes, each grown by `gap` x its
    own height, overlap (union-find). Words without a box form one group per frame."""
    boxed = [w for w in words if w.get("bbox") is not None]
    loose = [w for w in words if w.get("bbox") is None]
    parent = list(range(len(boxed)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def grow(b):
        h = (b[3] - b[1]) * gap
        return (b[0] - h, b[1] - h, b[2] + h, b[3] + h)

    grown = [grow(w["bbox"]) for w in boxed]
    for i in range(len(boxed)):
        for j in range(i + 1, len(boxed)):
            a, b = grown[i], grown[j]
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                parent[find(i)] = find(j)
    groups: dict[int, list] = {}
    for i, w in enumerate(boxed):
        groups.setdefault(find(i), []).append(w)
    out = [sorted(g, key=lambda w: (w["bbox"][1] + w["bbox"][3], w["bbox"][0])) for g in groups.values()]
    if loose:
        out.append(loose)
    return out


def answer_questions(questions: list[str], frames: list[list[dict]], max_dist: float = 0.34) -> dict[str, list[str]]:
    """LPCV answers from per-frame reported words: for each question word, the sign group (over all
    frames) holding the closest word to it (normalised distance <= max_dist; the larger group wins a
    tie); the answer is the group's other words."""
    groups = [g for fr in frames for g in group_words(fr)]
    ans = {}
    for q in questions:
        qn = normalize(q)
        best, key = None, None
        for g in groups:
            for i, w in enumerate(g):
                wn = normalize(w["text"])
                if not wn:
                    continue
                d = levenshtein(qn, wn) / max(1, len(qn))
                k = (d, -len(g))
                if d <= max_dist and (key is None or k < key):
                    best, key = [normalize(x["text"]) for j, x in enumerate(g) if j != i and normalize(x["text"])], k
        ans[q] = best or []
    return ans


def qa_score(truth: dict[str, list[str]], answers: dict[str, list[str]]) -> tuple[float, int]:
    """(sum of referee distances, number of ground-truth answer words) over all questions."""
    s, n = 0.0, 0
    for q, words in truth.items():
        d = referee_distances(words, answers.get(q, []))
        s += sum(d); n += len(d)
    return s, n


def read_questions(text: str) -> list[str]:
    """LPCV questions.txt: words separated by ';' (one line)."""
    return [q.strip() for q in text.replace("\n", ";").split(";") if q.strip()]


def read_answers(text: str) -> dict[str, list[str]]:
    """LPCV answers.txt: 'QUESTION: word word ...;' entries ('-' = no answer)."""
    out = {}
    for part in text.replace("\n", ";").split(";"):
        if ":" not in part:
            continue
        q, _, rest = part.partition(":")
        words = [w for w in rest.split() if w != "-"]
        out[q.strip()] = words
    return out


def write_questions(questions: list[str]) -> str:
    return "".join(f"{q};" for q in questions) + "\n"


def write_answers(answers: dict[str, list[str]]) -> str:
    return "".join(f"{q}: {' '.join(a) if a else '-'};" for q, a in answers.items()) + "\n"
