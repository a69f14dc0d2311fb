#!/usr/bin/env bash
# The test command: sets up what is missing, then runs the Swift tests, a 60-second smoke of each fuzz
# target (BITSPOT_FUZZ_SECONDS=0 skips it) and the Python script tests.
# Usage: Scripts/test.sh [--swift-only | --python-only]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
Scripts/setup.sh --python

if [ "$mode" != "--python-only" ]; then
  # The shipped models' golden fixtures (input and every node's output from the trainer's numpy reference):
  # GoldenTests reproduces them on every kernel tier.
  golden=()
  for g in Scripts/train/golden/recognizer Scripts/train/golden/detector; do
    if [ -e "$g.bitnet" ]; then golden+=("$PWD/$g"); fi
  done
  if [ ${#golden[@]} -gt 0 ]; then export BITSPOT_GOLDEN=$(IFS=:; echo "${golden[*]}"); fi
  # A lean FFmpeg (Scripts/ffmpeg/build-lean.sh; built once, about 2 minutes, cached in .ffmpeg-lean/):
  # BundleCommandTests ships it in a host bundle and runs the bundle with it.
  lean_ffmpeg=$(Scripts/ffmpeg/build-lean.sh host | tail -1)
  export BITSPOT_LEAN_FFMPEG=$lean_ffmpeg
  echo "== swift test" >&2
  swift build --build-tests
  swift test --skip-build

  # A libFuzzer smoke of every fuzz target (Scripts/fuzz.sh, docs/reliability.md): 60 s each by default;
  # BITSPOT_FUZZ_SECONDS=N changes it, BITSPOT_FUZZ_SECONDS=0 skips it (e.g. for quick local runs).
  fuzz_seconds=${BITSPOT_FUZZ_SECONDS:-60}
  if [ "$fuzz_seconds" != 0 ]; then
    echo "== fuzz smoke (${fuzz_seconds} s per target)" >&2
    Scripts/fuzz.sh --seconds "$fuzz_seconds"
  fi
fi
if [ "$mode" != "--swift-only" ]; then
  echo "== pytest" >&2
  dirs=()
  for d in Scripts/synth/tests Scripts/eval/tests Scripts/golden/tests Scripts/train/tests Scripts/bitnet/tests; do
    [ -d "$d" ] && dirs+=("$d")
  done
  .venv/bin/python -m pytest -q "${dirs[@]}"
fi
