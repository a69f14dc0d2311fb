#!/usr/bin/env bash
# Builds a lean FFmpeg: shared libraries with only the demuxers, decoders, filters and encoders BitSpot
# uses, from Debian's source package of the FFmpeg that bitspot is built against (same sonames, so the
# bitspot binary loads them in place of the system's). `bitspot bundle --ffmpeg DIR` ships them in a
# bundle's lib/: the board then needs no FFmpeg packages, and each start loads about 25 shared libraries
# instead of Debian FFmpeg's 150 (docs/deploy.md). Cached: a second run with the same settings returns at once.
# Prints the install folder (it holds lib/ and include/) on its last line.
# Usage: Scripts/ffmpeg/build-lean.sh [host|aarch64]   (default: host)
#   host     this machine's Debian release and architecture (x86-64: needs nasm, installed when missing)
#   aarch64  Debian trixie's FFmpeg cross-compiled for the arm64 sysroot of Scripts/cross (needs root)
# Output: .ffmpeg-lean/<arch>/ (or $BITSPOT_LEAN_FFMPEG_DIR/<arch>/).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:-host}
case "$target" in
  host|aarch64) ;;
  -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
  *) echo "build-lean: unknown target '$target' (host or aarch64)" >&2; exit 64 ;;
esac

# What BitSpot needs from FFmpeg, and nothing else: video files and streams (MP4/MOV, Matroska/WebM, AVI,
# MPEG-TS, FLV, raw H.264/HEVC, RTSP/RTP, HTTP, HLS), image sequences, cameras (V4L2, MJPEG and raw
# frames; the Pi's V4L2 memory-to-memory hardware decoders for --decoder auto), lavfi test cameras,
# --annotate (drawbox, drawtext with FreeType and fontconfig; MPEG-4 Part 2 into MP4, as libx264 is
# left out), --snapshots (PNG).
components=(
  --disable-everything --disable-autodetect --disable-programs --disable-doc --disable-static --enable-shared
  --enable-pthreads --enable-zlib --enable-libfreetype --enable-libfontconfig --enable-v4l2-m2m
  --enable-decoder=h264,hevc,mpeg4,mpeg2video,mjpeg,png,vp8,vp9,rawvideo,h264_v4l2m2m,hevc_v4l2m2m,mpeg4_v4l2m2m,vp8_v4l2m2m,vp9_v4l2m2m
  --enable-demuxer=mov,matroska,avi,mpegts,flv,h264,hevc,m4v,mjpeg,rawvideo,image2,image_png_pipe,image_jpeg_pipe,rtsp,rtp,sdp,hls
  --enable-parser=h264,hevc,mpeg4video,mpegvideo,vp8,vp9,mjpeg,png
  --enable-protocol=file,pipe,tcp,udp,rtp,http,hls,crypto
  --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb,vp9_superframe_split
  --enable-encoder=png,mpeg4 --enable-muxer=mp4
  --enable-indev=lavfi,v4l2
  --enable-filter=buffer,buffersink,format,scale,null,testsrc,testsrc2,color,drawbox,drawtext,realtime
)
# The cache key: this script (components and flags) and the target.
settings_hash=$( (echo "$target"; cat "$0") | sha256sum | cut -c1-16)

base=${BITSPOT_LEAN_FFMPEG_DIR:-$PWD/.ffmpeg-lean}
. Scripts/lib/setup-common.sh

# Debian source package `ffmpeg` of release $1 into folder $2 (apt-get source with a private deb-src list;
# only Debian's registry is needed). Prints the unpacked source folder.
fetch_source() {
  local codename=$1 dir=$2 lists
  mkdir -p "$dir/lists/partial"
  printf 'deb-src http://deb.debian.org/debian %s main\n' "$codename" > "$dir/sources.list"
  # A private list and cache, so neither the machine's apt sources nor its caches change (nor need root).
  mkdir -p "$dir/cache"
  lists=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$dir/lists"
         -o Dir::Cache="$dir/cache")
  if ! ls -d "$dir"/ffmpeg-*/ >/dev/null 2>&1; then
    echo "build-lean: fetching Debian $codename's ffmpeg source package ..." >&2
    apt-get "${lists[@]}" update -qq 2>/dev/null || { echo "build-lean: apt-get update of $codename's sources failed" >&2; exit 69; }
    (cd "$dir" && apt-get "${lists[@]}" source -qq ffmpeg >/dev/null 2>"$dir/source.log") \
      || { echo "build-lean: apt-get source ffmpeg failed, see $dir/source.log" >&2; exit 69; }
  fi
  ls -d "$dir"/ffmpeg-*/ | head -1
}

# Checks that the folder $1's libavcodec has the soname major $2 (what bitspot links).
check_major() {
  local got
  got=$(cat "$1"/libavcodec/version_major.h "$1"/libavcodec/version.h 2>/dev/null \
        | sed -n 's/^#define LIBAVCODEC_VERSION_MAJOR *//p' | head -1)
  [ "$got" = "$2" ] || { echo "build-lean: $1 is libavcodec $got, but bitspot links libavcodec.so.$2" >&2; exit 65; }
}

