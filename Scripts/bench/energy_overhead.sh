#!/bin/sh
# Metering overhead of `bitspot bench pipeline`: the same pipeline with and without the accountant
# (clock reads around every stage, the meter's reads), alternating in one process, medians printed.
# Usage: Scripts/bench/energy_overhead.sh [INPUT] [extra bench options, e.g. --meter rapl --overhead-rounds 7]
# Target: ratio <= 1.01 (metering costs at most 1 % of the run time).
set -eu
cd "$(dirname "$0")/../.."
scratch=${BITSPOT_SCRATCH:-.build-energy}
swift build -c release --scratch-path "$scratch" --product bitspot >/dev/null
input=${1:-Samples/sample.mp4}
[ $# -gt 0 ] && shift
exec "$scratch/release/bitspot" bench pipeline "$input" --overhead --overhead-rounds 5 --meter model "$@"
