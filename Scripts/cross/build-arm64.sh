#!/usr/bin/env bash
# Cross-builds bitspot for 64-bit Raspberry Pi OS (aarch64, Debian trixie) on an x86-64 workstation:
# Swift 6.0.3 from a trixie root compiles a snapshot of this checkout against an arm64 sysroot (FFmpeg
# 7.1, the arm64 Swift runtime). Prepares both on first use (trixie-root.sh, arm64-sysroot.sh; needs
# root and network once). Prints the path of the aarch64 binary on its last line.
# Usage: Scripts/cross/build-arm64.sh [debug|release]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/../.."
config=${1:-release}
. Scripts/cross/lib.sh
Scripts/cross/arm64-sysroot.sh >&2
cross_enter
cross_sync_source
echo "build-arm64: swift build -c $config for aarch64-unknown-linux-gnu ..." >&2
CROSS_TARGET=aarch64 cross_swift build -c "$config" --product bitspot --scratch-path .build-arm64 >&2
echo "$PWD/$root/src/.build-arm64/aarch64-unknown-linux-gnu/$config/bitspot"
