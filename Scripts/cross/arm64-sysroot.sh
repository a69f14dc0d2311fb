#!/usr/bin/env bash
# Makes (once, cached) the aarch64 side of the cross build: a sysroot of Debian trixie arm64 packages
# (libc, the Swift 6.0.3 runtime, FFmpeg 7.1 development files and their runtime closure) unpacked
# with dpkg-deb; the arm64 swiftlang package in it provides the Swift resource folder.
# Usage: Scripts/cross/arm64-sysroot.sh   (needs root; uses the trixie root made by trixie-root.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${BITSPOT_CROSS_DIR:-.cross}
root=$base/trixie
sysroot=$root/sysroot-arm64   # inside the trixie root: the compiler runs there
stamp=$sysroot/.bitspot-ready
[ -f "$stamp" ] && { echo "$sysroot ready"; exit 0; }
Scripts/cross/trixie-root.sh "$root" >/dev/null
cp /etc/resolv.conf "$root/etc/resolv.conf"
if ! chroot "$root" dpkg --print-foreign-architectures | grep -qx arm64; then
  chroot "$root" dpkg --add-architecture arm64
fi
chroot "$root" apt-get update -qq
debs=/var/cache/bitspot-arm64
chroot "$root" mkdir -p "$debs/partial"
echo "arm64-sysroot: downloading arm64 packages (FFmpeg 7.1 closure, libc, Swift runtime) ..." >&2
# The FFmpeg development files and everything they pull in (libc6, libgcc, ... included).
chroot "$root" apt-get install -y -qq --download-only -o Dir::Cache::archives="$debs" \
  libavformat-dev:arm64 libavcodec-dev:arm64 libavutil-dev:arm64 libswscale-dev:arm64 libavdevice-dev:arm64 libavfilter-dev:arm64 \
  libc6-dev:arm64 libgcc-14-dev:arm64 libstdc++-14-dev:arm64 >"$base/arm64-download.log" 2>&1 \
  || { echo "arm64-sysroot: download failed, see $base/arm64-download.log" >&2; exit 69; }
# swiftlang:arm64 conflicts with the installed amd64 compiler, so it is only downloaded.
chroot "$root" bash -c "cd $debs && apt-get download -qq swiftlang:arm64 libswiftlang:arm64 libicu76:arm64 libxml2:arm64 zlib1g:arm64 liblzma5:arm64 linux-libc-dev" \
  >>"$base/arm64-download.log" 2>&1 || { echo "arm64-sysroot: swift download failed, see $base/arm64-download.log" >&2; exit 69; }
rm -rf "$sysroot.partial"
mkdir -p "$sysroot.partial"
n=0
for deb in "$root$debs"/*_arm64.deb "$root$debs"/*_all.deb; do
  [ -f "$deb" ] || continue
  dpkg-deb -x "$deb" "$sysroot.partial"
  n=$((n + 1))
done
# Absolute symlinks inside the sysroot (e.g. lib -> usr/lib) must stay inside it.
[ -e "$sysroot.partial/lib" ] || ln -s usr/lib "$sysroot.partial/lib"
# Relink absolute .so symlinks to relative ones so the linker finds them inside the sysroot.
. Scripts/cross/lib.sh
cross_relative_links "$sysroot.partial"
# Libraries Debian installs through update-alternatives (BLAS and LAPACK, which FFmpeg's filters pull in)
# get the links their postinst scripts would have made.
for alt in blas/libblas.so.3 lapack/liblapack.so.3; do
  dir=$sysroot.partial/usr/lib/aarch64-linux-gnu
  [ -e "$dir/$alt" ] && ln -sfn "$alt" "$dir/$(basename "$alt")"
done
# The arm64 swiftlang package brings the Swift resource folder (usr/libexec/swift/lib/swift) with a
# relative clang link to its own (architecture-independent) clang headers, so it is used as it is.
touch "$sysroot.partial/.bitspot-ready"
rm -rf "$sysroot"
mv "$sysroot.partial" "$sysroot"
echo "$sysroot ready ($n packages, $(du -sh "$sysroot" | cut -f1))"
