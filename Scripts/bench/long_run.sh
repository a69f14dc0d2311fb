#!/usr/bin/env bash
# A long unattended run: `bitspot spot` on a generated live stream (FFmpeg's lavfi device, paced in
# real time by the `realtime` filter, text drawn by drawtext that changes every 20 s), sampled every
# few seconds for resident memory (VmRSS, VmHWM) and open file descriptors.
#
#   Scripts/bench/long_run.sh [--minutes 60] [--size 1920x1080] [--rate 10] [--fps 2] [--interval 10]
#                             [--warmup 5] [--out bench-out/long-run]
#
# Passes (exit 0) when, after the warm-up minutes, resident memory grew by at most 2 MB (2048 kB:
# the largest sample after warm-up minus the first sample after it), the descriptor count never
# changed, bitspot ended by itself with exit 0 when the stream ended, and its JSON lines are whole.
# Writes OUT/memory.csv (seconds, rss_kB, hwm_kB, fds), OUT/spot.jsonl, OUT/spot.err, OUT/summary.txt.
# The binary is $BITSPOT_BIN, or the release build (made with `swift build -c release` if missing).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
minutes=60; size=1920x1080; rate=10; fps=2; interval=10; warmup=5; out=bench-out/long-run
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "long_run.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
bin="${BITSPOT_BIN:-}"
if [ -z "$bin" ]; then
  swift build -c release --product bitspot >&2
  bin="$(swift build -c release --show-bin-path)/bitspot"
fi
font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
[ -f "$font" ] || { echo "long_run.sh: $font missing (apt-get install fonts-dejavu-core)" >&2; exit 69; }
mkdir -p "$out"
seconds=$((minutes * 60))
# Room-number signs that change every 20 s, on the moving test pattern; paced in real time.
spec="lavfi:testsrc2=size=${size}:rate=${rate}:duration=${seconds},drawbox=x=iw/4:y=ih/3:w=iw/2:h=ih/4:color=white:t=fill,drawtext=fontfile=${font}:fontsize=h/10:fontcolor=black:x=w/4+w/20:y=h/3+h/14:text='ROOM B%{eif\:100+trunc(t/20)\:d}',realtime"
echo "long_run: ${minutes} min of ${size} at ${rate} fps (spot --fps ${fps}), sampling every ${interval} s -> $out" >&2
"$bin" spot "$spec" --fps "$fps" --jsonl "$out/spot.jsonl" > "$out/spot.out" 2> "$out/spot.err" &
pid=$!
echo "seconds,rss_kB,hwm_kB,fds" > "$out/memory.csv"
t0=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
  now=$(( $(date +%s) - t0 ))
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l || true)
  [ -n "$rss" ] && echo "$now,$rss,$hwm,$fds" >> "$out/memory.csv"
  sleep "$interval"
done
set +e
wait "$pid"; status=$?
set -e
python3 - "$out" "$warmup" "$status" <<'EOF'
import csv, json, sys
out, warmup, status = sys.argv[1], float(sys.argv[2]) * 60, int(sys.argv[3])
rows = [(int(r["seconds"]), int(r["rss_kB"]), int(r["hwm_kB"]), int(r["fds"])) for r in csv.DictReader(open(f"{out}/memory.csv"))]
after = [r for r in rows if r[0] >= warmup]
lines = []
def say(s): lines.append(s); print(s)
ok = status == 0
say(f"bitspot exit status {status}; {len(rows)} samples over {rows[-1][0] if rows else 0} s")
if after:
    base = after[0]
    growth = max(r[1] for r in after) - base[1]
    fd_set = sorted({r[3] for r in after})
    say(f"after the {warmup/60:.0f}-minute warm-up: RSS {base[1]} kB at {base[0]} s, max {max(r[1] for r in after)} kB, "
        f"last {after[-1][1]} kB: growth {growth} kB (limit 2048); descriptors {fd_set}; peak RSS (VmHWM) {max(r[2] for r in rows)} kB")
    ok = ok and growth <= 2048 and len(fd_set) == 1
    say("minute  rss_kB  fds")
    for r in rows:
        if r[0] % 300 < 10 or r is rows[-1]:
            say(f"{r[0]/60:6.1f}  {r[1]:6d}  {r[3]:3d}")
else:
    say("no samples after the warm-up")
    ok = False
frames = tracks = 0
texts = set()
for l in open(f"{out}/spot.jsonl"):
    o = json.loads(l)
    if o["type"] == "frame": frames += 1
    else: tracks += 1; texts.add(o["text"])
say(f"spot.jsonl: {frames} frame lines, {tracks} track lines, all whole; texts seen: {', '.join(sorted(texts)[:12])}{' ...' if len(texts) > 12 else ''}")
say("PASS" if ok else "FAIL")
open(f"{out}/summary.txt", "w").write("\n".join(lines) + "\n")
sys.exit(0 if ok else 1)
EOF
