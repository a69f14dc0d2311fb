#!/usr/bin/env bash
# Cross-builds bitspot for 64-bit Raspberry Pi OS (aarch64, Debian trixie) on an x86-64 workstation:
# Swift 6.0.3 from a trixie root compiles against an arm64 sysroot (FFmpeg 7.1, the arm64 Swift
# runtime). Prepares both on first use (trixie-root.sh, arm64-sysroot.sh; needs root and network once).
# Prints the path of the aarch64 binary on its last line.
# Usage: Scripts/cross/build-arm64.sh [debug|release]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/../.."
config=${1:-release}
base=${BITSPOT_CROSS_DIR:-.cross}
root=$base/trixie
[ "$(id -u)" = 0 ] || { echo "build-arm64: needs root (chroot, mounts)" >&2; exit 69; }
Scripts/cross/arm64-sysroot.sh >&2
S=/sysroot-arm64                      # the sysroot, as the compiler inside the trixie root sees it
RES=$S/usr/libexec/swift/lib/swift    # the arm64 Swift resource folder (modules, runtime)
mkdir -p "$root/src" "$root/opt/swift-packages"
cleanup() {
  umount "$root/src" 2>/dev/null || true
  umount "$root/opt/swift-packages" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
mountpoint -q "$root/src" || mount --bind "$PWD" "$root/src"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
if [ -d /opt/swift-packages ]; then
  mountpoint -q "$root/opt/swift-packages" || mount --bind /opt/swift-packages "$root/opt/swift-packages"
  chroot "$root" git config --global url./opt/swift-packages/.insteadOf https://github.com/
  chroot "$root" git config --global --add safe.directory '*'
fi
echo "build-arm64: swift build -c $config for aarch64-unknown-linux-gnu ..." >&2
chroot "$root" env BITSPOT_TARGET_ARCH=aarch64 PKG_CONFIG_SYSROOT_DIR=$S \
  PKG_CONFIG_LIBDIR=$S/usr/lib/aarch64-linux-gnu/pkgconfig:$S/usr/share/pkgconfig \
  bash -c "cd /src && swift build -c $config --product bitspot --scratch-path .build-arm64 \
    --triple aarch64-unknown-linux-gnu --sdk $S \
    -Xswiftc -sdk -Xswiftc $S -Xswiftc -resource-dir -Xswiftc $RES -Xswiftc -use-ld=lld \
    -Xlinker -L$S/usr/libexec/swift/lib/swift/linux -Xlinker -rpath-link=$S/usr/lib/aarch64-linux-gnu \
    -Xlinker -rpath-link=$S/usr/libexec/swift/lib/swift/linux" >&2
echo "$PWD/.build-arm64/aarch64-unknown-linux-gnu/$config/bitspot"
