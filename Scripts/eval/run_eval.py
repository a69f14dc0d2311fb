#!/usr/bin/env python3
"""Run every system on the same sampled frames and score them (see Scripts/eval/README.md).

    Scripts/eval/run                                  # suite in eval-out/suite + the 16 real frames
    Scripts/eval/run --systems tesseract --videos 4   # a quick look

Sampling: from each suite video, frames whose index is a multiple of round(fps / sample_fps)
(default 1 per second: 0, 30, 60, ...; 25 per 25-s video, 600 for the suite); the same PNG files
(decoded once with ffmpeg) go to every peer, and BitSpot is asked for the same stride (--every N).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import energy  # noqa: E402
import metrics  # noqa: E402
import report  # noqa: E402
from runners import RUNNERS  # noqa: E402


def default_real_dev() -> Path:
    for c in (ROOT.parent / "shared/data/real-dev", Path("/work/shared/data/real-dev")):
        if (c / "labels.json").exists():
            return c
    return ROOT.parent / "shared/data/real-dev"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- data sets ---------------------------------------------------------------------------------

def suite_items(suite: Path, frames_dir: Path, sample_fps: float, only: list[str] | None, limit: int | None):
    """[(name, video path, fps, stride, [frame indices], [png paths], [gt per frame], questions, answers)]"""
    names = json.loads((suite / "suite.json").read_text())["videos"]
    if only:
        names = [n for n in names if n in only]
    if limit:
        names = names[:limit]
    items = []
    for n in names:
        vd = suite / n
        if not (vd / "video.mp4").exists() or not (vd / "gt.jsonl").exists():
            log(f"skip {n}: not generated")
            continue
        meta = json.loads((vd / "meta.json").read_text())
        fps = meta["spec"]["fps"]
        stride = max(1, int(round(fps / sample_fps)))
        gts = [json.loads(l) for l in (vd / "gt.jsonl").read_text().splitlines()]
        idx = list(range(0, len(gts), stride))
        out = frames_dir / n / f"every{stride}"
        pngs = [out / f"{k + 1:05d}.png" for k in range(len(idx))]
        if not all(p.exists() for p in pngs):
            out.mkdir(parents=True, exist_ok=True)
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-threads", "1", "-i", str(vd / "video.mp4"),
                            "-vf", f"select=not(mod(n\\,{stride}))", "-fps_mode", "passthrough", str(out / "%05d.png")], check=True)
        got = sorted(out.glob("*.png"))
        if len(got) < len(idx):
            raise RuntimeError(f"{n}: decoded {len(got)} sampled frames, expected {len(idx)}")
        gt = [[{"text": w["norm"], "bbox": w["bbox"], "care": w["care"]} for w in gts[i]["words"]] for i in idx]
        qs = metrics.read_questions((vd / "questions.txt").read_text())
        ans = metrics.read_answers((vd / "answers.txt").read_text())
        items.append({"name": n, "video": str(vd / "video.mp4"), "fps": fps, "stride": stride, "frames": idx,
                      "pngs": [str(p) for p in pngs], "gt": gt, "qa": [(qs, ans, list(range(len(idx))))],
                      "size": [meta["spec"]["width"], meta["spec"]["height"]]})
    return items


def real_dev_items(real: Path, frames_dir: Path):
    """The 16 real frames as one item; QA per frame: for each sign of 2+ words, its longest word is
    the question and the other words the answer."""
    labels = json.loads((real / "labels.json").read_text())["frames"]
    names = sorted(labels)
    gt, qa = [], []
    for k, n in enumerate(names):
        signs = labels[n]["signs"]
        gt.append([{"text": w, "bbox": None, "care": True} for s in signs for w in s])
        qs, ans = [], {}
        for s in signs:
            if len(s) >= 2:
                q = max(s, key=len)
                if q not in ans:
                    qs.append(q)
                    ans[q] = [w for j, w in enumerate(s) if j != s.index(q)]
        if qs:
            qa.append((qs, ans, [k]))
    return [{"name": "real-dev", "video": None, "fps": 1, "stride": 1, "frames": list(range(len(names))),
             "pngs": [str(real / "frames" / n) for n in names], "gt": gt, "qa": qa, "size": [1280, 720],
             "frame_names": names}]


def real_dev_video(item: dict, frames_dir: Path) -> str:
    """The real frames as a 1-fps H.264 video (for BitSpot, which reads video)."""
    out = frames_dir / "real-dev.mp4"
    if not out.exists():
        tmp = frames_dir / "real-dev-seq"
        tmp.mkdir(parents=True, exist_ok=True)
        for k, p in enumerate(item["pngs"]):
            dst = tmp / f"{k + 1:05d}.jpg"
            if not dst.exists():
                shutil.copy(p, dst)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-framerate", "1", "-i", str(tmp / "%05d.jpg"),
                        "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", "-threads", "1", str(out)], check=True)
    return str(out)


# ---- running and scoring -----------------------------------------------------------------------

def run_system(runner, item: dict, pred_path: Path, reuse: bool, frames_dir: Path) -> dict:
    if reuse and pred_path.exists():
        return json.loads(pred_path.read_text())
    t0 = time.time()
    if getattr(runner, "works_on_video", False):
        video = item["video"] or real_dev_video(item, frames_dir)
        res, cpu, processed = runner.run_video(video, item["frames"], item["fps"], item["stride"])
    else:
        res, cpu = runner.run(item["pngs"])
        processed = len(item["pngs"])
    pred = {"system": runner.name, "item": item["name"], "cpu_s": cpu, "frames_processed": processed,
            "wall_s": round(time.time() - t0, 2), "frames": [{"frame": i, **r} for i, r in zip(item["frames"], res)]}
    pred_path.parent.mkdir(parents=True, exist_ok=True)
    pred_path.write_text(json.dumps(pred))
    return pred


def score(item: dict, pred: dict, per_frame: list | None = None) -> tuple[metrics.Tally, float, int]:
    t = metrics.Tally()
    boxes = item["video"] is not None
    for gt, fr in zip(item["gt"], pred["frames"]):
        m = t.add(gt, fr["words"], boxes=boxes)
        if per_frame is not None:
            per_frame.append({"item": item["name"], "frame": fr["frame"], **m})
    qs_sum, qs_n = 0.0, 0
    for qs, truth, frame_ks in item["qa"]:
        answers = metrics.answer_questions(qs, [pred["frames"][k]["words"] for k in frame_ks])
        s, n = metrics.qa_score(truth, answers)
        qs_sum += s; qs_n += n
    return t, qs_sum, qs_n


def evaluate(items, runners, out: Path, profile: str, reuse: bool, frames_dir: Path, set_name: str) -> dict:
    rows = {}
    for r in runners:
        ok, why = r.available()
        if not ok:
            rows[r.name] = {"system": r.name, "label": r.label, "available": False, "note": why}
            log(f"[{set_name}] {r.label}: {why}")
            continue
        total = metrics.Tally()
        qsum, qn, cpu, processed, per_video, per_frame = 0.0, 0, 0.0, 0, {}, []
        for item in items:
            pred = run_system(r, item, out / "pred" / set_name / r.name / f"{item['name']}.json", reuse, frames_dir)
            t, s, n = score(item, pred, per_frame)
            total.merge(t)
            qsum += s; qn += n; cpu += pred["cpu_s"]; processed += pred["frames_processed"]
            sv = t.summary()
            sv.update(cpu_ms_per_frame=1000 * pred["cpu_s"] / max(1, pred["frames_processed"]),
                      qa_accuracy=(1 - s / n) if n else None)
            per_video[item["name"]] = sv
            log(f"[{set_name}] {r.name} {item['name']}: acc {fmt(sv['accuracy'])} F1 {fmt(sv['f1'])} "
                f"{sv['cpu_ms_per_frame']:.0f} ms/frame")
        s = total.summary()
        ms = 1000 * cpu / max(1, processed)
        e_frame = energy.energy_j(ms / 1000, profile)
        e_total = energy.energy_j(cpu, profile)
        s.update(system=r.name, label=r.label, version=r.version(), available=True, cpu_s=round(cpu, 3),
                 frames_processed=processed, cpu_ms_per_frame=ms, mj_per_frame=1000 * e_frame,
                 energy_wh_total=e_total / 3600, lpcv_score=energy.lpcv_score(s["accuracy"], e_total),
                 qa_accuracy=(1 - qsum / qn) if qn else None, qa_words=qn, per_item=per_video)
        rows[r.name] = s
        with open(out / f"frames-{set_name}-{r.name}.jsonl", "w") as f:
            f.writelines(json.dumps(x) + "\n" for x in per_frame)
    return rows


def fmt(v, d=3):
    return "n/a" if v is None else f"{v:.{d}f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default=str(ROOT / "eval-out/suite"))
    ap.add_argument("--real-dev", default=str(default_real_dev()))
    ap.add_argument("--out", default=str(ROOT / "eval-out/results"))
    ap.add_argument("--systems", default="tesseract,ppocrv4,bitspot")
    ap.add_argument("--sample-fps", type=float, default=1.0)
    ap.add_argument("--videos", type=int, help="only the first N suite videos")
    ap.add_argument("--only", nargs="*", help="only these suite videos")
    ap.add_argument("--no-suite", action="store_true")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="reuse saved predictions (re-score only)")
    ap.add_argument("--profile", default=energy.host_profile(), choices=sorted(energy.PROFILES))
    args = ap.parse_args(argv)

    out = Path(args.out)
    frames_dir = out / "frames"
    runners = [RUNNERS[s]() for s in args.systems.split(",") if s]
    t0 = time.time()
    results = {"profile": args.profile, "profile_info": energy.PROFILES[args.profile],
               "one_core_watts": energy.one_core_watts(args.profile), "sample_fps": args.sample_fps,
               "machine": {"cpu": _cpu_model(), "cores": energy.cpu_count()}, "sets": {}}
    sets = []
    if not args.no_suite:
        if (Path(args.suite) / "suite.json").exists():
            sets.append(("synthetic", suite_items(Path(args.suite), frames_dir, args.sample_fps, args.only, args.videos)))
        else:
            log(f"no suite at {args.suite}: run Scripts/eval/gen_videos.py first")
    if not args.no_real:
        if (Path(args.real_dev) / "labels.json").exists():
            sets.append(("real-dev", real_dev_items(Path(args.real_dev), frames_dir)))
        else:
            log(f"no real frames at {args.real_dev}")
    for name, items in sets:
        n_frames = sum(len(i["frames"]) for i in items)
        log(f"== {name}: {len(items)} item(s), {n_frames} sampled frames")
        results["sets"][name] = {"items": [i["name"] for i in items], "frames": n_frames,
                                 "rows": evaluate(items, runners, out, args.profile, args.reuse, frames_dir, name)}
    results["wall_s"] = round(time.time() - t0, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    md = report.markdown(results)
    (out / "results.md").write_text(md)
    (out / "accuracy_vs_energy.svg").write_text(report.svg(results))
    print(md)
    log(f"wrote {out}/results.json, results.md, accuracy_vs_energy.svg in {results['wall_s']} s")


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


if __name__ == "__main__":
    main()
