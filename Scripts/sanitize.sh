#!/usr/bin/env bash
# Runs the Swift test suite under AddressSanitizer (with LeakSanitizer) and under ThreadSanitizer.
#
#   Scripts/sanitize.sh [address|thread ...] [-- SWIFT_TEST_ARGS...]
#
# Default: both, one after the other, each in its own build folder (.build-asan, .build-tsan).
# Anything after `--` goes to `swift test` (e.g. `-- --filter VideoIOTests`). The malloc interposer
# of Tests/_AllocationCounter switches itself off under a sanitizer (the test that uses it is skipped).
# BITSPOT_GOLDEN is set as in Scripts/test.sh so the shipped models' fixtures are checked too.
# Exit status: 0 when every run passed; otherwise the first failing run's status. Logs: sanitize-out/.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
kinds=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    address|thread) kinds+=("$1"); shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sanitize.sh: unknown argument '$1' (address, thread, or -- SWIFT_TEST_ARGS)" >&2; exit 64 ;;
  esac
done
[ ${#kinds[@]} -eq 0 ] && kinds=(address thread)
export BITSPOT_GOLDEN="$ROOT/Scripts/train/golden/recognizer:$ROOT/Scripts/train/golden/detector"
# Leaks are errors; the few inside swift-corelibs-foundation are suppressed (Scripts/lsan.supp, with reasons).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/Scripts/lsan.supp:print_suppressions=0}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
mkdir -p sanitize-out
first_failure=0
for kind in "${kinds[@]}"; do
  short=${kind:0:1}san
  log="sanitize-out/$kind.log"
  echo "sanitize: swift test --sanitize=$kind ${extra[*]:-} (log: $log)" >&2
  start=$(date +%s)
  swift test --sanitize="$kind" --scratch-path ".build-$short" "${extra[@]}" > "$log" 2>&1
  status=$?
  summary=$(grep -E "Executed [0-9]+ tests?" "$log" | tail -1 | sed 's/^[[:space:]]*//')
  reports=$(grep -cE "ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer" "$log")
  echo "sanitize: $kind: exit $status in $(( $(date +%s) - start )) s; ${summary:-no test summary}; sanitizer reports: $reports" >&2
  if [ $status -ne 0 ] || [ "$reports" -ne 0 ]; then
    grep -E -A 12 "ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer" "$log" | head -60 >&2
    [ $first_failure -eq 0 ] && first_failure=$(( status != 0 ? status : 1 ))
  fi
done
exit $first_failure
