#!/usr/bin/env python3
"""Generate the evaluation video suite with per-frame ground truth.

    .venv/bin/python Scripts/eval/gen_videos.py --out eval-out/suite --seed 2020

Default: 24 videos x 25 s = 10 minutes at 30 fps, two thirds 1280x720 and one third 1920x1080, H.264
(libx264, one thread, fixed bitrates 1-8 Mbit/s), written by piping raw frames into the ffmpeg CLI.
Each video is a series of shots (hard cuts); a shot is one pre-rendered world (a procedural scene with
0-4 signs/posters drawn in held-out fonts) seen through a moving camera (pan, zoom, shake, drift), with
per-shot motion blur, defocus, low contrast, gamma, noise and grayscale. Every video has at least one
shot with no text. Per video the folder holds:

    video.mp4       the video
    gt.jsonl        one line per frame: {"frame", "t", "words": [{"text", "norm", "bbox", "quad", "sign",
                    "line", "visible", "height_px", "care"}]}
    meta.json       the spec (seed, shots, degradations, fonts) and the signs' text
    questions.txt   LPCV 2020 style: one question word per sign readable for 2 s, ";"-separated
    answers.txt     LPCV 2020 style: "QUESTION: the sign's other words;"

A word is "care" when at least 90 % of its box is in the frame and it is at least 9 px tall; others
are "don't care" for scoring. The whole output is a pure function of (seed, arguments): re-running
gives the same frames, ground truth and (x264 with one thread) the same bytes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402
from metrics import write_answers, write_questions  # noqa: E402
from synth import degradations as dg  # noqa: E402

CARE_VISIBLE = 0.9
CARE_HEIGHT = 9.0
BITRATES = {720: (1000, 2000, 4000), 1080: (2500, 4000, 8000), 180: (300,)}


def suite_specs(seed: int = 2020, n_videos: int = 24, seconds: float = 25.0, fps: int = 30,
                sizes=((1280, 720), (1280, 720), (1920, 1080))) -> list[dict]:
    """The list of video specs; a pure function of its arguments."""
    specs = []
    for i in range(n_videos):
        rng = np.random.default_rng([seed, i, 0])
        w, h = sizes[i % len(sizes)]
        n_frames = int(round(seconds * fps))
        # shots: 3-5 cuts, lengths >= 3 s; one shot without text
        n_shots = int(rng.integers(3, 6))
        min_len = max(1, min(3 * fps, n_frames // n_shots))
        wts = rng.uniform(1, 2, n_shots)
        lengths = min_len + np.floor(wts / wts.sum() * (n_frames - n_shots * min_len)).astype(int)
        lengths[-1] = n_frames - lengths[:-1].sum()
        bounds = [0] + [int(v) for v in np.cumsum(lengths)]
        empty_shot = int(rng.integers(len(bounds) - 1))
        shots = []
        strength = float(rng.choice([0.3, 0.7, 1.0, 1.5]))
        for s in range(len(bounds) - 1):
            srng = np.random.default_rng([seed, i, s + 1])
            shots.append({
                "start": bounds[s], "end": bounds[s + 1],
                "scene": str(srng.choice(synth.SCENE_KINDS)),
                "signs": 0 if s == empty_shot else int(srng.integers(1, 5)),
                "motion": str(srng.choice(synth.MOTIONS)),
                "world_scale": float(srng.uniform(1.3, 2.2)),
                "text_px": [float(v) for v in sorted(srng.uniform(12, 60, 2) * (h / 720))],
                "exposure": float(srng.uniform(0.2, 1.0)),                # motion blur = velocity x exposure
                "defocus": float(srng.uniform(0, 2.5 * strength)) if srng.random() < 0.5 else 0.0,
                "contrast": float(srng.uniform(max(0.25, 1 - 0.6 * strength), 1.0)) if srng.random() < 0.5 else 1.0,
                "brightness": float(srng.normal(0, 15 * strength)),
                "gamma": float(np.exp(srng.normal(0, 0.2 * strength))),
                "noise": float(srng.uniform(0, 6 * strength)),
            })
        specs.append({
            "name": f"v{i:02d}_{h}p", "index": i, "seed": seed, "width": w, "height": h, "fps": fps,
            "frames": n_frames, "gray": bool(rng.random() < 0.4), "strength": strength,
            "bitrate_kbps": int(rng.choice(BITRATES.get(h, (2000,)))), "shots": shots,
        })
    return specs


def _place_signs(rng, world: Image.Image, shot: dict, frame_h: int, zoom: float, sign_base: int):
    """Render and place the shot's signs without overlap; returns (words in world coords, signs)."""
    words, signs, rects = [], [], []
    Ww, Wh = world.size
    for k in range(shot["signs"]):
        font = synth.pick_font(rng, "eval")
        lines = synth.sign_lines(rng)
        img, ws = synth.render_sign(rng, lines, font, sign_index=sign_base + k)
        size = ws[0].height if ws else 40.0
        # text height in frame pixels within the shot's range -> world height of the sign
        text_px = float(rng.uniform(*shot["text_px"]))
        sign_h = img.size[1] * (text_px / max(1.0, size)) / zoom
        sign_w = img.size[0] * sign_h / img.size[1]
        if sign_w > Ww * 0.8:   # too wide for the world: shrink
            sign_h *= Ww * 0.8 / sign_w
            sign_w = Ww * 0.8
        for _ in range(30):
            cx = float(rng.uniform(sign_w / 2 + 5, Ww - sign_w / 2 - 5))
            cy = float(rng.uniform(min(sign_h / 2 + 5, Wh / 2), max(Wh - sign_h / 2 - 5, Wh / 2)))
            r = (cx - sign_w / 2, cy - sign_h / 2, cx + sign_w / 2, cy + sign_h / 2)
            if all(r[2] < q[0] or q[2] < r[0] or r[3] < q[1] or q[3] < r[1] for q in rects):
                break
        else:
            continue
        rects.append(r)
        quad = synth.sign_quad(rng, img.size, (cx, cy), sign_h)
        placed = synth.place_on(world, img, ws, quad, shadow=float(rng.uniform(0, 0.5)))
        words += placed
        signs.append({"sign": sign_base + k, "font": font, "family": synth.family_of(font),
                      "lines": lines, "center": [round(cx, 1), round(cy, 1)]})
    return words, signs


