#!/usr/bin/env bash
# Runs every fuzz target for N inputs from its seed corpus and prints a table: target, inputs,
# crashes, timeouts, slowest unit, peak RSS. Exits non-zero when any target crashed or timed out.
#
#   Scripts/fuzz/run.sh [N=20000] [target[=N]…]    # target=N: N inputs for that target
#   FUZZ_TIMEOUT=10 FUZZ_RSS_MB=2048 FUZZ_NICE=19 Scripts/fuzz/run.sh 1000000
#   FUZZ_SECONDS=120 Scripts/fuzz/run.sh 20000      # also stop each target after 120 s
#   FUZZ_MAX_LEN=8192 Scripts/fuzz/run.sh 20000 fuzz-png
#
# The largest input libFuzzer makes (-max_len) is, unless FUZZ_MAX_LEN is set, the largest seed
# of the target's corpus and at least 4,096 bytes: libFuzzer's own default caps it at 1 MiB and
# truncates larger seeds to that, so a detector seed (3 MB) would only ever be fuzzed as a
# truncated file that fails before its mixture and extractor are read.
#
# Expects `swift build -c release -Xswiftc -sanitize=fuzzer,address --package-path Fuzz` and
# Scripts/fuzz/make_corpus.sh to have run. Each target mutates a scratch copy of its corpus in
# Fuzz/.runs/<target>/ (or $FUZZ_WORK/<target>/) (crash-*, timeout-*, oom-* reproducers are written there too) and logs
# to Fuzz/.runs/<target>.log.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-20000}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(fuzz-safetensors fuzz-pth fuzz-jpeg fuzz-png fuzz-detector fuzz-diffusers-config fuzz-pretext-manifest)
fi
timeout="${FUZZ_TIMEOUT:-10}"
rss="${FUZZ_RSS_MB:-2048}"
niceness="${FUZZ_NICE:-0}"
seconds_limit="${FUZZ_SECONDS:-0}"   # 0: no time limit (libFuzzer's -max_total_time)
# FUZZ_BIN: a folder holding the targets (e.g. a copy, so that a rebuild cannot replace a running one).
bin="${FUZZ_BIN:-$(swift build -c release -Xswiftc -sanitize=fuzzer,address --package-path "$root/Fuzz" --show-bin-path)}"
work="${FUZZ_WORK:-$root/Fuzz/.runs}"   # FUZZ_WORK: another folder for the scratch corpora and logs
mkdir -p "$work"
failed=0
printf '%-24s %10s %8s %9s %14s %14s %8s\n' target inputs crashes timeouts "slowest unit" "peak RSS" seconds
for request in "${targets[@]}"; do
    target="${request%%=*}"
    target_runs="$runs"
    if [ "$request" != "$target" ]; then target_runs="${request#*=}"; fi
    if [ ! -x "$bin/$target" ]; then echo "$target: not built ($bin/$target)" >&2; failed=1; continue; fi
    if [ ! -d "$root/Fuzz/corpus/$target" ]; then echo "$target: no corpus (run Scripts/fuzz/make_corpus.sh)" >&2; failed=1; continue; fi
    rm -rf "$work/$target"
    mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
    cp "$root/Fuzz/corpus/$target/"* "$work/$target/corpus/"
    max_len="${FUZZ_MAX_LEN:-}"
    if [ -z "$max_len" ]; then
        max_len=$(find "$root/Fuzz/corpus/$target" -type f -printf '%s\n' | sort -n | tail -1)
        if [ "${max_len:-0}" -lt 4096 ]; then max_len=4096; fi
    fi
    start=$(date +%s)
    # Leak reports are off: the Swift runtime's lazily built metadata is reported as leaked.
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 nice -n "$niceness" "$bin/$target" \
        -runs="$target_runs" -max_len="$max_len" -max_total_time="$seconds_limit" -timeout="$timeout" -rss_limit_mb="$rss" -malloc_limit_mb="$rss" -detect_leaks=0 \
        -print_final_stats=1 -artifact_prefix="$work/$target/artifacts/" "$work/$target/corpus" \
        > "$work/$target.log" 2>&1
    status=$?
    seconds=$(( $(date +%s) - start ))
    inputs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log" | tail -1)
    slowest=$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$work/$target.log" | tail -1)
    peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/$target.log" | tail -1)
    crashes=$(find "$work/$target/artifacts" -name 'crash-*' -o -name 'oom-*' -o -name 'leak-*' | wc -l)
    timeouts=$(find "$work/$target/artifacts" -name 'timeout-*' -o -name 'slow-unit-*' | wc -l)
    if [ -z "$inputs" ]; then inputs="?"; fi
    printf '%-24s %10s %8s %9s %13ss %12s MB %8s\n' "$target" "$inputs" "$crashes" "$timeouts" "${slowest:-?}" "${peak:-?}" "$seconds"
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ] || [ "$timeouts" -ne 0 ]; then
        failed=1
        echo "  $target: exit $status; see $work/$target.log and $work/$target/artifacts/" >&2
    fi
done
exit $failed
