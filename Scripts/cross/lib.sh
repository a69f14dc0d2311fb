# Shared by the Scripts/cross/ scripts (sourced, not run). Needs root.
#   cross_root                 the trixie root (made by trixie-root.sh)
#   cross_enter                mounts /proc and the local Swift package mirror into the root
#   cross_sync_source          copies this checkout (without build folders, venvs, data) to $root/src,
#                              so a build sees one consistent snapshot; build folders stay there between runs
#   cross_swift ARGS...        runs `swift ARGS` in $root/src inside the root, for aarch64 when
#                              CROSS_TARGET=aarch64 (sysroot, resource folder, lld, pkg-config)
#   cross_need_qemu            installs qemu-user (qemu-aarch64 runs the aarch64 programs) when missing
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

cross_need_qemu() {
  command -v qemu-aarch64 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null; }
}

cross_sync_source() {
  command -v rsync >/dev/null || { apt-get update -qq && apt-get install -y -qq rsync >/dev/null; }
  rsync -a --delete --exclude '/.build*' --exclude '/.cross' --exclude '/.venv*' --exclude '/bench-out' \
    --exclude '/eval-out' --exclude '/data' --exclude '/runs' --exclude '/checkpoints' --exclude '/.git' \
    ./ "$root/src/"
}

cross_swift() {
  if [ "${CROSS_TARGET:-}" = aarch64 ]; then
    chroot "$root" env BITSPOT_TARGET_ARCH=aarch64 PKG_CONFIG_SYSROOT_DIR=$S \
      PKG_CONFIG_LIBDIR=$S/usr/lib/aarch64-linux-gnu/pkgconfig:$S/usr/share/pkgconfig \
      bash -c "cd /src && swift $* --triple aarch64-unknown-linux-gnu --sdk $S \
        -Xswiftc -sdk -Xswiftc $S -Xswiftc -resource-dir -Xswiftc $RES -Xswiftc -use-ld=lld \
        -Xlinker -L$S/usr/libexec/swift/lib/swift/linux -Xlinker -rpath-link=$S/usr/lib/aarch64-linux-gnu \
        -Xlinker -rpath-link=$S/usr/libexec/swift/lib/swift/linux"
  else
    chroot "$root" bash -c "cd /src && swift $*"
  fi
}
