#!/usr/bin/env bash
# The whole linux-arm64 check in one command (not run in CI: the first run downloads about 1 GB and
# takes tens of minutes on two cores). Prints what it measured:
#  1. cross-builds bitspot for aarch64 (release) and makes the bundle with `bitspot bundle`, timed;
#  2. verifies the bundle with the aarch64 binary itself under qemu-aarch64;
#  3. runs the same `frames` job natively and under qemu and compares the outputs byte for byte;
#  4. runs `spot --json` natively and under qemu and compares the texts read per frame and per track
#     (with Models/, or the untrained test models when Models/ has none);
#  5. runs the kernel and runtime tests for aarch64 under qemu (Scripts/cross/test-arm64.sh).
# With --lean-ffmpeg the bundle ships a lean FFmpeg 7.1 cross-built for aarch64 (Scripts/ffmpeg/build-lean.sh
# aarch64) and step 2 also checks that the aarch64 loader takes FFmpeg from the bundle's lib/.
# Usage: Scripts/cross/verify-arm64.sh [--no-tests] [--lean-ffmpeg]   (root; run from a BitSpot checkout)
set -euo pipefail
cd "$(dirname "$0")/../.."
tests=1
ffmpeg_args=()
for arg in "$@"; do
  case "$arg" in
    --no-tests) tests=0 ;;
    --lean-ffmpeg) ffmpeg_args=(--ffmpeg "$(Scripts/ffmpeg/build-lean.sh aarch64 | tail -1)") ;;
    *) echo "verify-arm64: unknown option $arg" >&2; exit 64 ;;
  esac
done
. Scripts/cross/lib.sh
cross_need_qemu
work=$(mktemp -d /tmp/bitspot-verify-arm64.XXXXXX)
trap 'rm -rf "$work"' EXIT
sysroot=${BITSPOT_CROSS_DIR:-.cross}/trixie/sysroot-arm64
swift build --product bitspot >/dev/null
host=$(swift build --show-bin-path)/bitspot

t0=$(date +%s)
"$host" bundle --target linux-arm64 --out "$work/bundle.tar.gz" "${ffmpeg_args[@]}"
echo "bundle time: $(( $(date +%s) - t0 )) s, size $(stat -c %s "$work/bundle.tar.gz") bytes"

mkdir "$work/board"
tar -xzf "$work/bundle.tar.gz" -C "$work/board"
dir=$(echo "$work"/board/*)
arm() { qemu-aarch64 -L "$sysroot" -E LD_LIBRARY_PATH="$dir/lib:/usr/lib/aarch64-linux-gnu" -E BITSPOT_HOME="$dir" "$dir/bin/bitspot" "$@"; }
arm verify-bundle "$dir"
if [ ${#ffmpeg_args[@]} -gt 0 ]; then
  # The aarch64 loader (LD_DEBUG=libs) must take every FFmpeg library from the bundle, none from the sysroot.
  qemu-aarch64 -L "$sysroot" -E LD_LIBRARY_PATH="$dir/lib:/usr/lib/aarch64-linux-gnu" -E LD_DEBUG=libs "$dir/bin/bitspot" --version \
    2>"$work/ld.txt" >/dev/null
  grep 'calling init:' "$work/ld.txt" >"$work/init.txt" || true
  loaded=$(wc -l <"$work/init.txt")
  grep -E '/lib(av|sw)[a-z]*\.so' "$work/init.txt" >"$work/ffmpeg.txt" || true
  from_bundle=$(grep -c "$dir/lib/" "$work/ffmpeg.txt" || true)
  elsewhere=$(grep -v "$dir/lib/" "$work/ffmpeg.txt" || true)
  if [ "$from_bundle" -ge 4 ] && [ -z "$elsewhere" ]; then
    echo "lean FFmpeg: $from_bundle FFmpeg libraries loaded from the bundle's lib/, none from the system; $loaded shared objects initialised"
  else
    echo "lean FFmpeg: FFmpeg NOT taken from the bundle ($from_bundle from lib/); others: $elsewhere"; exit 1
  fi
fi

arm frames Samples/sample.mp4 --every 15 --size 640x360 --out "$work/arm" >"$work/arm.txt" 2>/dev/null
"$host" frames Samples/sample.mp4 --every 15 --size 640x360 --out "$work/native" >"$work/native.txt" 2>/dev/null
(cd "$work/arm" && sha256sum ./*) >"$work/arm.sha"
(cd "$work/native" && sha256sum ./*) >"$work/native.sha"
# The summary lines differ only in the output folder's name.
sed -i "s|$work/arm|OUT|" "$work/arm.txt"
sed -i "s|$work/native|OUT|" "$work/native.txt"
if diff "$work/native.sha" "$work/arm.sha" >/dev/null && diff "$work/native.txt" "$work/arm.txt" >/dev/null; then
  echo "frames: aarch64 under qemu and native x86-64 outputs are identical ($(wc -l <"$work/arm.sha") files)"
else
  echo "frames: outputs DIFFER"; diff "$work/native.sha" "$work/arm.sha" || true; diff "$work/native.txt" "$work/arm.txt" || true; exit 1
fi
models=Models
[ -f Models/detector.bitnet ] || models=Tests/BitspotCLITests/Fixtures/untrained-models
arm spot Samples/sample.mp4 --models "$models" --fps 2 --json >"$work/arm.jsonl" 2>/dev/null
"$host" spot Samples/sample.mp4 --models "$models" --fps 2 --json >"$work/native.jsonl" 2>/dev/null
texts() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    print(o["type"], o.get("frame", o.get("track")), *[w["text"] for w in o.get("words", [])], o.get("text", ""))' "$1"; }
if diff <(texts "$work/native.jsonl") <(texts "$work/arm.jsonl") >/dev/null; then
  echo "spot ($models): aarch64 under qemu and native x86-64 read the same texts ($(grep -c '"type":"frame"' "$work/arm.jsonl") frames, $(grep -o '"text"' "$work/arm.jsonl" | wc -l) words and tracks)"
else
  echo "spot ($models): texts DIFFER"; diff <(texts "$work/native.jsonl") <(texts "$work/arm.jsonl") | head -20; exit 1
fi
[ "$tests" = 0 ] || Scripts/cross/test-arm64.sh