if [ "$target" = host ]; then
  arch=$(uname -m)
  out=$base/$arch
  if [ "$(cat "$out/.bitspot-lean" 2>/dev/null)" = "$settings_hash" ]; then echo "$out"; exit 0; fi
  apt_install_missing dpkg-dev pkg-config zlib1g-dev libfreetype-dev libfontconfig-dev libavcodec-dev
  [ "$arch" = x86_64 ] && apt_install_missing nasm
  . /etc/os-release
  src=$(fetch_source "$VERSION_CODENAME" "$base/src-$VERSION_CODENAME")
  check_major "$src" "$(pkg-config --modversion libavcodec | cut -d. -f1)"
  build=$base/build-$arch
  rm -rf "$build" "$out.partial"
  mkdir -p "$build"
  echo "build-lean: configuring $(basename "$src") for $arch ..." >&2
  (cd "$build" && "$src/configure" --prefix="$out.partial" "${components[@]}" >configure.log 2>&1) \
    || { echo "build-lean: configure failed, see $build/configure.log and $build/ffbuild/config.log" >&2; exit 65; }
  echo "build-lean: building (a few minutes) ..." >&2
  (cd "$build" && make -j"$(nproc)" >make.log 2>&1 && make install >>make.log 2>&1) \
    || { echo "build-lean: make failed, see $build/make.log" >&2; exit 65; }
else
  [ "$(id -u)" = 0 ] || { echo "build-lean: aarch64 needs root (the trixie root of Scripts/cross)" >&2; exit 69; }
  arch=aarch64
  out=$base/$arch
  if [ "$(cat "$out/.bitspot-lean" 2>/dev/null)" = "$settings_hash" ]; then echo "$out"; exit 0; fi
  Scripts/cross/arm64-sysroot.sh >&2
  . Scripts/cross/lib.sh
  cross_enter
  tools=/usr/libexec/swift/bin   # clang, lld and llvm-ar of the root's swiftlang
  in_root() { chroot "$root" env PATH="$tools:/usr/sbin:/usr/bin:/sbin:/bin" "$@"; }
  in_root sh -c 'command -v make && command -v dpkg-source && command -v xz' >/dev/null \
    || DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -qq --no-install-recommends make dpkg-dev xz-utils >/dev/null
  # Inside the root the work folder is /lean: trixie's source, the build, the install.
  mkdir -p "$root/lean"
  src=$(in_root bash -c "$(declare -f fetch_source); fetch_source trixie /lean/src-trixie")
  check_major "$root$src" "$(sed -n 's/^Version: *//p' "$root$S/usr/lib/aarch64-linux-gnu/pkgconfig/libavcodec.pc" | cut -d. -f1)"
  # The arm64 development files of the libraries the lean build links (zlib, FreeType, fontconfig and, for
  # FFmpeg 6.1 and later's drawtext, HarfBuzz), added to the sysroot once.
  dev=(zlib1g-dev:arm64 libfreetype-dev:arm64 libfontconfig-dev:arm64)
  extra=()
  if grep -q '^drawtext_filter_deps=.*libharfbuzz' "$root$src/configure"; then dev+=(libharfbuzz-dev:arm64); extra+=(--enable-libharfbuzz); fi
  if [ ! -f "$root$S/.bitspot-lean-dev" ]; then
    echo "build-lean: adding ${dev[*]} to the arm64 sysroot ..." >&2
    debs=/var/cache/bitspot-arm64-lean
    in_root mkdir -p "$debs/partial"
    in_root apt-get install -y -qq --download-only -o Dir::Cache::archives="$debs" "${dev[@]}" >"$base/arm64-dev.log" 2>&1 \
      || { echo "build-lean: download failed, see $base/arm64-dev.log" >&2; exit 69; }
    for deb in "$root$debs"/*_arm64.deb "$root$debs"/*_all.deb; do
      [ -f "$deb" ] && dpkg-deb -x "$deb" "$root$S"
    done
    # Absolute .so links made relative, as arm64-sysroot.sh does, so the linker resolves them in the sysroot.
    cross_relative_links "$root$S" "$root$S/usr/lib/aarch64-linux-gnu"
    touch "$root$S/.bitspot-lean-dev"
  fi
  rm -rf "$root/lean/build" "$root/lean/out"
  mkdir -p "$root/lean/build"
  cross=(--enable-cross-compile --arch=aarch64 --target-os=linux --cc=clang --cxx=clang++ --host-cc=clang
         --ar=llvm-ar --ranlib=llvm-ranlib --nm=nm --disable-stripping --disable-debug --pkg-config=pkg-config
         --extra-cflags="--target=aarch64-linux-gnu --sysroot=$S"
         --extra-ldflags="--target=aarch64-linux-gnu --sysroot=$S -fuse-ld=lld -Wl,-rpath-link=$S/usr/lib/aarch64-linux-gnu")
  echo "build-lean: configuring $(basename "$src") for aarch64 in the trixie root ..." >&2
  in_root env PKG_CONFIG_LIBDIR="$PC_ARM64" PKG_CONFIG_PATH="$PC_ARM64" PKG_CONFIG_SYSROOT_DIR="$S" \
    bash -c "cd /lean/build && $src/configure --prefix=/lean/out $(printf '%q ' "${cross[@]}" "${components[@]}" "${extra[@]}") >configure.log 2>&1" \
    || { echo "build-lean: configure failed, see $root/lean/build/configure.log and $root/lean/build/ffbuild/config.log" >&2; exit 65; }
  echo "build-lean: building (a few minutes) ..." >&2
  in_root bash -c "cd /lean/build && make -j$(nproc) >make.log 2>&1 && make install >>make.log 2>&1" \
    || { echo "build-lean: make failed, see $root/lean/build/make.log" >&2; exit 65; }
  rm -rf "$out.partial"
  mkdir -p "$(dirname "$out")"
  cp -a "$root/lean/out" "$out.partial"
fi
rm -rf "$out"
echo "$settings_hash" > "$out.partial/.bitspot-lean"
mv "$out.partial" "$out"
echo "build-lean: $(ls "$out"/lib/lib*.so.* | grep -c '\.so\.[0-9]*$') libraries in $out/lib" >&2
echo "$out"
