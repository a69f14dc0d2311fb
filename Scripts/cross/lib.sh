# Shared by the Scripts/cross/ scripts (sourced, not run). Needs root.
#   cross_root                 the trixie root (made by trixie-root.sh)
#   cross_enter                mounts /proc and the local Swift package mirror into the root
#   cross_sync_source          copies this checkout (without build folders, venvs, data) to $root/src,
#                              so a build sees one consistent snapshot; build folders stay there between runs
#   cross_swift ARGS...        runs `swift ARGS` in $root/src inside the root, for aarch64 when
#                              CROSS_TARGET=aarch64 (sysroot, resource folder, lld, pkg-config; then
#                              checks that the build plan has no x86-64 include or library folders)
#   cross_need_qemu            installs qemu-user (qemu-aarch64 runs the aarch64 programs) when missing
#   cross_relative_links TOP [DIR]  makes absolute symbolic links under DIR relative links inside TOP
root=${BITSPOT_CROSS_DIR:-.cross}/trixie
S=/sysroot-arm64                      # the arm64 sysroot, as the compiler inside the root sees it
RES=$S/usr/libexec/swift/lib/swift    # its Swift resource folder

cross_enter() {
  [ "$(id -u)" = 0 ] || { echo "$(basename "$0"): needs root (chroot, mounts)" >&2; exit 69; }
  mkdir -p "$root/src" "$root/opt/swift-packages"
  trap cross_leave EXIT
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  if [ -d /opt/swift-packages ]; then
    mountpoint -q "$root/opt/swift-packages" || mount --bind /opt/swift-packages "$root/opt/swift-packages"
    chroot "$root" git config --global url./opt/swift-packages/.insteadOf https://github.com/
    chroot "$root" git config --global --add safe.directory '*'
  fi
}

cross_leave() {
  umount "$root/opt/swift-packages" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
}

# Makes the absolute symbolic links under $2 (default: all of $1) point inside the unpacked root $1, as
# relative links, so the linker and qemu resolve them there (dpkg-deb -x keeps a package's absolute links).
cross_relative_links() {
  local top=$1 under=${2:-$1} link target
  find "$under" -type l | while read -r link; do
    target=$(readlink "$link")
    case "$target" in
      /*) [ -e "$top$target" ] && ln -sfn "$(realpath --relative-to="$(dirname "$link")" "$top$target")" "$link" ;;
    esac
  done
}

cross_need_qemu() {
  command -v qemu-aarch64 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null; }
}

cross_sync_source() {
  command -v rsync >/dev/null || { apt-get update -qq && apt-get install -y -qq rsync >/dev/null; }
  rsync -a --delete --exclude '/.build*' --exclude '/.cross' --exclude '/.venv*' --exclude '/bench-out' \
    --exclude '/eval-out' --exclude '/data' --exclude '/runs' --exclude '/checkpoints' --exclude '/.git' \
    ./ "$root/src/"
}

# The arm64 .pc files. SwiftPM reads .pc files itself: it honours PKG_CONFIG_PATH (searched first) and
# PKG_CONFIG_SYSROOT_DIR but not PKG_CONFIG_LIBDIR, and then falls back to the host pkg-config's pc_path,
# where the root's own amd64 FFmpeg .pc files are. With PKG_CONFIG_LIBDIR alone the aarch64 build got
# -I$S/usr/include/x86_64-linux-gnu (a real folder: trixie's linux-libc-dev is Architecture: all and
# ships the asm/ headers of every architecture), so C modules built for the targets that import CFFmpeg
# saw x86-64's `struct sigcontext` and the others aarch64's, and the shared module cache mixed them.
PC_ARM64=$S/usr/lib/aarch64-linux-gnu/pkgconfig:$S/usr/share/pkgconfig

# Fails when the aarch64 build plan $1/$2.yaml (scratch folder relative to /src, configuration) has
# -I/-L flags for x86-64 folders of the sysroot (what a host .pc file gives); a guard against the above.
cross_check_arm64_flags() {
  local plan=$root/src/$1/$2.yaml bad
  [ -f "$plan" ] || return 0
  bad=$(grep -o -- "-[IL]$S/usr/[a-z]*/x86_64-linux-gnu" "$plan" | sort -u | tr '\n' ' ' || true)
  [ -z "$bad" ] || { echo "$(basename "$0"): the aarch64 build plan $1/$2.yaml has x86-64 folders: $bad" >&2; return 65; }
}

# Removes the clang module caches of scratch folder $1 when they were made with other pkg-config
# settings: clang's module cache key leaves out include paths, so modules built with the old (x86-64)
# folders would otherwise be reused.
cross_reset_module_cache() {
  local stamp=$root/src/$1/.bitspot-pkg-config want="$PC_ARM64"
  [ -d "$root/src/$1" ] || return 0
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  find "$root/src/$1" -maxdepth 3 -type d -name ModuleCache -path '*aarch64-unknown-linux-gnu*' -exec rm -rf {} +
  echo "$want" > "$stamp"
}

cross_swift() {
  if [ "${CROSS_TARGET:-}" = aarch64 ]; then
    local scratch=.build config=debug args=("$@") i
    for ((i = 0; i < ${#args[@]} - 1; i++)); do
      case ${args[i]} in
        --scratch-path) scratch=${args[i+1]} ;;
        -c|--configuration) config=${args[i+1]} ;;
      esac
    done
    cross_reset_module_cache "$scratch"
    local status=0
    chroot "$root" env BITSPOT_TARGET_ARCH=aarch64 PKG_CONFIG_SYSROOT_DIR=$S \
      PKG_CONFIG_PATH=$PC_ARM64 PKG_CONFIG_LIBDIR=$PC_ARM64 \
      bash -c "cd /src && swift $* --triple aarch64-unknown-linux-gnu --sdk $S \
        -Xswiftc -sdk -Xswiftc $S -Xswiftc -resource-dir -Xswiftc $RES -Xswiftc -use-ld=lld \
        -Xlinker -L$S/usr/libexec/swift/lib/swift/linux -Xlinker -rpath-link=$S/usr/lib/aarch64-linux-gnu \
        -Xlinker -rpath-link=$S/usr/libexec/swift/lib/swift/linux" || status=$?
    cross_check_arm64_flags "$scratch" "$config" || return $?
    return $status
  else
    chroot "$root" bash -c "cd /src && swift $*"
  fi
}
