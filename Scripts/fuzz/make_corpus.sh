#!/usr/bin/env bash
# Builds the fuzz package and writes the seed corpora into Fuzz/corpus/<target>/ (small inputs
# made by Grain's own writers; nothing from ../shared). No Python needed.
#
#   Scripts/fuzz/make_corpus.sh [output folder]   # default Fuzz/corpus
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/Fuzz/corpus}"
# The same flags as the fuzz targets, so one build serves both.
flags=(-c release -Xswiftc -sanitize=fuzzer,address --package-path "$root/Fuzz")
swift build "${flags[@]}" >&2
bin="$(swift build "${flags[@]}" --show-bin-path)"
rm -rf "$out"
mkdir -p "$out"
ASAN_OPTIONS=detect_leaks=0 "$bin/fuzz-corpus" "$out"
