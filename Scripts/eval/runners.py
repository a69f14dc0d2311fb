"""Runners: the systems under test, each on the same sampled frames, each on one thread.

A runner's `run(items)` takes a list of frames (PNG/JPEG paths) and returns, in order, one dict per
frame {"words": [{"text", "bbox": [x0, y0, x1, y1] or None, "conf"}]} plus the CPU seconds spent
(user + system of the process doing the work; image decoding outside the system is not counted).

- Tesseract 5 (Debian `tesseract-ocr`): the CLI, `--psm 11 -l eng tsv`, OMP_THREAD_LIMIT=1, one process
  per batch of frames (an image list file), so start-up (loading eng.traineddata) is amortised like in
  a long-running service; CPU from the child's rusage.
- PP-OCRv4 mobile (PyPI `rapidocr-onnxruntime`, models inside the wheel): in process, ONNX Runtime
  intra/inter-op threads = 1, OpenCV threads = 1; CPU from time.process_time around each call.
  Text lines are split into words with the character boxes RapidOCR returns.
- BitSpot: `bitspot spot VIDEO --json` (JSON lines); see `BitSpotRunner`.
"""
from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from metrics import normalize


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class TesseractRunner:
    name = "tesseract"
    label = "Tesseract 5 (--psm 11, 1 thread)"

    def __init__(self, min_conf: float = 0.0, batch: int = 50):
        self.min_conf = min_conf
        self.batch = batch

    def available(self) -> tuple[bool, str]:
        if shutil.which("tesseract") is None:
            return False, "tesseract not installed (apt-get install tesseract-ocr)"
        return True, ""

    def version(self) -> str:
        try:
            out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout
            return out.splitlines()[0].strip()
        except (OSError, IndexError):
            return "?"

    def _batch(self, paths: list[str]) -> tuple[list[dict], float]:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("\n".join(paths) + "\n")
            lst = f.name
        env = dict(os.environ, OMP_THREAD_LIMIT="1", OMP_NUM_THREADS="1")
        c0 = _child_cpu()
        out = subprocess.run(["tesseract", lst, "stdout", "--psm", "11", "-l", "eng", "tsv"],
                             capture_output=True, text=True, env=env)
        cpu = _child_cpu() - c0
        os.unlink(lst)
        if out.returncode != 0:
            raise RuntimeError(f"tesseract failed: {out.stderr[-500:]}")
        frames = [{"words": []} for _ in paths]
        for line in out.stdout.splitlines():
            c = line.split("\t")
            if len(c) < 12 or c[0] != "5":
                continue
            page, conf, text = int(c[1]) - 1, float(c[10]), c[11].strip()
            if conf < self.min_conf or not normalize(text) or not 0 <= page < len(paths):
                continue
            x, y, w, h = map(float, c[6:10])
            frames[page]["words"].append({"text": text, "bbox": [x, y, x + w, y + h], "conf": round(conf, 1)})
        return frames, cpu

    def run(self, items: list[str]) -> tuple[list[dict], float]:
        frames, cpu = [], 0.0
        for i in range(0, len(items), self.batch):
            f, c = self._batch([str(p) for p in items[i:i + self.batch]])
            frames += f
            cpu += c
        return frames, cpu