def _lut(shot: dict) -> np.ndarray:
    x = np.arange(256) / 255.0
    y = 255.0 * x ** shot["gamma"]
    y = (y - 128.0) * shot["contrast"] + 128.0 + shot["brightness"]
    return np.clip(y, 0, 255).astype(np.uint8)


def iter_frames(spec: dict):
    """Yield (frame index, uint8 RGB array, ground-truth words) for every frame of a video, and as the
    last item (None, signs, None)."""
    W, H = spec["width"], spec["height"]
    all_signs, next_sign = [], 0
    for si, shot in enumerate(spec["shots"]):
        rng = np.random.default_rng([spec["seed"], spec["index"], si + 1, 7])
        Ww, Wh = int(W * shot["world_scale"]), int(H * shot["world_scale"])
        world = synth.make_scene(rng, Ww, Wh, kind=shot["scene"])
        zmin = max(W / Ww, H / Wh) * 1.08
        zoom = zmin * float(rng.uniform(1.0, 1.5))
        words, signs = _place_signs(rng, world, shot, H, zoom, next_sign)
        next_sign += shot["signs"]
        all_signs += signs
        n = shot["end"] - shot["start"]
        targets = [s["center"] for s in signs] or None
        path = synth.camera_path(rng, n, world.size, (W, H), shot["motion"], zoom=zoom, targets=targets)
        if shot["defocus"] > 0:
            world = world.filter(ImageFilter.GaussianBlur(shot["defocus"] / float(np.mean(path[:, 0, 0] ** 2 + path[:, 0, 1] ** 2) ** 0.5)))
        if spec["gray"]:
            world = world.convert("L")
        lut = _lut(shot)
        shape = (H, W) if spec["gray"] else (H, W, 3)
        bank = dg.NoiseBank(rng, shape, round(shot["noise"], 1)) if shot["noise"] >= 0.5 else None
        for i in range(n):
            M = path[i]
            a = np.asarray(synth.render_view(world, M, (W, H)))
            if i > 0:
                dx, dy = synth.frame_velocity(path[i - 1], M, (W, H))
                a = dg.motion_blur(a, dx * shot["exposure"], dy * shot["exposure"], exact=False)
            a = lut[a]
            if bank is not None:
                a = dg.noise(rng, a, bank.sigma, bank)
            if a.ndim == 2:
                a = np.repeat(a[..., None], 3, 2)
            gt = []
            for w in synth.project(words, M, (W, H)):
                d = w.to_json()
                d["care"] = bool(w.extra["visible"] >= CARE_VISIBLE and w.extra["height_px"] >= CARE_HEIGHT)
                d["quad"] = [[round(x, 1), round(y, 1)] for x, y in d["quad"]]
                d["bbox"] = [round(v, 1) for v in d["bbox"]]
                gt.append(d)
            yield shot["start"] + i, a, gt
    yield None, all_signs, None


