#!/usr/bin/env bash
# Regenerates the tables README.md quotes from Examples/TrainThenDetect: runs the example and
# writes what it prints to Documentation/Results/train-then-detect/<name>.txt
# (`--write-readme-table`), then replaces each ``` block of README.md that follows a line
# `<!-- train-then-detect-table: PATH -->` with the file PATH. TrainThenDetectTests checks that
# README.md and the files agree, and re-runs the --quick configuration to check its table.
#
#   Scripts/train-then-detect-tables.sh           the main run at seeds 0, 1 and 2 (seed 0 also with the
#                                                 authors' extractor, from ../shared), and --quick
#   Scripts/train-then-detect-tables.sh --quick   only the CI configuration (seconds)
#
# Each run's user+system CPU time, wall time and load average go to standard error and to
# Documentation/Results/train-then-detect/times.txt (not compared by the test).
set -euo pipefail
cd "$(dirname "$0")/.."
results=Documentation/Results/train-then-detect
mkdir -p "$results"
swift build -c release --package-path Examples/TrainThenDetect --product train-then-detect >&2
executable=Examples/TrainThenDetect/.build/release/train-then-detect

run() {  # name, arguments…
  local name=$1; shift
  local load; load=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -f "$name: %U s user + %S s system CPU, %e s wall (load average at start $load)" -a -o "$results/times.txt" \
    "$executable" "$@" --write-readme-table "$results/$name.txt" >/dev/null
  tail -n 1 "$results/times.txt" >&2
}

run quick --quick --out out/train-then-detect
if [ "${1:-}" != "--quick" ]; then
  for seed in 0 1 2; do
    run "seed-$seed" --seed "$seed" --out out/train-then-detect
  done
  # The authors' released extractor beside the one trained here (every other stage reused).
  weights=../shared/weights/beyond-generation/basic.safetensors
  if [ -f "$weights" ]; then
    run seed-0-authors --seed 0 --out out/train-then-detect --weights "$weights"
  else
    echo "train-then-detect-tables: $weights is absent: seed-0-authors.txt not regenerated" >&2
  fi
fi

# README.md: each block after a marker becomes the file it names.
awk '
  /^<!-- train-then-detect-table: .* -->$/ {
    print; path = $0; sub(/^<!-- train-then-detect-table: /, "", path); sub(/ -->$/, "", path)
    getline; print                                   # the opening ```
    while ((getline line) > 0 && line !~ /^```/) {}  # drop the old table
    while ((getline row < path) > 0) print row
    close(path); print line; next
  }
  { print }' README.md > README.md.partial
mv README.md.partial README.md
