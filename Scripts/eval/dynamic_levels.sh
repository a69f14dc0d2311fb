#!/usr/bin/env bash
# What the dynamic levels save: `bitspot bench pipeline` on each suite video with the levels off, then
# adding them one at a time; per-stage CPU from the JSON reports, summed over the videos. Rows with
# --keyframes take no --fps (key frames, with --max-gap where they are far apart).
#   Scripts/eval/dynamic_levels.sh [--videos N] [--fps R] [--out DIR]
# Needs the release build (.build/release/bitspot, or $BITSPOT_BIN) and the suite (eval-out/suite,
# Scripts/eval/gen_videos.py). Prints a Markdown table; the reports stay in DIR (eval-out/dynamic).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${BITSPOT_BIN:-$root/.build/release/bitspot}"
videos=8; fps=1; out="$root/eval-out/dynamic"
while [ $# -gt 0 ]; do
  case "$1" in
    --videos) videos=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n 2,6p "$0"; exit 0 ;;
    *) echo "dynamic_levels.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
[ -x "$bin" ] || { echo "dynamic_levels.sh: no $bin (swift build -c release --product bitspot)" >&2; exit 1; }
[ -d "$root/eval-out/suite" ] || { echo "dynamic_levels.sh: no eval-out/suite (Scripts/eval/gen_videos.py)" >&2; exit 1; }
mkdir -p "$out"
configs=(
  "off|--no-exits"
  "exits + tile regions|"
  "exits + tile regions + gate 3|--gate 3"
  "exits + tile regions + gate 3 + skip-nonref|--gate 3 --skip-nonref"
  "exits + tile regions + gate 3 + skip-nonref + skip-loop-filter|--gate 3 --skip-nonref --skip-loop-filter"
  "exits + tile regions + gate 3 + skip-bidir|--gate 3 --skip-bidir"
  "exits + tile regions + gate 3 + skip-bidir + skip-loop-filter|--gate 3 --skip-bidir --skip-loop-filter"
  "exits + tile regions + gate 5 + skip-bidir + skip-loop-filter|--gate 5 --skip-bidir --skip-loop-filter"
  "off + skip-nonref + skip-loop-filter + prefer-keyframes|--no-exits --skip-nonref --skip-loop-filter --prefer-keyframes"
  "exits + tile regions + gate 5 + skip-nonref + skip-loop-filter + prefer-keyframes|--gate 5 --skip-nonref --skip-loop-filter --prefer-keyframes"
  "exits + tile regions + gate 10 + skip-nonref + skip-loop-filter + prefer-keyframes|--gate 10 --skip-nonref --skip-loop-filter --prefer-keyframes"
  "off + key frames, max gap 2 s + skip-nonref + skip-loop-filter|--no-exits --keyframes --max-gap 2 --skip-nonref --skip-loop-filter"
  "exits + tile regions + gate 5 + key frames, max gap 2 s + skip-nonref + skip-loop-filter|--gate 5 --keyframes --max-gap 2 --skip-nonref --skip-loop-filter"
  "exits + tile regions + gate 10 + key frames, max gap 2 s + skip-nonref + skip-loop-filter|--gate 10 --keyframes --max-gap 2 --skip-nonref --skip-loop-filter"
)
mapfile -t dirs < <(ls -d "$root"/eval-out/suite/v* | head -n "$videos")
i=0
for c in "${configs[@]}"; do
  args=${c#*|}
  rate=(--fps "$fps")
  case " $args " in *" --keyframes "*) rate=() ;; esac   # key frames: no rate sampling
  for d in "${dirs[@]}"; do
    # shellcheck disable=SC2086
    "$bin" bench pipeline "$d/video.mp4" "${rate[@]}" --meter model:pi4b --quiet $args \
      --report-json "$out/c$i-$(basename "$d").json" >/dev/null
  done
  echo "$(date +%T) config $i done: ${c%%|*}" >&2
  i=$((i + 1))
done
python3 - "$out" "${configs[@]}" <<'PY'
import glob, json, sys
out, configs = sys.argv[1], sys.argv[2:]
rows = []
for i, c in enumerate(configs):
    tot = {}
    counters = {}
    for f in sorted(glob.glob(f"{out}/c{i}-*.json")):
        r = json.load(open(f))
        for s in r["stages"]:
            tot[s["name"]] = tot.get(s["name"], 0) + s["cpuSeconds"]
            for k, v in s["counters"].items():
                counters[f"{s['name']} {k}"] = counters.get(f"{s['name']} {k}", 0) + v
    net = tot.get("detect", 0) + tot.get("recognize", 0)
    rows.append((c.split("|")[0], tot.get("decode", 0), net, sum(tot.values()), counters))
base = rows[0]
print("| levels | decode CPU s | networks CPU s | all stages CPU s | networks saved | all saved | counters |")
print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
for name, dec, net, all_, cnt in rows:
    print(f"| {name} | {dec:.2f} | {net:.2f} | {all_:.2f} | {base[2] / net:.2f}x | {base[3] / all_:.2f}x | "
          + ", ".join(f"{k} {v}" for k, v in sorted(cnt.items())) + " |")
PY