class RapidOCRRunner:
    name = "ppocrv4"
    label = "PP-OCRv4 mobile (RapidOCR, 1 thread)"

    def __init__(self):
        self._engine = None

    def available(self) -> tuple[bool, str]:
        try:
            import rapidocr_onnxruntime  # noqa: F401
        except Exception as e:  # noqa: BLE001
            return False, f"rapidocr-onnxruntime not importable ({e.__class__.__name__}: {e})"
        return True, ""

    def version(self) -> str:
        try:
            from importlib.metadata import version
            return f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')}, onnxruntime {version('onnxruntime')}"
        except Exception:  # noqa: BLE001
            return "?"

    def engine(self):
        if self._engine is None:
            os.environ.setdefault("OMP_NUM_THREADS", "1")
            import cv2
            cv2.setNumThreads(1)
            from rapidocr_onnxruntime import RapidOCR
            self._engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
            import numpy as np
            self._engine(np.full((64, 256, 3), 255, np.uint8))   # warm-up outside the timing
        return self._engine

    GAP = 1.5   # a character-centre step this many times the line's median step is a word break

    @staticmethod
    def split_words(line) -> list[dict]:
        """Words of one RapidOCR result line, boxes from its character boxes when present.

        The PP-OCRv4 recognizer in the wheel (a Chinese+English model) often drops the space between
        English words ("SHUFFLERGANTLETS"); a step between character centres larger than GAP x the
        line's median step is taken as a word break, as well as explicit spaces."""
        box, text, score = line[0], line[1], line[2]
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        lb = [min(xs), min(ys), max(xs), max(ys)]
        words = []
        if len(line) >= 5 and line[3] and len(line[4]) == len(line[3]):
            chars = list(zip(line[4], line[3]))
            cx = [(min(p[0] for p in b) + max(p[0] for p in b)) / 2 for _, b in chars]
            steps = sorted(cx[i + 1] - cx[i] for i in range(len(chars) - 1)
                           if chars[i][0].strip() and chars[i + 1][0].strip())
            med = steps[len(steps) // 2] if steps else 0.0
            cur, cb = "", []

            def flush():
                if cur:
                    bx = [min(p[0] for q in cb for p in q), min(p[1] for q in cb for p in q),
                          max(p[0] for q in cb for p in q), max(p[1] for q in cb for p in q)]
                    words.append({"text": cur, "bbox": [float(v) for v in bx], "conf": round(float(score) * 100, 1)})

            for i, (ch, cbox) in enumerate(chars):
                if ch.strip() == "":
                    flush(); cur, cb = "", []
                    continue
                if cur and med > 0 and cx[i] - cx[i - 1] > RapidOCRRunner.GAP * med:
                    flush(); cur, cb = "", []
                cur += ch
                cb.append(cbox)
            flush()
            if words:
                return words
        # fallback: split the line box in proportion to character counts
        parts = text.split()
        total = sum(len(p) for p in parts) + max(0, len(parts) - 1)
        x = 0
        for p in parts:
            x0 = lb[0] + (lb[2] - lb[0]) * x / max(1, total)
            x += len(p)
            x1 = lb[0] + (lb[2] - lb[0]) * x / max(1, total)
            x += 1
            words.append({"text": p, "bbox": [x0, lb[1], x1, lb[3]], "conf": round(float(score) * 100, 1)})
        return words

    def run(self, items: list[str]) -> tuple[list[dict], float]:
        import cv2
        eng = self.engine()
        frames, cpu = [], 0.0
        for p in items:
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            c0 = time.process_time()
            res, _ = eng(img, return_word_box=True)
            cpu += time.process_time() - c0
            words = []
            for line in res or []:
                words += [w for w in self.split_words(line) if normalize(w["text"])]
            frames.append({"words": words})
        return frames, cpu


def find_bitspot() -> str | None:
    """The bitspot binary: $BITSPOT_BIN, the SwiftPM release/debug build, or PATH."""
    root = Path(__file__).resolve().parents[2]
    for c in (os.environ.get("BITSPOT_BIN"), root / ".build/release/bitspot", root / ".build/debug/bitspot",
              shutil.which("bitspot")):
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return str(c)
    return None


def _box_of(w: dict):
    for k in ("bbox", "box"):
        b = w.get(k)
        if isinstance(b, dict):
            x, y = b.get("x", b.get("x0")), b.get("y", b.get("y0"))
            if "w" in b or "width" in b:
                return [x, y, x + b.get("w", b.get("width")), y + b.get("h", b.get("height"))]
            return [x, y, b.get("x1"), b.get("y1")]
        if isinstance(b, (list, tuple)) and len(b) == 4 and not isinstance(b[0], (list, tuple)):
            return [float(v) for v in b]
        if isinstance(b, (list, tuple)) and len(b) == 4:   # quad
            return [min(p[0] for p in b), min(p[1] for p in b), max(p[0] for p in b), max(p[1] for p in b)]
    q = w.get("quad")
    if q:
        return [min(p[0] for p in q), min(p[1] for p in q), max(p[0] for p in q), max(p[1] for p in q)]
    return None


def parse_bitspot_jsonl(text: str, fps: float) -> dict[int, list[dict]]:
    """Words per frame index from `bitspot spot --json` output. Accepted shapes, one JSON object a
    line: a frame line {"frame": i | "t"/"time"/"pts_time": s, "words": [{"text", "bbox"|"box"|"quad"}]}
    or a word line {"frame"/"t": ..., "text": ..., "bbox": ...}; other lines are ignored."""
    out: dict[int, list[dict]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            o = json.loads(line)
        except json.JSONDecodeError:
            continue
        idx = o.get("frame", o.get("frame_index", o.get("index")))
        if idx is None:
            t = o.get("t", o.get("time", o.get("pts_time", o.get("timestamp"))))
            if t is None:
                continue
            idx = int(round(float(t) * fps))
        idx = int(idx)
        words = o.get("words")
        if words is None and "text" in o:
            words = [o]
        if words is None:
            continue
        lst = out.setdefault(idx, [])
        for w in words:
            t = w.get("text", "")
            if normalize(t):
                lst.append({"text": t, "bbox": _box_of(w), "conf": w.get("confidence", w.get("conf"))})
    return out


def words_at(per: dict[int, list[dict]], i: int, ahead: int = 0) -> list[dict]:
    """The words bitspot reported for frame i; a frame it did not report (its change gate found it
    unchanged since the last processed frame) shows the last reported frame's words, as a display would.
    With `ahead` > 0 a frame reported up to `ahead` frames after i stands for i (`--skip-nonref` and
    `--skip-bidir` keep the first decoded frame at or after each sampling point, which may be a few frames later)."""
    if i in per:
        return per[i]
    for j in range(i + 1, i + ahead + 1):
        if j in per:
            return per[j]
    earlier = [j for j in per if j < i]
    return per[max(earlier)] if earlier else []


def lookahead(spot_args: list[str]) -> int:
    """How many frames after a sampling point bitspot's kept frame may be: with `--skip-nonref` or
    `--skip-bidir` it is the first decoded frame at or after the point, up to a B-frame run later (the
    suite's x264 videos: at most 3); otherwise the point itself."""
    return 3 if {"--skip-nonref", "--skip-bidir"} & set(spot_args) else 0


class BitSpotRunner:
    name = "bitspot"
    label = "BitSpot (bitspot spot)"
    works_on_video = True

    def __init__(self, extra_args: list[str] | None = None):
        self.bin = find_bitspot()
        self.extra = extra_args if extra_args is not None else os.environ.get("BITSPOT_SPOT_ARGS", "").split()

    def available(self) -> tuple[bool, str]:
        if self.bin is None:
            return False, "not available yet: no bitspot binary (swift build -c release)"
        r = subprocess.run([self.bin, "--help"], capture_output=True, text=True)
        if not re.search(r"^\s+spot\s", r.stdout, re.M):
            return False, "not available yet: this bitspot build has no `spot` subcommand"
        root = Path(__file__).resolve().parents[2]
        if "--models" not in self.extra and not all((root / "Models" / m).is_file() for m in ("detector.bitnet", "recognizer.bitnet")):
            return False, "not available yet: no trained models in Models/ (or pass --models in BITSPOT_SPOT_ARGS)"
        return True, ""

    def version(self) -> str:
        try:
            return subprocess.run([self.bin, "--version"], capture_output=True, text=True).stdout.strip() or "?"
        except (OSError, TypeError):
            return "?"

    def run_video(self, video: str, frames: list[int], fps: float, every: int) -> tuple[list[dict], float, int]:
        """Run on a video; returns (results for `frames`, CPU seconds, frames bitspot processed).
        Tries `--every N` (same sampling as the peers) first and falls back to all frames."""
        for args in (["--every", str(every)], []):
            c0 = _child_cpu()
            r = subprocess.run([self.bin, "spot", video, "--json", *args, *self.extra], capture_output=True, text=True)
            cpu = _child_cpu() - c0
            if r.returncode == 0:
                per = parse_bitspot_jsonl(r.stdout, fps)
                n = max(len(per), 1)
                ahead = lookahead(self.extra)
                return [{"words": words_at(per, i, ahead)} for i in frames], cpu, n
        raise RuntimeError(f"bitspot spot failed: {r.stderr[-500:]}")


RUNNERS = {"tesseract": TesseractRunner, "ppocrv4": RapidOCRRunner, "bitspot": BitSpotRunner}
