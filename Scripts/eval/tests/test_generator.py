import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import gen_videos as gv  # noqa: E402
import metrics  # noqa: E402

SMALL = ((320, 180),)


def test_specs_are_deterministic_and_cover_the_suite():
    a = gv.suite_specs(7, 24, 25.0, 30)
    b = gv.suite_specs(7, 24, 25.0, 30)
    assert a == b and a != gv.suite_specs(8, 24, 25.0, 30)
    assert len(a) >= 20 and sum(s["frames"] for s in a) / 30 >= 600
    assert {(s["width"], s["height"]) for s in a} == {(1280, 720), (1920, 1080)}
    for s in a:
        assert s["shots"][0]["start"] == 0 and s["shots"][-1]["end"] == s["frames"]
        assert all(x["end"] > x["start"] for x in s["shots"])
        assert any(x["signs"] == 0 for x in s["shots"])          # a stretch with no text
    assert any(s["gray"] for s in a) and not all(s["gray"] for s in a)
    assert {m for s in a for m in (x["motion"] for x in s["shots"])} >= {"pan", "zoom", "shake"}


def _frames(spec):
    out = []
    for idx, a, gt in gv.iter_frames(spec):
        if idx is None:
            return out, a
        out.append((idx, a.copy(), gt))


def test_frames_and_ground_truth_are_deterministic():
    spec = gv.suite_specs(3, 1, 1.0, 10, SMALL)[0]
    f1, s1 = _frames(spec)
    f2, s2 = _frames(spec)
    assert len(f1) == spec["frames"] == 10
    assert s1 == s2
    for (i, a, g), (j, b, h) in zip(f1, f2):
        assert i == j and np.array_equal(a, b) and g == h


def test_ground_truth_boxes_sit_on_text():
    # A clean, static version of a generated shot: every cared word's box must hold ink (contrast),
    # and the box's surroundings outside all word boxes must be flatter than the box.
    spec = gv.suite_specs(11, 1, 1.0, 5, ((640, 360),))[0]
    for sh in spec["shots"]:
        sh.update(signs=2, motion="static", defocus=0.0, contrast=1.0, brightness=0.0, gamma=1.0, noise=0.0, exposure=0.0)
    spec["gray"] = True
    frames, signs = _frames(spec)
    checked = 0
    for idx, a, gt in frames[:3]:
        y = a[..., 0].astype(float)
        mask = np.zeros(y.shape, bool)
        for w in gt:
            x0, y0, x1, y1 = [int(round(v)) for v in w["bbox"]]
            mask[max(0, y0 - 1):y1 + 1, max(0, x0 - 1):x1 + 1] = True
        for w in gt:
            if not w["care"]:
                continue
            x0, y0, x1, y1 = [int(round(v)) for v in w["bbox"]]
            box = y[max(0, y0):y1, max(0, x0):x1]
            assert box.size and box.std() > 12, (w["text"], box.std())
            # a frame right around the box (outside every word box) is flat plate colour
            pad = max(2, int(0.25 * (y1 - y0)))
            ring = np.zeros(y.shape, bool)
            ring[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = True
            ring &= ~mask
            if ring.sum() > 20:
                assert y[ring].std() < box.std(), w["text"]
            checked += 1
    assert checked >= 3


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="apt-get install ffmpeg")
def test_cli_output_is_reproducible(tmp_path):
    cmd = [sys.executable, str(HERE.parent / "gen_videos.py"), "--small", "--videos", "2", "--seconds", "1", "--seed", "5"]
    for d in ("a", "b"):
        subprocess.run(cmd + ["--out", str(tmp_path / d)], check=True, capture_output=True)
    for v in ("v00_180p", "v01_180p"):
        for f in ("gt.jsonl", "questions.txt", "answers.txt", "video.mp4"):
            assert (tmp_path / "a" / v / f).read_bytes() == (tmp_path / "b" / v / f).read_bytes(), (v, f)
        meta = json.loads((tmp_path / "a" / v / "meta.json").read_text())
        assert meta["summary"]["frames"] == 30
        qs = metrics.read_questions((tmp_path / "a" / v / "questions.txt").read_text())
        ans = metrics.read_answers((tmp_path / "a" / v / "answers.txt").read_text())
        assert list(ans) == qs
        lines = (tmp_path / "a" / v / "gt.jsonl").read_text().splitlines()
        assert len(lines) == 30 and json.loads(lines[0])["frame"] == 0
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames,width,height",
                                "-of", "json", str(tmp_path / "a" / v / "video.mp4")], capture_output=True, text=True, check=True)
        st = json.loads(probe.stdout)["streams"][0]
        assert (st["width"], st["height"], int(st["nb_read_frames"])) == (320, 180, 30)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="apt-get install ffmpeg")
def test_qa_only_rederives_the_same_files(tmp_path):
    cmd = [sys.executable, str(HERE.parent / "gen_videos.py"), "--small", "--videos", "1", "--seconds", "4", "--seed", "9",
           "--out", str(tmp_path)]
    subprocess.run(cmd, check=True, capture_output=True)
    v = tmp_path / "v00_180p"
    before = [(v / f).read_bytes() for f in ("questions.txt", "answers.txt")]
    (v / "questions.txt").unlink()
    subprocess.run(cmd + ["--qa-only"], check=True, capture_output=True)
    assert [(v / f).read_bytes() for f in ("questions.txt", "answers.txt")] == before
    # every question's sign is readable for at least 2 s
    qs = metrics.read_questions(before[0].decode())
    meta = json.loads((v / "meta.json").read_text())
    gts = [json.loads(l) for l in (v / "gt.jsonl").read_text().splitlines()]
    for q in qs:
        sign = next(s["sign"] for s in meta["signs"] if q in [w for line in s["lines"] for w in line])
        frames = sum(any(w["sign"] == sign and w["care"] for w in g["words"]) for g in gts)
        assert frames >= 2 * meta["spec"]["fps"]
