#!/usr/bin/env bash
# Builds (or tests) a snapshot of BitSpot inside the trixie root: Swift 6.0.3 and FFmpeg 7.1, the
# versions of 64-bit Raspberry Pi OS, so the code is checked against FFmpeg 5.1 (the host) and 7.1.
# Usage: Scripts/cross/build-in-trixie.sh [swift build|test arguments...]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/../.."
. Scripts/cross/lib.sh
Scripts/cross/trixie-root.sh "$root" >/dev/null
cross_enter
cross_sync_source
args=("$@"); [ ${#args[@]} -gt 0 ] || args=(build)
cross_swift "${args[@]}" --scratch-path .build-trixie
