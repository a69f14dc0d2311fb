#!/usr/bin/env bash
# Installs what BitSpot needs on a fresh Debian/Raspberry Pi OS machine; safe to run again.
#   Scripts/setup.sh            system packages for building, running and testing the Swift package
#   Scripts/setup.sh --python   also the small Python environment (.venv) the script tests use
# Swift itself (6.0 or newer) must already be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ffmpeg pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev
          fonts-dejavu-core)
python=0
for arg in "$@"; do
  case "$arg" in
    --python) python=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 64 ;;
  esac
done
if [ "$python" = 1 ] && [ -f Scripts/eval/apt-packages.txt ]; then
  mapfile -t extra < <(grep -v '^#' Scripts/eval/apt-packages.txt | tr ' ' '\n' | grep -v '^$')
  packages+=("${extra[@]}")
fi
[ "$python" = 1 ] && packages+=(python3-venv)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift not found; install Swift 6.0 or newer (Debian trixie: apt-get install swiftlang)" >&2; exit 69; }
pkg-config --exists libavformat libavcodec libavutil libswscale libavdevice \
  || { echo "setup: FFmpeg development files not found by pkg-config" >&2; exit 69; }

if [ "$python" = 1 ]; then
  if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
  req=Scripts/requirements-test.txt
  stamp=.venv/.installed-$(sha256sum "$req" | cut -c1-16)
  if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
    touch "$stamp"
  fi
fi
echo "setup: ready (FFmpeg $(pkg-config --modversion libavformat | cut -d. -f1-2) libavformat, $(swift --version 2>/dev/null | head -1))" >&2
