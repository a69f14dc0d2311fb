#!/usr/bin/env bash
# Cross-builds the test suite for aarch64 and runs it under qemu-aarch64 (the NEON kernel tier included):
# the tests compare every kernel tier with the scalar reference and the golden fixtures, so passing here
# and on x86-64 means the two architectures agree bit for bit.
# Usage: Scripts/cross/test-arm64.sh [test-module regex]   (default: 'BitKernelsTests|BitNetTests'; the
# video tests need the ffmpeg command-line tool, which an aarch64 process under qemu cannot start here)
set -euo pipefail
cd "$(dirname "$0")/../.."
filter=${1:-BitKernelsTests|BitNetTests}
. Scripts/cross/lib.sh
cross_need_qemu
base=${BITSPOT_CROSS_DIR:-.cross}
Scripts/cross/arm64-sysroot.sh >&2
cross_enter
cross_sync_source
echo "test-arm64: building the tests for aarch64-unknown-linux-gnu ..." >&2
CROSS_TARGET=aarch64 cross_swift build --build-tests --scratch-path .build-arm64-tests >&2
tests=$root/src/.build-arm64-tests/aarch64-unknown-linux-gnu/debug/BitSpotPackageTests.xctest
# Some tests find files of the checkout through #filePath, which the compiler in the root wrote as
# /src/...; qemu-aarch64 -L looks an absolute path up in the sysroot first, so /src there leads to the
# root's copy of the checkout.
ln -sfn ../src "$root/sysroot-arm64/src"
echo "test-arm64: running $tests under qemu-aarch64 (filter: $filter) ..." >&2
# The xctest binary lists its tests as Module.Class/test and runs a Module.Class given as an argument.
Scripts/cross/run-arm64.sh "$tests" --list-tests | grep -E "^($filter)\." | cut -d/ -f1 | sort -u > "$base/arm64-suites.txt"
[ -s "$base/arm64-suites.txt" ] || { echo "test-arm64: no test suites match '$filter'" >&2; exit 65; }
status=0
while read -r suite; do
  Scripts/cross/run-arm64.sh "$tests" "$suite" || status=1
done < "$base/arm64-suites.txt"
exit $status
