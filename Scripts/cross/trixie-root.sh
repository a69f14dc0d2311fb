#!/usr/bin/env bash
# Makes (once, cached) a Debian trixie root with Swift 6.0.3 (swiftlang) and FFmpeg 7.1's development
# files: the compiler side of the aarch64 cross build, and a way to build BitSpot against FFmpeg 7.1.
# Usage: Scripts/cross/trixie-root.sh [ROOT]   (default: .cross/trixie; needs root, debootstrap)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=${1:-${BITSPOT_CROSS_DIR:-.cross}/trixie}
stamp="$root/.bitspot-ready"
[ -f "$stamp" ] && { echo "$root ready"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "trixie-root: needs root (debootstrap, chroot)" >&2; exit 69; }
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
mkdir -p "$root"
if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "trixie-root: debootstrap trixie into $root (a few minutes) ..." >&2
  debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian >"$root.debootstrap.log" 2>&1 \
    || { echo "trixie-root: debootstrap failed, see $root.debootstrap.log" >&2; exit 69; }
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
echo "trixie-root: installing swiftlang and FFmpeg 7.1 development files ..." >&2
chroot "$root" apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends \
  swiftlang libc6-dev pkg-config git ca-certificates libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
  libavdevice-dev libavfilter-dev >"$root.apt.log" 2>&1 || { echo "trixie-root: apt-get failed, see $root.apt.log" >&2; exit 69; }
touch "$stamp"
echo "$root ready"
