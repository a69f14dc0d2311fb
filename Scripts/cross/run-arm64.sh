#!/usr/bin/env bash
# Runs an aarch64 bitspot under qemu-aarch64 with the arm64 sysroot's libraries (FFmpeg 7.1, Swift runtime).
# Usage: Scripts/cross/run-arm64.sh BINARY [bitspot arguments...]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
sysroot=${BITSPOT_CROSS_DIR:-$here/.cross}/trixie/sysroot-arm64
[ -d "$sysroot" ] || { echo "run-arm64: no sysroot at $sysroot; run Scripts/cross/arm64-sysroot.sh" >&2; exit 66; }
command -v qemu-aarch64 >/dev/null || { echo "run-arm64: qemu-aarch64 missing (apt-get install qemu-user)" >&2; exit 69; }
binary=$1; shift
exec qemu-aarch64 -L "$sysroot" \
  -E LD_LIBRARY_PATH=/usr/libexec/swift/lib/swift/linux:/usr/lib/aarch64-linux-gnu \
  "$binary" "$@"
