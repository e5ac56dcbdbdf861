#!/usr/bin/env bash
# The fuzzing step of the README's test command: builds the fuzz targets with libFuzzer and
# AddressSanitizer, writes the seed corpora, runs every target for a fixed number of inputs and
# prints the table (Scripts/fuzz/run.sh). Fails on any crash, timeout (10 s per input) or
# out-of-memory stop (2 GiB), and prints how long the build and the runs took.
#
#   Scripts/fuzz/ci.sh                  # 20,000 inputs per target, 1,000 for fuzz-detector
#   FUZZ_CI_RUNS=5000 FUZZ_CI_DETECTOR_RUNS=200 Scripts/fuzz/ci.sh
#
# fuzz-detector gets fewer inputs: an input that parses as far as the extractor converts and
# digests its 767,000 parameters (tens of milliseconds under AddressSanitizer), so 20,000 of
# them would take longer than the whole test suite (Documentation/Reliability.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${FUZZ_CI_RUNS:-20000}"
detector_runs="${FUZZ_CI_DETECTOR_RUNS:-1000}"
start=$(date +%s)
swift build -c release -Xswiftc -sanitize=fuzzer,address --package-path "$root/Fuzz"
built=$(date +%s)
"$root/Scripts/fuzz/make_corpus.sh"
seeded=$(date +%s)
status=0
"$root/Scripts/fuzz/run.sh" "$runs" fuzz-safetensors fuzz-pth fuzz-jpeg fuzz-png "fuzz-detector=$detector_runs" \
    fuzz-diffusers-config fuzz-pretext-manifest || status=$?
finished=$(date +%s)
echo "fuzz: sanitizer build $((built - start)) s, seed corpora $((seeded - built)) s, runs $((finished - seeded)) s"
if [ "$status" -ne 0 ]; then echo "fuzz: FAILED (see Fuzz/.runs/)" >&2; fi
exit "$status"
