#!/usr/bin/env bash
# Installs what BitSpot needs on a fresh Debian/Raspberry Pi OS machine; safe to run again.
#   Scripts/setup.sh            system packages for building, running and testing the Swift package
#   Scripts/setup.sh --python   also the small Python environment (.venv) the script tests use
# Swift itself (6.0 or newer) must already be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ffmpeg pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev libavfilter-dev
          fonts-dejavu-core binutils tar)
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

. Scripts/lib/setup-common.sh
apt_install_missing "${packages[@]}"
command -v swift >/dev/null || { echo "setup: swift not found; install Swift 6.0 or newer (Debian trixie: apt-get install swiftlang)" >&2; exit 69; }
pkg-config --exists libavformat libavcodec libavutil libswscale libavdevice libavfilter \
  || { echo "setup: FFmpeg development files not found by pkg-config" >&2; exit 69; }

[ "$python" = 1 ] && venv_install Scripts/requirements-test.txt
echo "setup: ready (FFmpeg $(pkg-config --modversion libavformat | cut -d. -f1-2) libavformat, $(swift --version 2>/dev/null | head -1))" >&2