def questions_answers(rng, signs: list[dict], seen: dict[int, int], min_frames: int) -> tuple[list[str], dict[str, list[str]]]:
    """One question per sign readable (some word 'care') in at least `min_frames` frames (2 s, so
    that a 1-fps sampling sees it): a word of the sign that is unique in the video; the answer is the
    sign's other words in reading order (as printed)."""
    counts = {}
    for s in signs:
        for line in s["lines"]:
            for w in line:
                counts[synth.normalize(w)] = counts.get(synth.normalize(w), 0) + 1
    qs, ans = [], {}
    for s in signs:
        if seen.get(s["sign"], 0) < min_frames:
            continue
        flat = [w for line in s["lines"] for w in line]
        if len(flat) < 2:
            continue
        uniq = [j for j, w in enumerate(flat) if counts[synth.normalize(w)] == 1 and synth.normalize(w) not in ans]
        if not uniq:
            continue
        j = uniq[int(rng.integers(len(uniq)))]
        q = flat[j]
        qs.append(q)
        ans[q] = [w for k, w in enumerate(flat) if k != j]
    return qs, ans


def write_qa(spec: dict, d: Path, signs: list[dict], seen: dict[int, int]) -> None:
    qs, ans = questions_answers(np.random.default_rng([spec["seed"], spec["index"], 99]), signs, seen, 2 * spec["fps"])
    (d / "questions.txt").write_text(write_questions(qs))
    (d / "answers.txt").write_text(write_answers(ans))


def rewrite_qa(d: Path) -> None:
    """Re-derive questions.txt/answers.txt of a rendered video from its meta.json and gt.jsonl."""
    meta = json.loads((d / "meta.json").read_text())
    seen: dict[int, int] = {}
    for line in (d / "gt.jsonl").read_text().splitlines():
        for sid in {w["sign"] for w in json.loads(line)["words"] if w["care"]}:
            seen[sid] = seen.get(sid, 0) + 1
    write_qa(meta["spec"], d, meta["signs"], seen)


def encode_cmd(spec: dict, path: Path) -> list[str]:
    kb = spec["bitrate_kbps"]
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{spec['width']}x{spec['height']}", "-r", str(spec["fps"]), "-i", "-",
            "-c:v", "libx264", "-preset", "veryfast", "-threads", "1", "-b:v", f"{kb}k",
            "-maxrate", f"{int(kb * 1.5)}k", "-bufsize", f"{kb * 2}k", "-g", str(spec["fps"] * 2),
            "-pix_fmt", "yuv420p", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
            "-movflags", "+faststart", str(path)]


