#!/usr/bin/env python3
"""Draw a suite video's ground truth on decoded frames, to check it by eye.

    .venv/bin/python Scripts/eval/show_gt.py eval-out/suite/v00_720p 0 300 600 -o /tmp/gt.png

Red: cared words; blue: don't-care words (cut by the frame edge or under 9 px). Frames are stacked
vertically at half size.
"""
from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def decode_frame(video: Path, index: int, size) -> Image.Image:
    w, h = size
    raw = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(video), "-vf",
                          f"select=eq(n\\,{index})", "-fps_mode", "passthrough", "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return Image.fromarray(np.frombuffer(raw, np.uint8)[: w * h * 3].reshape(h, w, 3))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video_dir")
    ap.add_argument("frames", nargs="+", type=int)
    ap.add_argument("-o", "--out", default="gt.png")
    a = ap.parse_args(argv)
    d = Path(a.video_dir)
    spec = json.loads((d / "meta.json").read_text())["spec"]
    gts = (d / "gt.jsonl").read_text().splitlines()
    tiles = []
    for i in a.frames:
        im = decode_frame(d / "video.mp4", i, (spec["width"], spec["height"]))
        dr = ImageDraw.Draw(im)
        for w in json.loads(gts[i])["words"]:
            dr.polygon([tuple(p) for p in w["quad"]], outline=(255, 0, 0) if w["care"] else (0, 120, 255))
        dr.text((8, 8), f"{d.name} frame {i}", fill=(255, 255, 0))
        tiles.append(im.resize((im.width // 2, im.height // 2)))
    sheet = Image.new("RGB", (max(t.width for t in tiles), sum(t.height for t in tiles)))
    y = 0
    for t in tiles:
        sheet.paste(t, (0, y))
        y += t.height
    sheet.save(a.out)
    print(a.out)


if __name__ == "__main__":
    main()
