#!/usr/bin/env python3
"""Decode throughput of `bitspot probe` against `ffmpeg -threads 1 -i FILE -f null -`, in the same run.

Makes (once) a 60 s 1280x720 30 fps H.264 file with a key frame every 30 frames, builds bitspot in
release mode, then alternates the two programs for --rounds rounds and prints medians and ratios:
- full decoding to luma at the video's own size vs ffmpeg's full decode (target >= 0.9x);
- the extra cost of scaling to 640x360, in ms per frame;
- key-frames-only vs full decoding (target >= 8x).
Throughput is compared on CPU time (user + system, all threads) as well as wall time: on a shared
machine CPU time is the stable measure of the work each program does; wall time is printed beside it.
Standard library only. Run from the repository root: python3 Scripts/bench/decode_bench.py
"""
import argparse, json, os, resource, statistics, subprocess, sys, time

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


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_ffmpeg(path):
    """Wall and CPU seconds of ffmpeg's own full decode."""
    t0, c0 = time.perf_counter(), cpu_children()
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", path, "-f", "null", "-"], check=True)
    return time.perf_counter() - t0, cpu_children() - c0


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

    ff, ff_cpu, modes = [], [], {}
    frames = None
    for r in range(args.rounds):
        wall, cpu = time_ffmpeg(args.video)
        ff.append(wall)
        ff_cpu.append(cpu)
        report = run_bitspot(binary, args.video)
        frames = report["countedFrames"]
        for run in report["runs"]:
            key = f'{run["mode"]}@{run["size"]}'
            modes.setdefault(key, []).append(run)
        print(f"round {r + 1}/{args.rounds}: ffmpeg {ff[-1]:.2f} s ({ff_cpu[-1]:.2f} s CPU), "
              f"bitspot all {report['runs'][0]['wallSeconds']:.2f} s ({report['runs'][0]['cpuSeconds']:.2f} s CPU)", file=sys.stderr)

    ff_fps = frames / statistics.median(ff)
    ff_cpu_fps = frames / statistics.median(ff_cpu)
    med = {k: {"wallSeconds": statistics.median(x["wallSeconds"] for x in v),
               "cpuSeconds": statistics.median(x["cpuSeconds"] for x in v),
               "streamFramesPerSecond": statistics.median(x["streamFramesPerSecond"] for x in v),
               "delivered": v[0]["delivered"], "decoded": v[0]["decoded"]} for k, v in modes.items()}
    full_key = next(k for k in med if k.startswith("all@1280x720"))
    scaled_key = next(k for k in med if k.startswith("all@640x360"))
    key_key = next(k for k in med if k.startswith("keyframes"))
    full = med[full_key]
    result = {
        "video": os.path.relpath(args.video, ROOT), "frames": frames, "rounds": args.rounds,
        "ffmpeg_wall_s_median": statistics.median(ff), "ffmpeg_cpu_s_median": statistics.median(ff_cpu),
        "ffmpeg_fps_wall": ff_fps, "ffmpeg_fps_cpu": ff_cpu_fps,
        "modes": med,
        "full_vs_ffmpeg_cpu": (frames / full["cpuSeconds"]) / ff_cpu_fps,
        "full_vs_ffmpeg_wall": full["streamFramesPerSecond"] / ff_fps,
        "scale_640x360_extra_cpu_ms_per_frame": (med[scaled_key]["cpuSeconds"] - full["cpuSeconds"]) * 1000 / frames,
        "keyframes_speedup_vs_full_cpu": full["cpuSeconds"] / med[key_key]["cpuSeconds"],
        "keyframes_speedup_vs_full_wall": full["wallSeconds"] / med[key_key]["wallSeconds"],
    }
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(args.json + ".tmp", args.json)

    print(f"\ndecode throughput, {frames} frames 1280x720 H.264, 1 decoder thread, median of {args.rounds} rounds")
    print(f"{'run':<22}{'CPU s':>8}{'fps/CPU':>9}{'vs ffmpeg':>11}{'wall s':>9}{'fps/wall':>10}{'vs ffmpeg':>11}{'kept':>7}")
    print(f"{'ffmpeg -f null':<22}{statistics.median(ff_cpu):>8.2f}{ff_cpu_fps:>9.1f}{1.0:>10.2f}x"
          f"{statistics.median(ff):>9.2f}{ff_fps:>10.1f}{1.0:>10.2f}x")
    for k, v in med.items():
        cfps = frames / v["cpuSeconds"] if v["cpuSeconds"] > 0 else 0
        print(f"{k:<22}{v['cpuSeconds']:>8.2f}{cfps:>9.1f}{cfps / ff_cpu_fps:>10.2f}x"
              f"{v['wallSeconds']:>9.2f}{v['streamFramesPerSecond']:>10.1f}{v['streamFramesPerSecond'] / ff_fps:>10.2f}x{v['delivered']:>7}")
    print(f"\nfull decode to luma vs ffmpeg: {result['full_vs_ffmpeg_cpu']:.2f}x by CPU time, "
          f"{result['full_vs_ffmpeg_wall']:.2f}x by wall time (target >= 0.9x)")
    print(f"scaling to 640x360 costs {result['scale_640x360_extra_cpu_ms_per_frame']:.2f} ms of CPU per frame")
    print(f"key frames only vs full decoding: {result['keyframes_speedup_vs_full_cpu']:.1f}x less CPU, "
          f"{result['keyframes_speedup_vs_full_wall']:.1f}x less wall time (target >= 8x)")


if __name__ == "__main__":
    main()
