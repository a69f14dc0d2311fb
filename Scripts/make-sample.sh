#!/usr/bin/env bash
# Makes Samples/sample.mp4: 12 s of 1280x720 H.264 at 30 fps (GOP 30, no B-frames) in which the camera
# pans across a 3000-pixel wall with four signs drawn by FFmpeg's drawtext. The first 2 s show bare
# wall (no text); the pan then runs at 180 px/s until the right end of the wall is in view.
# Ground truth (words and sign grouping) is in Samples/sample.json.
# Usage: Scripts/make-sample.sh [OUT.mp4]
set -euo pipefail
out=${1:-Samples/sample.mp4}
font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
[ -f "$font" ] || { echo "make-sample: $font missing (apt-get install fonts-dejavu-core)" >&2; exit 66; }
sign() { # x y w h boxcolor textcolor fontsize line1 [line2]: a filled box with centred text
  local x=$1 y=$2 w=$3 h=$4 bc=$5 tc=$6 fs=$7 l1=$8 l2=${9:-}
  local f="drawbox=x=$x:y=$y:w=$w:h=$h:color=$bc:t=fill"
  if [ -z "$l2" ]; then
    f+=",drawtext=fontfile=$font:text='$l1':fontsize=$fs:fontcolor=$tc:x=$x+($w-text_w)/2:y=$y+($h-text_h)/2"
  else
    f+=",drawtext=fontfile=$font:text='$l1':fontsize=$fs:fontcolor=$tc:x=$x+($w-text_w)/2:y=$y+$h/2-text_h-8"
    f+=",drawtext=fontfile=$font:text='$l2':fontsize=$fs:fontcolor=$tc:x=$x+($w-text_w)/2:y=$y+$h/2+8"
  fi
  printf '%s' "$f"
}
wall="drawbox=x=0:y=640:w=3000:h=80:color=0x505458:t=fill"            # skirting
wall+=",drawbox=x=2200:y=170:w=260:h=470:color=0x3a2a20:t=fill"        # a door
wall+=",$(sign 1320 220 420 110 white black 60 'ROOM B056')"
wall+=",$(sign 1800 110 150 80 0x107030 white 52 'EXIT')"
wall+=",$(sign 2450 250 500 170 0xe8e0c0 0x202020 44 'AUTHORIZED' 'PERSONNEL ONLY')"
wall+=",$(sign 2580 480 280 90 0x202020 0xf0f0f0 46 'Lab 3074')"
pan="crop=w=1280:h=720:x='min(max((t-2)*180\,0)\,1720)':y=0"
mkdir -p "$(dirname "$out")"
tmp="$(dirname "$out")/.sample.partial.mp4"
trap 'rm -f "$tmp"' EXIT
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=0x7a7f86:s=3000x720:r=30:d=12" \
  -vf "$wall,$pan,noise=alls=8:allf=t,format=yuv420p" -c:v libx264 -preset medium -crf 27 -g 30 -keyint_min 30 \
  -sc_threshold 0 -bf 0 -movflags +faststart "$tmp"
mv "$tmp" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
