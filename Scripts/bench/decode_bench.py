#!/usr/bin/env python3
"""Decode throughput of `bitspot probe` against `ffmpeg -threads 1 -i FILE -f null -`, in the same run.

Makes (once) a 60 s 1280x720 30 fps H.264 file with a key frame every 30 frames, builds bitspot in
release mode, then alternates the two programs for --rounds rounds and prints medians and ratios:
- full decoding to luma at the video's own size vs ffmpeg's full decode (target >= 0.9x);
- the extra cost of scaling to 640x360, in ms per frame;
- key-frames-only vs full decoding (target >= 8x).
Standard library only. Run from the repository root: python3 Scripts/bench/decode_bench.py
"""
import argparse, json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_video(path):
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".partial.mp4"
    print(f"making {path} (60 s, 1280x720, 30 fps, GOP 30) ...", file=sys.stderr)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=1280x720:rate=30:duration=60", "-vf", "noise=alls=6:allf=t",
                    "-c:v", "libx264", "-preset", "medium", "-crf", "23", "-g", "30", "-keyint_min", "30",
                    "-sc_threshold", "0", "-pix_fmt", "yuv420p", tmp], check=True)
    os.replace(tmp, path)


def time_ffmpeg(path):
    t0 = time.perf_counter()
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", path, "-f", "null", "-"], check=True)
    return time.perf_counter() - t0


def run_bitspot(binary, path):
    out = subprocess.run([binary, "probe", path, "--json", "--decoder-threads", "1"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--video", default=os.path.join(ROOT, "bench-out", "decode-720p30-gop30.mp4"))
    ap.add_argument("--binary", default=None, help="bitspot binary (default: build release)")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench-out", "decode.json"))
    args = ap.parse_args()

    make_video(args.video)
    binary = args.binary
    if binary is None:
        subprocess.run(["swift", "build", "-c", "release", "--product", "bitspot"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip() + "/bitspot"

    ff, modes = [], {}
    frames = None
    for r in range(args.rounds):
        ff.append(time_ffmpeg(args.video))
        report = run_bitspot(binary, args.video)
        frames = report["countedFrames"]
        for run in report["runs"]:
            key = f'{run["mode"]}@{run["size"]}'
            modes.setdefault(key, []).append(run)
        print(f"round {r + 1}/{args.rounds}: ffmpeg {ff[-1]:.2f} s, bitspot all {report['runs'][0]['wallSeconds']:.2f} s",
              file=sys.stderr)

    ff_fps = frames / statistics.median(ff)
    med = {k: {"wallSeconds": statistics.median(x["wallSeconds"] for x in v),
               "streamFramesPerSecond": statistics.median(x["streamFramesPerSecond"] for x in v),
               "delivered": v[0]["delivered"], "decoded": v[0]["decoded"]} for k, v in modes.items()}
    full_key = next(k for k in med if k.startswith("all@1280x720"))
    scaled_key = next(k for k in med if k.startswith("all@640x360"))
    key_key = next(k for k in med if k.startswith("keyframes"))
    full = med[full_key]
    result = {
        "video": os.path.relpath(args.video, ROOT), "frames": frames, "rounds": args.rounds,
        "ffmpeg_wall_s_median": statistics.median(ff), "ffmpeg_fps": ff_fps,
        "modes": med,
        "full_vs_ffmpeg": full["streamFramesPerSecond"] / ff_fps,
        "scale_640x360_extra_ms_per_frame": (med[scaled_key]["wallSeconds"] - full["wallSeconds"]) * 1000 / frames,
        "keyframes_speedup_vs_full": full["wallSeconds"] / med[key_key]["wallSeconds"],
    }
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(args.json + ".tmp", args.json)

    print(f"\ndecode throughput, {frames} frames 1280x720 H.264, 1 decoder thread, median of {args.rounds} rounds")
    print(f"{'run':<24}{'wall s':>8}{'frames/s':>10}{'kept':>7}{'vs ffmpeg':>11}")
    print(f"{'ffmpeg -f null':<24}{statistics.median(ff):>8.2f}{ff_fps:>10.1f}{'':>7}{1.0:>10.2f}x")
    for k, v in med.items():
        print(f"{k:<24}{v['wallSeconds']:>8.2f}{v['streamFramesPerSecond']:>10.1f}{v['delivered']:>7}"
              f"{v['streamFramesPerSecond'] / ff_fps:>10.2f}x")
    print(f"\nfull decode to luma vs ffmpeg: {result['full_vs_ffmpeg']:.2f}x (target >= 0.9x)")
    print(f"scaling to 640x360 costs {result['scale_640x360_extra_ms_per_frame']:.2f} ms per frame")
    print(f"key frames only vs full decoding: {result['keyframes_speedup_vs_full']:.1f}x faster (target >= 8x)")


if __name__ == "__main__":
    main()