def render_video(spec: dict, out_dir: Path, encode: bool = True, progress=None) -> dict:
    """Render one video into out_dir/<name>/; returns a summary (frames, seconds, frame hash)."""
    d = out_dir / spec["name"]
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    proc = subprocess.Popen(encode_cmd(spec, d / "video.mp4"), stdin=subprocess.PIPE) if encode else None
    h = hashlib.sha256()
    seen: dict[int, int] = {}
    n_text = 0
    signs = []
    with open(d / "gt.jsonl.tmp", "w") as gtf:
        for idx, a, gt in iter_frames(spec):
            if idx is None:
                signs = a
                break
            b = np.ascontiguousarray(a).tobytes()
            h.update(b)
            if proc:
                proc.stdin.write(b)
            for sid in {w["sign"] for w in gt if w["care"]}:
                seen[sid] = seen.get(sid, 0) + 1
            n_text += any(w["care"] for w in gt)
            gtf.write(json.dumps({"frame": idx, "t": round(idx / spec["fps"], 4), "words": gt}, separators=(",", ":")) + "\n")
            if progress and idx % 75 == 0:
                progress(spec, idx, time.time() - t0)
    if proc:
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed for {spec['name']}")
    os.replace(d / "gt.jsonl.tmp", d / "gt.jsonl")
    write_qa(spec, d, signs, seen)
    summary = {"frames": spec["frames"], "frames_with_text": n_text, "render_s": round(time.time() - t0, 1),
               "frames_sha256": h.hexdigest()}
    (d / "meta.json").write_text(json.dumps({"spec": spec, "signs": signs, "summary": summary}, indent=1))
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="eval-out/suite")
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=25.0, help="length of each video")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--only", nargs="*", help="render only these video names")
    ap.add_argument("--small", action="store_true", help="320x180 frames (tests and quick looks)")
    ap.add_argument("--no-encode", action="store_true", help="ground truth only, no mp4")
    ap.add_argument("--qa-only", action="store_true", help="only re-derive questions/answers of rendered videos")
    args = ap.parse_args(argv)
    if args.qa_only:
        for d in sorted(p.parent for p in Path(args.out).glob("*/meta.json")):
            if not args.only or d.name in args.only:
                rewrite_qa(d)
        return
    sizes = ((320, 180),) if args.small else ((1280, 720), (1280, 720), (1920, 1080))
    specs = suite_specs(args.seed, args.videos, args.seconds, args.fps, sizes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "suite.json").write_text(json.dumps({"seed": args.seed, "videos": [s["name"] for s in specs],
                                                "seconds": args.seconds, "fps": args.fps}, indent=1))
    total = sum(s["frames"] for s in specs if not args.only or s["name"] in args.only)
    done, t0 = 0, time.time()

    def progress(spec, idx, el):
        rate = (done + idx) / max(1e-6, time.time() - t0)
        eta = (total - done - idx) / max(1e-6, rate)
        print(f"\r{spec['name']}: frame {idx}/{spec['frames']}  {rate:5.1f} fps  ETA {eta / 60:5.1f} min", end="", file=sys.stderr, flush=True)

    for s in specs:
        if args.only and s["name"] not in args.only:
            continue
        summ = render_video(s, out, encode=not args.no_encode, progress=progress)
        done += s["frames"]
        print(f"\r{s['name']}: {s['width']}x{s['height']} {s['frames']} frames, {summ['frames_with_text']} with text, "
              f"{'gray' if s['gray'] else 'color'}, {s['bitrate_kbps']} kbit/s, {summ['render_s']} s", file=sys.stderr)
    print(f"done: {done} frames in {time.time() - t0:.0f} s -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
