#!/usr/bin/env bash
# Runs every libFuzzer harness of a build configured with -DADF_FUZZ=ON for a
# while and prints, per harness, the executions, the coverage reached and
# whether it found anything. Used by `make fuzz` (long) and `make test`
# (a few seconds each).
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS_PER_HARNESS [HARNESS...]
#
# Each harness starts from its committed corpus (tests/fuzz/corpus/NAME/) and
# grows a working copy in BUILD_DIR/fuzz-work/NAME/; a crash, leak, timeout or
# sanitizer report leaves its input in BUILD_DIR/fuzz-work/NAME-crash-* and
# makes the run fail. Add such an input to the committed corpus once fixed:
# ctest then replays it for ever (fuzz-corpus-NAME). FUZZ_JOBS harnesses run
# at once (default: the number of cores).
set -euo pipefail
build=$(realpath "$1")
seconds=$2
shift 2
here=$(dirname "$(realpath "$0")")
jobs=${FUZZ_JOBS:-$(nproc)}
if [ $# -gt 0 ]; then
    harnesses=("$@")
else
    mapfile -t harnesses < <(cd "$build/fuzz" && ls fuzz_* | sed 's/^fuzz_//' | sort)
fi
work="$build/fuzz-work"
mkdir -p "$work"

run_one() {
    local name=$1
    local corpus="$work/$name"
    mkdir -p "$corpus"
    rm -f "$work/$name.log"
    # -timeout: one input may take 10 s at most; -rss_limit_mb: 2 GiB; leaks
    # are reported (detect_leaks is on with ASan). No 0xbe fill of every
    # allocation and a smaller quarantine: 1.5x the executions per second,
    # while every overflow and use-after-free within 8 MiB is still caught.
    if ASAN_OPTIONS=${ASAN_OPTIONS:-max_malloc_fill_size=0:quarantine_size_mb=8:detect_leaks=1} \
        "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/$name-crash-" \
        "$corpus" "$here/corpus/$name" >"$work/$name.log" 2>&1; then
        echo ok >"$work/$name.result"
    else
        echo FAILED >"$work/$name.result"
    fi
}
export -f run_one
export build seconds here work
printf '%s\n' "${harnesses[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'

status=0
printf '%-16s %12s %10s %8s %8s %8s  %s\n' harness executions "exec/s" edges features corpus result
for name in "${harnesses[@]}"; do
    log="$work/$name.log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    edges=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    features=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    units=$(ls "$work/$name" | wc -l)
    result=$(cat "$work/$name.result")
    printf '%-16s %12s %10s %8s %8s %8s  %s\n' "$name" "${runs:-?}" "${speed:-?}" \
        "${edges:-?}" "${features:-?}" "$units" "$result"
    if [ "$result" != ok ]; then
        status=1
        echo "---- $name: the end of its log ($log):"
        tail -40 "$log"
    fi
done
exit $status
