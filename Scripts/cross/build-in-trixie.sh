#!/usr/bin/env bash
# Builds (and optionally tests) BitSpot inside the trixie root: Swift 6.0.3 and FFmpeg 7.1, the versions
# of 64-bit Raspberry Pi OS. This checks the code against both FFmpeg 5.1 (the host) and 7.1.
# Usage: Scripts/cross/build-in-trixie.sh [swift build|test arguments...]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=${BITSPOT_CROSS_DIR:-.cross}/trixie
Scripts/cross/trixie-root.sh "$root" >/dev/null
[ "$(id -u)" = 0 ] || { echo "build-in-trixie: needs root (chroot)" >&2; exit 69; }
mkdir -p "$root/src" "$root/opt/swift-packages"
cleanup() {
  umount "$root/src" 2>/dev/null || true
  umount "$root/opt/swift-packages" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
mountpoint -q "$root/src" || mount --bind "$PWD" "$root/src"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
# Swift packages: the local mirror when this machine has one (no network needed), else GitHub.
if [ -d /opt/swift-packages ]; then
  mountpoint -q "$root/opt/swift-packages" || mount --bind /opt/swift-packages "$root/opt/swift-packages"
  chroot "$root" git config --global url./opt/swift-packages/.insteadOf https://github.com/
  chroot "$root" git config --global --add safe.directory '*'
fi
args=("$@"); [ ${#args[@]} -gt 0 ] || args=(build)
chroot "$root" bash -c "cd /src && swift ${args[*]} --scratch-path .build-trixie"
