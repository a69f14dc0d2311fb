#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (AddressSanitizer + LeakSanitizer) and runs each on a copy of
# its seed corpus.
#   Scripts/fuzz.sh [--seconds N] [--timeout S] [--rss-limit MB] [--out DIR] [--no-build] [TARGET...]
#     TARGET        model config powerlog manifest video (default: all, one after the other)
#     --seconds N   fuzzing time per target (default 60)
#     --timeout S   one input running longer than S seconds is a failure (default 10)
#     --rss-limit MB  memory above MB (or one allocation above it) is a failure (default 2048)
#     --out DIR     work folder (default fuzz-out/): DIR/TARGET/corpus, fuzz.log, crash-*/leak-*/timeout-*/oom-*
#     --no-build    use the fuzzers already built in .build-fuzz
# Prints executions, exec/s, coverage (cov: edges, ft: features) and corpus size for each target;
# exits 1 when any target found a crash, leak, timeout or out-of-memory input (the input is kept in
# DIR/TARGET/ and a command to reproduce it is printed), 69 when the toolchain has no libFuzzer.
# Environment: BITSPOT_FUZZ_SCRATCH (default .build-fuzz) is the build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

all_targets=(model config powerlog manifest video)
seconds=60 timeout=10 rss=2048 out=fuzz-out build=1 targets=()
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --rss-limit) rss=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; usage >&2; exit 64 ;;
    *)
      if [[ " ${all_targets[*]} " != *" $1 "* ]]; then
        echo "fuzz: unknown target '$1' (targets: ${all_targets[*]})" >&2; exit 64
      fi
      targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for n in "$seconds" "$timeout" "$rss"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: '$n' is not a positive whole number" >&2; exit 64; }
done

scratch=${BITSPOT_FUZZ_SCRATCH:-$root/.build-fuzz}
case "$scratch" in /*) ;; *) scratch=$root/$scratch ;; esac

# libFuzzer and the sanitizer runtimes ship with the Swift toolchain (usr/lib/clang/*/lib/linux).
swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
if ! ls "$swift_bin"/../lib/clang/*/lib/*/libclang_rt.fuzzer*.a >/dev/null 2>&1 \
   && ! ls "$swift_bin"/../lib/swift/clang/lib/*/libclang_rt.fuzzer*.a >/dev/null 2>&1; then
  echo "fuzz: this Swift toolchain ($swift_bin) has no libFuzzer runtime (libclang_rt.fuzzer); install a swift.org toolchain" >&2
  exit 69
fi
symbolizer=$swift_bin/llvm-symbolizer
[ -x "$symbolizer" ] || symbolizer=$(command -v llvm-symbolizer || true)

if [ "$build" = 1 ]; then
  echo "== fuzz: building (release, -sanitize=fuzzer,address) in $scratch" >&2
  fuzz_build() {
    swift build --package-path Fuzz --scratch-path "$scratch" -c release \
      -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2
  }
  # SwiftPM's incremental build of the path dependency can miss a source file added to BitSpot since
  # the last fuzz build (seen 30 November 2026: "cannot find type ... in scope"); start afresh then.
  fuzz_build || { echo "== fuzz: incremental build failed; building again from scratch" >&2; rm -rf "$scratch"; fuzz_build; }
fi
bin=$scratch/release

# Per target: the longest input the mutator may make (the seeds' size decides otherwise).
max_len() {
  case "$1" in
    model) echo 65536 ;; video) echo 16384 ;; manifest) echo 4096 ;; *) echo 1024 ;;
  esac
}

# The Swift runtime's own crash backtracer would catch the fatal signal before libFuzzer, and trips
# AddressSanitizer while it copies the stack: leave crashes to libFuzzer and ASan.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:handle_abort=1:symbolize=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/Fuzz/lsan.supp:print_suppressions=0}
[ -n "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer

failed=()
rows=()
for t in "${targets[@]}"; do
  exe=$bin/fuzz-$t
  [ -x "$exe" ] || { echo "fuzz: $exe is not built (run without --no-build)" >&2; exit 69; }
  work=$out/$t
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp Fuzz/corpus/$t/* "$work/corpus/"
  args=("$work/corpus" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss"
        -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$work/" -close_fd_mask=1)
  [ -f "Fuzz/dict/$t.dict" ] && args+=(-dict="Fuzz/dict/$t.dict")
  echo "== fuzz: $t for ${seconds}s (log: $work/fuzz.log)" >&2
  set +e
  "$exe" "${args[@]}" >"$work/fuzz.log" 2>&1
  rc=$?
  set -e
  log=$work/fuzz.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  status_line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status_line")
  corpus=$(find "$work/corpus" -type f | wc -l)
  artifacts=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  result=ok
  if [ "$rc" != 0 ] || [ -n "$artifacts" ]; then
    result="FAILED (exit $rc)"
    failed+=("$t")
    echo "fuzz: $t: the end of $log:" >&2
    grep -v -E '^#[0-9]+ ' "$log" | tail -n 40 >&2 || true
    for a in $artifacts; do
      echo "fuzz: $t: kept $a; reproduce with: SWIFT_BACKTRACE=enable=no LSAN_OPTIONS='$LSAN_OPTIONS' $exe $a" >&2
    done
  fi
  rows+=("$(printf '%-9s %11s %8s %6s %7s %7s  %s' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$result")")
done

printf '%-9s %11s %8s %6s %7s %7s  %s\n' target executions exec/s cov ft corpus result
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (logs and inputs under $out/)" >&2
  exit 1
fi
